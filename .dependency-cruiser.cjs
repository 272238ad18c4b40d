// Part boundaries (docs/design.md, "Parts and boundaries"), checked by `npm run check:boundaries`
// (run by `make test`). A part is operator/, podtracer/, cli/, infra/ or one function under
// functions/. Parts share code only through lib/; lib/ imports no part. Tests and benches may start
// another part, or a harness such as the dev cluster or the embedded S3 server, only through that
// part's entry points for them: a child.ts (runs it as a process) or a harness.ts (in-process).
const PART = '(operator|podtracer|cli|infra|functions/[^/]+)';
// (a test or bench folder at any depth: `.*` then a folder name that follows a slash)
const TESTS = `^${PART}/.*(?<![^/])(test|bench)/`;
const ENTRY_POINT = `^${PART}/.*(?<![^/])(child|harness)[.]ts$`;

module.exports = {
  forbidden: [
    {
      name: 'lib-imports-no-part',
      comment: 'lib/ is what the parts share; it must not depend on any of them.',
      severity: 'error',
      from: { path: '^lib/' },
      to: { path: `^${PART}/` },
    },
    {
      name: 'parts-share-only-through-lib',
      comment: "Product code of a part imports lib/ and its own files, never another part's.",
      severity: 'error',
      from: { path: `^${PART}/`, pathNot: TESTS },
      to: { path: `^${PART}/`, pathNot: '^$1/' },
    },
    {
      name: 'tests-use-entry-points-of-other-parts',
      comment: "Tests and benches start other parts through their child.ts or harness.ts, never reach into their internals or test helpers.",
      severity: 'error',
      from: { path: TESTS },
      to: { path: `^${PART}/`, pathNot: ['^$1/', ENTRY_POINT] },
    },
    {
      name: 'no-unresolvable-imports',
      comment: 'A relative import that resolves to nothing would hide a dependency from these rules.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|dist-[^/]*|node_modules)/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs', '.json'] },
  },
};
