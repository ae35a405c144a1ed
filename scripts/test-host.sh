#!/usr/bin/env bash
# Runs a command inside a second, real host userland: a Debian 13 root built by debootstrap and set up by
# scripts/setup-host.sh itself (so its Debian 13 branch is what gets tested).
#
# Usage: scripts/test-host.sh debian-13 [--] CMD...     (as root)
#   The root is built once per hash of its inputs under ${ROOST_TEST_HOSTS_DIR:-/var/cache/roost-test-hosts}
#   (debian-13-HASH, READY written last). CMD runs there as the unprivileged user 'roost' (subuid/subgid
#   ranges, a uid no host user has, a fresh tmpfs HOME=/home/roost at each entry, XDG_RUNTIME_DIR=/run/user/UID)
#   in /roost, a read-only bind of this repository.
#   ROOST_TEST_GUESTS_DIR, when set, is bind-mounted read-only at the same path.
#   ROOST_TEST_HOST_ROOT=1 runs CMD as root inside instead.
#
# Why not chroot or bubblewrap: passt and virtiofsd sandbox themselves in user namespaces, which a chroot
# refuses (EPERM), and bubblewrap sets no_new_privs, which breaks the setuid newuidmap. So the root is entered
# the way a container runtime would: new mount + PID namespace, pivot_root, runuser.
#
# Nothing leaks: every mount lives in the private mount namespace and every process in the PID namespace;
# both die with the namespace's init, which `unshare --kill-child` kills when this script ends (Ctrl-C too).
# The namespace's network is the host's: forwarded ports listen on the host's loopback.
set -euo pipefail

die() { printf 'test-host: %s\n' "$*" >&2; exit 1; }
say() { printf 'test-host: %s\n' "$*" >&2; }

repo=$(cd "$(dirname "$0")/.." && pwd)
self="$repo/scripts/test-host.sh"
hosts_dir=${ROOST_TEST_HOSTS_DIR:-/var/cache/roost-test-hosts}
guest_user=roost
suite=trixie

# --- Inside the namespaces (re-executed by enter_root) ------------------------------------------------------

# Mounts the root onto itself with fresh proc/tmp/run and the host's dev (for /dev/kvm, /dev/net/tun) and sys,
# then pivots into it so nothing of the host's tree stays reachable.
mount_root() {
  local root=$1
  mount --make-rprivate /
  mount --bind "$root" "$root"
  mount -t proc proc "$root/proc"
  mount --rbind /dev "$root/dev"
  mount --rbind /sys "$root/sys"
  mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
  mount -t tmpfs -o mode=0755 tmpfs "$root/run"
  mkdir -p "$root/roost"
  mount --bind "$repo" "$root/roost"
  mount -o remount,bind,ro "$root/roost"
  if [ -n "${ROOST_TEST_GUESTS_DIR:-}" ] && [ -d "$ROOST_TEST_GUESTS_DIR" ]; then
    mkdir -p "$root$ROOST_TEST_GUESTS_DIR"
    mount --rbind "$ROOST_TEST_GUESTS_DIR" "$root$ROOST_TEST_GUESTS_DIR"
    mount -o remount,bind,ro "$root$ROOST_TEST_GUESTS_DIR"
  fi
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  cd "$root"
  mkdir -p .oldroot
  pivot_root . .oldroot
  cd /
  umount -l /.oldroot
  rmdir /.oldroot
}

# Runs as the namespace's init: set up the tree, then run CMD as root or as the test user, and stay PID 1.
# PID 1 must reap: libvirt daemonizes QEMU and passt daemonizes itself, so they are orphans of PID 1, and a
# killed QEMU that nobody reaps stays a zombie, which libvirt takes for a process that will not die ("Failed
# to terminate process with SIGKILL"): `virsh destroy` and `roost rm` fail. bash reaps every child it has while
# it waits, so it waits for CMD here instead of exec'ing it, and exits with CMD's status, which ends the
# namespace and everything left in it.
inside() {
  local root=$1 as=$2
  shift 2
  mount_root "$root"
  export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  if [ "$as" = root ]; then
    cd /
    run_and_reap "$@"
  fi
  local uid
  uid=$(id -u "$as")
  install -d -m 0700 -o "$as" -g "$as" "/run/user/$uid"
  fresh_home "$as"
  cd /roost
  run_and_reap runuser -u "$as" -- env -i PATH="$PATH" HOME="/home/$as" USER="$as" LOGNAME="$as" \
    XDG_RUNTIME_DIR="/run/user/$uid" TERM="${TERM:-dumb}" LANG=C.UTF-8 \
    ${ROOST_TEST_GUESTS_DIR:+ROOST_TEST_GUESTS_DIR="$ROOST_TEST_GUESTS_DIR"} "$@"
}

# Every entry starts from an empty home (a tmpfs with /etc/skel): nothing of an earlier run — VMs left defined
# by a failed test, the daemon's state, shell history — carries over, and the cached root stays as it was built.
fresh_home() {
  local home=/home/$1
  mount -t tmpfs -o mode=0700 tmpfs "$home"
  cp -a /etc/skel/. "$home/"
  chown -R "$1:$1" "$home"
  chmod 0700 "$home"
}

# CMD as a child of this PID 1 (stdin kept: a background job's would be /dev/null), reaping orphans meanwhile.
run_and_reap() {
  local pid rc=0
  "$@" <&0 &
  pid=$!
  wait "$pid" || rc=$?
  exit "$rc"
}

# --- On the host ----------------------------------------------------------------------------------------

# The mirror apt already uses for Debian (first http(s) URI of a deb822 or one-line source naming debian).
debian_mirror() {
  local uri
  uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    awk '$1=="deb" { for (i=2;i<=NF;i++) if ($i ~ /^https?:\/\/.*\/debian\/?$/) { print $i; exit } }')
  [ -n "$uri" ] || uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
    awk 'tolower($1)=="uris:" && $2 ~ /\/debian\/?$/ { print $2; exit }')
  [ -n "$uri" ] || die "no Debian mirror in /etc/apt/sources.list*"
  echo "$uri"
}

# Runs CMD as the init of a new mount and PID namespace: `--kill-child` makes the kernel kill it (and so the
# whole PID namespace and its mounts) when unshare dies, and the trap makes unshare die when this script is
# interrupted (Ctrl-C, or the SIGTERM of a test's timeout) — with SIGKILL, as unshare blocks SIGINT and SIGTERM
# while it waits for its child. unshare runs in the background so the trap runs at once; `<&0` keeps CMD's
# stdin (a background job's is /dev/null otherwise), for a shell by hand or a pipe.
in_namespace() {
  unshare --mount --pid --fork --kill-child -- "$@" <&0 &
  local pid=$!
  trap 'kill -KILL "$pid" 2>/dev/null; wait "$pid"; exit 130' INT TERM HUP
  local rc=0
  wait "$pid" || rc=$?
  trap - INT TERM HUP
  return "$rc"
}

# Enters the root: CMD as root or as the test user, in /roost.
enter_root() {
  local root=$1 as=$2
  shift 2
  in_namespace "$self" __inside "$root" "$as" "$@"
}

# The root's inputs: the functions that build it, setup-host.sh and the mirror. A change to any of them builds
# a new root; a change to how it is entered does not.
root_hash() {
  { declare -f bootstrap add_user free_uid build_root; cat "$repo/scripts/setup-host.sh"; echo "$1 $suite"; } |
    sha256sum | cut -c1-12
}

# debootstrap mounts proc/sys inside its target: run it in its own mount+PID namespace so an interrupted
# build leaves no mounts behind.
bootstrap() {
  local dir=$1 mirror=$2
  say "debootstrap --variant=minbase $suite $dir $mirror"
  in_namespace sh -c 'mount --make-rprivate / && exec debootstrap --variant=minbase "$@"' \
    sh "$suite" "$dir" "$mirror" >&2
  # No daemon may start during package installs: the root has no init, and the test user starts its own.
  printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
  chmod 0755 "$dir/usr/sbin/policy-rc.d"
}

# The test user: unprivileged, with subordinate id ranges for passt's and virtiofsd's user namespaces. The root
# shares the host's kernel, so its uid is a host uid too: it gets one no host user or group has (a host user
# with the same uid could signal, trace or read the root's VMs), and subordinate ids far above the ranges
# useradd hands out, so they overlap no host user's.
add_user() {
  local dir=$1 uid
  uid=$(free_uid "$dir")
  enter_root "$dir" root useradd --create-home --shell /bin/bash --uid "$uid" --user-group "$guest_user"
  echo "$guest_user:1500000000:65536" >"$dir/etc/subuid"
  echo "$guest_user:1500000000:65536" >"$dir/etc/subgid"
}

# The first uid from 2000 on that is neither a user nor a group on the host or in the root.
free_uid() {
  local dir=$1 uid=2000
  while getent passwd "$uid" >/dev/null || getent group "$uid" >/dev/null ||
    cut -d: -f3 "$dir/etc/passwd" "$dir/etc/group" | grep -qx "$uid"; do
    uid=$((uid + 1))
  done
  echo "$uid"
}

# A host user made after the root was built may have taken its user's uid: refuse rather than share it.
check_uid_is_ours() {
  local root=$1 uid owner
  uid=$(awk -F: -v u="$guest_user" '$1 == u { print $3 }' "$root/etc/passwd")
  owner=$(getent passwd "$uid" | cut -d: -f1) || return 0
  die "host user '$owner' has uid $uid, the root's '$guest_user' too; remove $root to build it again"
}

# Builds the root once: into a temporary directory that becomes debian-13-HASH only when complete.
build_root() {
  local root=$1 mirror=$2 tmp="$1.build" stale
  # What interrupted builds left (of this root or of older inputs' roots): no build runs while we hold the lock.
  for stale in "$hosts_dir"/debian-13-*.build; do
    [ -e "$stale" ] && rm -rf --one-file-system "$stale"
  done
  mkdir -p "$tmp"
  bootstrap "$tmp" "$mirror"
  cp "$repo/scripts/setup-host.sh" "$tmp/usr/local/sbin/roost-setup-host"
  say "setup-host.sh inside the root"
  enter_root "$tmp" root /usr/local/sbin/roost-setup-host >&2
  enter_root "$tmp" root /usr/local/sbin/roost-setup-host --check >&2
  add_user "$tmp"
  date -u +%FT%TZ >"$tmp/READY"
  mv "$tmp" "$root"
}

# Sets `root` to the ready root's path, building it under a lock so parallel callers share one build (in this
# shell, not a $(…) subshell, so an interrupt reaches the build's trap).
ensure_root() {
  local mirror hash
  mirror=$(debian_mirror)
  hash=$(root_hash "$mirror")
  root="$hosts_dir/debian-13-$hash"
  mkdir -p "$hosts_dir"
  exec 9>"$hosts_dir/debian-13.lock"
  flock 9
  [ -e "$root/READY" ] || build_root "$root" "$mirror"
  exec 9>&-
}

main() {
  if [ "${1:-}" = __inside ]; then
    shift
    inside "$@"
  fi
  [ "$(id -u)" -eq 0 ] || die "run as root (it builds a root tree and enters it with namespaces)"
  [ "${1:-}" = debian-13 ] || die "usage: scripts/test-host.sh debian-13 [--] CMD..."
  shift
  [ "${1:-}" = -- ] && shift
  [ "$#" -gt 0 ] || set -- bash
  local root as=$guest_user
  ensure_root
  check_uid_is_ours "$root"
  [ "${ROOST_TEST_HOST_ROOT:-0}" = 1 ] && as=root
  enter_root "$root" "$as" "$@"
}

main "$@"
