import type { Command } from './args';

/** `tollgate migrate`: every verb migrates on open, so this one only opens the store and says where it is. */
export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'Create the SQLite file if needed and apply the committed migrations.',
  options: {},
  async run({ admin, dbPath }) {
    admin();
    return { json: { db: dbPath, migrated: true }, text: `migrated ${dbPath}` };
  },
};
