#!/usr/bin/env bash
# `npm run bench`: from a fresh machine to BENCHMARKS.md — host packages (with the test dependencies:
# python3-libvirt is the baseline), npm ci, build, the test user and the tiny guest fixture (its kernel paths
# go into the benchmark's domain XML), then bench/run.ts, which starts its own session daemon as the test user,
# measures roost's libvirt client against python3-libvirt, the CLI against node/virt-install and boot to ssh
# (two Debian guest boots each of roost create --wait ssh and virt-install --cloud-init + an ssh loop), and writes
# BENCHMARKS.md; then bench/scale.ts appends how roost grows with the number of domains (and writes
# docs/img/bench-scale.svg), bench/parallel.ts ten VMs made at once (roost create, roost apply, virt-install), bench/apply.ts a re-apply of ten
# unchanged VMs against roost ls, bench/web.ts the web console's numbers (measured in Chromium), bench/images.ts the
# images', bench/net.ts the networking ones (one boot of the Debian guest fixture, also prepared here) and
# bench/cp.ts roost cp against plain scp (another boot of it).
#
# Arguments go to bench/run.ts: `npm run bench -- --rounds 9 --seconds 3`; `--skip boot-ssh` leaves its Debian
# boots and its section out (`--only PARTS` is for bench/run.ts alone: see its header).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-ready.sh --with-test-deps
echo "bench: test user and guest fixtures (tiny; Debian for bench/net.ts)"
npx tsx test/harness/prepare.ts tiny debian
# Both columns of every ratio share the machine, but a build, a test run or a guest still booting when the bench
# starts widens the ranges of the first parts (BENCHMARKS.md warns when the load exceeded the cores). Wait up to
# five minutes for the 1-minute load average to fall below half the cores; ROOST_BENCH_NO_WAIT=1 skips the wait.
wait_for_quiet() {
  local cores limit load waited=0
  cores=$(nproc)
  limit=$(awk -v c="$cores" 'BEGIN { print c / 2 }')
  while :; do
    load=$(cut -d' ' -f1 /proc/loadavg)
    if awk -v l="$load" -v m="$limit" 'BEGIN { exit !(l < m) }'; then
      echo "bench: load average $load (below $limit): starting"
      return
    fi
    if [ "$waited" -ge 300 ]; then
      echo "bench: load average still $load after 5 minutes; measuring anyway (the report will say so)"
      return
    fi
    [ "$waited" -eq 0 ] && echo "bench: load average $load, waiting for it to fall below $limit (at most 5 minutes)"
    sleep 10
    waited=$((waited + 10))
  done
}
[ "${ROOST_BENCH_NO_WAIT:-0}" = 1 ] || wait_for_quiet
failed=()

# One part after bench/run.ts: its Markdown (stdout) is appended to BENCHMARKS.md. A part that fails must not cost
# the others their numbers: it leaves a section that says so (its error is on the console, above), the rest still
# run, and the script exits 1 at the end.
part() {
  local title=$1 out rc=0
  shift
  echo "bench: $title"
  # The part before may have booted guests that are still winding down (the boot-to-ssh part's Debian VMs left
  # the scaling part's first timings twice as spread as its last): each part starts on a quiet machine too.
  [ "${ROOST_BENCH_NO_WAIT:-0}" = 1 ] || wait_for_quiet
  out=$(mktemp)
  "$@" > "$out" || rc=$?
  if [ "$rc" -eq 0 ]; then
    printf '\n%s\n' "$(cat "$out")" >> BENCHMARKS.md
  else
    failed+=("$title")
    printf '\n## Not measured: %s\n\n`%s` failed (exit %s) in this run; its error is in the output of `npm run bench`.\n' \
      "$title" "$*" "$rc" >> BENCHMARKS.md
  fi
  rm -f "$out"
}

echo "bench: libvirt RPC, CLI and boot to ssh (about ten minutes: four Debian boots)"
if ! npx tsx bench/run.ts "$@"; then
  # bench/run.ts writes the file's head; without it the parts below would be appended to an older run's report.
  failed+=("libvirt RPC, CLI and boot to ssh")
  printf '# Benchmarks\n\nThe first part (`npx tsx bench/run.ts`) failed in this run (%s); its error is in the output of `npm run bench`.\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" > BENCHMARKS.md
fi
part "scaling (roost ls vs virsh list at 10/100/500 domains; RPC at 500; a cold client)" npx tsx bench/scale.ts
part "many at once (10 VMs created together: roost create, roost apply, virt-install)" npx tsx bench/parallel.ts
part "re-applying a file (roost apply of 10 unchanged VMs vs roost ls)" npx tsx bench/apply.ts
part "several hosts (ls --all-hosts over 3 ssh hosts, image upload vs scp)" npx tsx bench/hosts.ts
part "web console in Chromium" npx tsx bench/web.ts
part "images (download vs curl, overlays)" npx tsx bench/images.ts
part "networking (passt vs slirp, roost ip, auto-ports; one Debian guest boot, a few minutes)" npx tsx bench/net.ts
part "roost cp vs plain scp (one Debian guest boot, a 256 MiB file)" npx tsx bench/cp.ts
part "shared folders (mount vs the guest's own disk; one tiny guest boot)" npx tsx bench/mounts.ts
part "machine state (snapshots vs virsh, linked clone O(1))" npx tsx bench/state.ts
if [ "${#failed[@]}" -gt 0 ]; then
  echo "bench: wrote BENCHMARKS.md without: $(IFS=';'; echo "${failed[*]}")" >&2
  exit 1
fi
echo "bench: wrote BENCHMARKS.md"
