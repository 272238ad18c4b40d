// Tests are written in TypeScript under each part's test/ folder and run from the tsc output in
// dist/ as native ES modules (client-node 1.x is ESM-only), so `npm run build` comes first.
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/dist'],
  testMatch: ['**/*.test.js'],
  transform: {},
  testTimeout: 120000,
  // Tests share real resources (network namespaces, ports, the S3 server binary): two workers on
  // two cores keeps the suite fast without starving the processes under test.
  maxWorkers: 2,
  verbose: true,
};
