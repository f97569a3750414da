export * from './plans';
export * from './customers';
export * from './api-keys';
export * from './models';
export * from './usage-events';
export * from './credits';
export * from './alerts';
