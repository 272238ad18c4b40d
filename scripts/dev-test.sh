#!/usr/bin/env bash
# Development helper: compile into a private output folder (dist-NAME) and run jest on some of it,
# so several parts can be built and tested side by side without deleting each other's dist/.
#   scripts/dev-test.sh NAME [jest args, e.g. a path under dist-NAME or -t 'pattern']
set -uo pipefail
cd "$(dirname "$0")/.."
name=$1; shift
out="dist-$name"
npx tsc -p tsconfig.json --outDir "$out" > "/tmp/tsc-$name.log" 2>&1
tsc_rc=$?
if [ $tsc_rc -ne 0 ]; then
  echo "dev-test: tsc reported errors (output still emitted); see /tmp/tsc-$name.log:" >&2
  head -40 "/tmp/tsc-$name.log" >&2
fi
find "$out" -name main.js -exec chmod +x {} +
JEST_OUT_DIR="$out" exec node --experimental-vm-modules node_modules/jest/bin/jest.js "$@"
