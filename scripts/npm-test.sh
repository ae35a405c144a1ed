#!/usr/bin/env bash
# `npm test`: from a fresh machine to a full run — host packages, npm ci, build, lint and type check, the test
# user and guest fixtures, then unit and integration tests with vitest.
#
# Arguments go to vitest: `npm test -- src/libvirt/xdr` or `npm test -- test/integration/chain.test.ts`.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-ready.sh --with-test-deps
echo "npm-test: lint and type check"
npm run --silent lint
npm run --silent typecheck
echo "npm-test: test user and guest fixtures"
npx tsx test/harness/prepare.ts
echo "npm-test: vitest"
exec npx vitest run "$@"
