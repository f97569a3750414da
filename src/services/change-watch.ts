/**
 * Tells in-memory caches that admin data changed. Node checks SQLite's `data_version` (bumped by commits
 * from other connections, such as the CLI) on every request, so a revoke from another process takes
 * effect on the very next request; writes made in-process call `changed()` directly.
 */
export interface ChangeWatch {
  /** Runs `listener` whenever admin data may have changed. */
  subscribe(listener: () => void): void;
  /** Cheap per-request check for changes made elsewhere. */
  poll(): void;
  /** Announces a change made by this process. */
  changed(): void;
}

/** A ChangeWatch whose `poll` asks `version()` and fires when the value moves. */
export function createChangeWatch(version: () => number = () => 0): ChangeWatch {
  const listeners: Array<() => void> = [];
  let last = version();
  const fire = () => {
    for (const listener of listeners) listener();
  };
  return {
    subscribe: (listener) => void listeners.push(listener),
    poll() {
      const now = version();
      if (now !== last) {
        last = now;
        fire();
      }
    },
    changed: fire,
  };
}
