#!/usr/bin/env bash
# `npm run demo`: from a fresh machine to a running VM with a forwarded port.
#   host packages and npm ci when missing, build, the tiny guest (built from Debian packages, cached), then
#   scripts/demo.ts boots it as a session VM of an unprivileged user with 127.0.0.1:18080 → guest port 80 and
#   waits until the page answers. The VM is left running; the script prints how to see and remove it.
#
# roost is for unprivileged users: run as root, the VM belongs to $SUDO_USER (under sudo) or to the system user
# `roost-demo`, created once — root's own VMs belong to qemu:///system.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

bash scripts/ensure-ready.sh --with-guest-deps

if [ "$(id -u)" -ne 0 ]; then
  bash scripts/build-test-guests.sh --only tiny
  exec node --import tsx scripts/demo.ts
fi

demo_user=${SUDO_USER:-roost-demo}
if [ "$demo_user" = root ]; then demo_user=roost-demo; fi
if ! getent passwd "$demo_user" >/dev/null; then
  echo "demo: creating the unprivileged system user '$demo_user' to own the demo VM"
  useradd --system --create-home --home-dir "/var/lib/$demo_user" --shell /bin/sh "$demo_user"
fi
uid=$(id -u "$demo_user")
gid=$(id -g "$demo_user")
home=$(getent passwd "$demo_user" | cut -d: -f6)
runtime="/run/user/$uid"
# No login manager made the runtime dir when we got here through root: make it as one would (0700, the user's).
if [ ! -d "$runtime" ]; then
  mkdir -p /run/user && chmod 755 /run/user
  install -d -m 700 -o "$uid" -g "$gid" "$runtime"
fi
install -d -m 700 -o "$uid" -g "$gid" "$home/.cache" "$home/.cache/roost"
ROOST_TEST_GUESTS_DIR="$home/.cache/roost/test-guests" bash scripts/build-test-guests.sh --only tiny

if ! setpriv --reuid="$uid" --regid="$gid" --init-groups test -r "$repo/scripts/demo.ts"; then
  echo "demo: user '$demo_user' cannot read $repo; clone roost somewhere that user can read, or run as that user" >&2
  exit 1
fi
echo "demo: running as '$demo_user' (uid $uid)"
exec setpriv --reuid="$uid" --regid="$gid" --init-groups -- env -i HOME="$home" USER="$demo_user" LOGNAME="$demo_user" \
  XDG_RUNTIME_DIR="$runtime" PATH="$PATH" LANG=C.UTF-8 ROOST_DEMO_AS_ROOT=1 \
  node --import tsx "$repo/scripts/demo.ts"
