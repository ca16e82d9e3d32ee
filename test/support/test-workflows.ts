/** The workflow bundle of the integration tests: every dbops workflow plus the test fixtures. */
export * from '../../workflows';
export * from './fixture-workflows';
export * from './alert-workflows';
