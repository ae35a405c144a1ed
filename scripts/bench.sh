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
echo "bench: libvirt RPC, CLI and boot to ssh (about ten minutes: four Debian boots)"
npx tsx bench/run.ts "$@"
echo "bench: scaling (roost ls vs virsh list at 10/100/500 domains; RPC at 500; a cold client)"
scale=$(npx tsx bench/scale.ts)
printf '\n%s\n' "$scale" >> BENCHMARKS.md
echo "bench: many at once (10 VMs created together: roost create, roost apply, virt-install)"
printf '\n%s\n' "$(npx tsx bench/parallel.ts)" >> BENCHMARKS.md
echo "bench: re-applying a file (roost apply of 10 unchanged VMs vs roost ls)"; printf '\n%s\n' "$(npx tsx bench/apply.ts)" >> BENCHMARKS.md
echo "bench: several hosts (ls --all-hosts over 3 ssh hosts, image upload vs scp)"; printf '\n%s\n' "$(npx tsx bench/hosts.ts)" >> BENCHMARKS.md
echo "bench: web console in Chromium"
web=$(npx tsx bench/web.ts)
printf '\n%s\n' "$web" >> BENCHMARKS.md
echo "bench: images (download vs curl, overlays)"
images=$(npx tsx bench/images.ts)
printf '\n%s\n' "$images" >> BENCHMARKS.md
echo "bench: networking (passt vs slirp, roost ip, auto-ports; one Debian guest boot, a few minutes)"
net=$(npx tsx bench/net.ts)
printf '\n%s\n' "$net" >> BENCHMARKS.md
echo "bench: roost cp vs plain scp (one Debian guest boot, a 256 MiB file)"; cpb=$(npx tsx bench/cp.ts); printf '\n%s\n' "$cpb" >> BENCHMARKS.md
echo "bench: shared folders (mount vs the guest's own disk; one tiny guest boot)"; printf '\n%s\n' "$(npx tsx bench/mounts.ts)" >> BENCHMARKS.md
echo "bench: machine state (snapshots vs virsh, linked clone O(1))"; printf '\n%s\n' "$(npx tsx bench/state.ts)" >> BENCHMARKS.md
echo "bench: wrote BENCHMARKS.md"
