// Tests are written in TypeScript under each part's test/ folder and run from the tsc output in
// dist/ as native ES modules (client-node 1.x is ESM-only), so `npm run build` comes first.
export default {
  testEnvironment: 'node',
  // JEST_OUT_DIR lets a part be built into its own output folder and tested alone (scripts/dev-test.sh).
  roots: [`<rootDir>/${process.env.JEST_OUT_DIR ?? 'dist'}`],
  testMatch: ['**/*.test.js'],
  transform: {},
  testTimeout: 120000,
  // Tests share real resources (network namespaces, ports, the S3 server binary): two workers on
  // two cores keeps the suite fast without starving the processes under test.
  maxWorkers: 2,
  verbose: true,
};
