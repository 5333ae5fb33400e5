#!/usr/bin/env bash
# The project's test command (README: `npm test`): type-check everything, then every vitest project.
# Lab tests bring the lab up themselves (test/lab/setup.ts) and need root; see lab/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== typecheck"
npx tsc -p tsconfig.test.json
echo "== vitest"
npx vitest run "$@"
