#!/usr/bin/env bash
# Shared first steps of `npm test` and `npm run demo`, safe to run on a machine where `npm install` never ran:
# host packages (scripts/setup-host.sh) when something is missing, `npm ci` when node_modules is missing or
# older than package-lock.json, then the TypeScript build.
#
# Usage: scripts/ensure-ready.sh [--with-test-deps]
set -euo pipefail
cd "$(dirname "$0")/.."

if ! bash scripts/setup-host.sh --check "$@" >/dev/null 2>&1; then
  bash scripts/setup-host.sh "$@"
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "ensure-ready: npm ci"
  npm ci --no-audit --no-fund
fi

echo "ensure-ready: npm run build"
npm run --silent build
