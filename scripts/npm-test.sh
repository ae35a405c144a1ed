#!/usr/bin/env bash
# `npm test`: from a fresh machine to a full run — host packages, npm ci, build, lint and type check, the test
# user and guest fixtures, then unit, integration, e2e, security and (as root) the Debian 13 hosts group with
# vitest.
#
# Arguments go to vitest: `npm test -- src/libvirt/xdr` or `npm test -- test/integration/chain.test.ts`.
set -euo pipefail
cd "$(dirname "$0")/.."

# As root, VMs run as the unprivileged test user, who runs the built CLI from this checkout: it must be able to
# read it. A checkout under a private directory (e.g. /root) is copied to a readable place and tested there.
if [ "$(id -u)" -eq 0 ] && [ -z "${ROOST_TEST_COPY:-}" ] && ! setpriv --reuid=65534 --regid=65534 --clear-groups test -r "$PWD/package.json"; then
  copy=/var/tmp/roost-test-checkout
  echo "npm-test: $PWD is not readable by unprivileged users; testing a copy in $copy"
  rm -rf "$copy" && mkdir -p "$copy" && chmod 755 "$copy"
  tar --exclude=./.git --exclude=./node_modules -cf - . | (cd "$copy" && tar -xf -)
  chmod -R a+rX "$copy"
  cd "$copy"
  export ROOST_TEST_COPY=1
fi

bash scripts/ensure-ready.sh --with-test-deps
echo "npm-test: lint and type check"
npm run --silent lint
npm run --silent typecheck
echo "npm-test: test user and guest fixtures"
npx tsx test/harness/prepare.ts
# The hosts group (test/hosts: the Debian 13 root of scripts/test-host.sh) needs root and mount+PID namespaces;
# it joins the run wherever both are there. ROOST_TEST_HOSTS=0 leaves it out, =1 insists on it.
if [ -z "${ROOST_TEST_HOSTS:-}" ]; then
  if [ "$(id -u)" -eq 0 ] && unshare --mount --pid --fork true 2>/dev/null; then
    export ROOST_TEST_HOSTS=1
  else
    echo "npm-test: the hosts group (Debian 13 root) is left out: it needs root and mount+PID namespaces"
  fi
fi
echo "npm-test: vitest"
mkdir -p .cache
results=.cache/vitest-results.json
rm -f "$results"
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$results" "$@" || status=$?
# One plain summary line that any CI reads the same way, whatever the reporter printed above.
if [ -f "$results" ]; then
  node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log(`vitest: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);' "$results"
fi
exit "$status"
