#!/usr/bin/env bash
# Installs what roost needs on the host: libvirt (session daemon + QEMU driver + clients), QEMU, passt,
# dnsmasq, OVMF, iproute2, OpenSSH client. Idempotent; prints every change it makes.
#
# It never touches /etc/qemu/bridge.conf, setuid bits or libvirt networks: those are opt-in host changes
# made by `roost host bridge-setup`.
#
# Usage: scripts/setup-host.sh [--check] [--with-guest-deps] [--with-test-deps]
#   --check           exit 0 when everything is installed, 1 otherwise; changes nothing
#   --with-guest-deps also install what building the tiny demo/test guest needs (busybox-static, the Debian
#                     kernel, cpio, kmod, zstd)
#   --with-test-deps  guest deps plus what the test suite and the Debian guest builder use (debootstrap,
#                     e2fsprogs, cpio, xorriso, python3-libvirt, virtinst, chromium, openssh-server, zsh, fish,
#                     bash-completion, ...)
set -euo pipefail

check_only=0
test_deps=0
guest_deps=0
for arg in "$@"; do
  case "$arg" in
    --check) check_only=1 ;;
    --with-guest-deps) guest_deps=1 ;;
    --with-test-deps) test_deps=1; guest_deps=1 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup-host: unknown option '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

say() { printf 'setup-host: %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# shellcheck disable=SC1091
. /etc/os-release
distro="${ID:-unknown}"
version="${VERSION_ID:-0}"
codename="${VERSION_CODENAME:-}"

# Commands whose presence proves the runtime packages are installed.
runtime_cmds=(virsh qemu-system-x86_64 qemu-img passt ip ssh)
runtime_files=()
guest_cmds=(busybox cpio gcc zstd)
test_cmds=(debootstrap mkfs.ext4 xorriso isoinfo virt-xml-validate virt-install dnsmasq sshd python3 chromium openssl xz
  zsh fish)

missing=()
have_cmd() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/bin/$1" ]; }
for c in "${runtime_cmds[@]}"; do have_cmd "$c" || missing+=("$c"); done
have_cmd virtqemud || have_cmd libvirtd || missing+=("virtqemud|libvirtd")
if [ "$guest_deps" -eq 1 ]; then
  for c in "${guest_cmds[@]}"; do have_cmd "$c" || missing+=("$c"); done
  compgen -G '/boot/vmlinuz-*' >/dev/null || missing+=("linux-image")
  [ -e /usr/lib/x86_64-linux-gnu/libc.a ] || [ -e /usr/lib64/libc.a ] || missing+=("static libc")
fi
if [ "$test_deps" -eq 1 ]; then
  for c in "${test_cmds[@]}"; do have_cmd "$c" || missing+=("$c"); done
  /usr/bin/python3 -c 'import libvirt' 2>/dev/null || missing+=("python3-libvirt")
  # The shells the completion tests drive (test/integration/completion.test.ts).
  [ -e /usr/share/bash-completion/bash_completion ] || missing+=("bash-completion")
fi

# On Debian 12 the libvirt must come from backports (9.0.0 refuses passt): check the version too.
libvirt_too_old() {
  [ "$distro" = debian ] && [ "$version" = 12 ] || return 1
  local v
  v=$(virsh --version 2>/dev/null || echo 0)
  [ "${v%%.*}" -lt 10 ]
}
if have_cmd virsh && libvirt_too_old; then missing+=("libvirt>=10 (from bookworm-backports)"); fi

if [ "${#missing[@]}" -eq 0 ]; then
  say "everything is installed"
  exit 0
fi
if [ "$check_only" -eq 1 ]; then
  say "missing: ${missing[*]}"
  exit 1
fi
say "missing: ${missing[*]}"

debian_common=(passt dnsmasq-base ovmf iproute2 openssh-client)
debian_virt=(libvirt-daemon libvirt-daemon-driver-qemu libvirt-daemon-driver-storage libvirt-daemon-driver-network
  libvirt-clients qemu-system-x86 qemu-utils)
debian_guest=(busybox-static cpio kmod zstd linux-image-amd64 gcc libc6-dev)
debian_tests=(debootstrap e2fsprogs xorriso genisoimage libxml2-utils python3-libvirt virtinst openssh-server
  dnsmasq-base chromium procps psmisc util-linux openssl xz-utils zsh fish bash-completion)

# The backports suite lives on the same mirror as the main suite: read it from the existing apt sources
# (one-line .list files or deb822 .sources files) instead of naming a host here.
debian_mirror() {
  local f uri
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -r "$f" ] || continue
    uri=$(awk -v s="$codename" '$1=="deb" { for (i=2;i<=NF;i++) if ($i ~ /^[a-z]+:\/\//) { if ($(i+1)==s) print $i; break } }' "$f" | head -n1)
    [ -n "$uri" ] && { echo "$uri"; return; }
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    uri=$(awk -v s="$codename" '
      /^[[:space:]]*$/ { if (u != "" && hit) { print u; exit } u=""; hit=0; next }
      tolower($1)=="uris:" { u=$2 }
      tolower($1)=="suites:" { for (i=2;i<=NF;i++) if ($i==s) hit=1 }
      END { if (u != "" && hit) print u }' "$f" | head -n1)
    [ -n "$uri" ] && { echo "$uri"; return; }
  done
}

apt_install() {
  say "apt-get install $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
}

case "$distro:$version" in
  debian:12)
    list=/etc/apt/sources.list.d/roost-bookworm-backports.list
    if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
      mirror=$(debian_mirror)
      if [ -z "$mirror" ]; then
        say "cannot find the Debian mirror in /etc/apt/sources.list*; add bookworm-backports yourself and re-run" >&2
        exit 1
      fi
      say "enabling bookworm-backports from $mirror ($list)"
      echo "deb $mirror bookworm-backports main" | as_root tee "$list" >/dev/null
    fi
    say "apt-get update"
    as_root apt-get update -qq
    apt_install -t bookworm-backports "${debian_virt[@]}"
    apt_install "${debian_common[@]}"
    [ "$guest_deps" -eq 1 ] && apt_install "${debian_guest[@]}"
    [ "$test_deps" -eq 1 ] && apt_install "${debian_tests[@]}"
    ;;
  debian:13)
    # Debian 13's own libvirt (11.x) takes passt, so no backports; it packages virtiofsd (shared folders,
    # sandboxed with newuidmap from uidmap) and a Node 20 that runs roost.
    say "apt-get update"
    as_root apt-get update -qq
    apt_install "${debian_virt[@]}" "${debian_common[@]}" virtiofsd uidmap
    have_cmd node || apt_install nodejs
    [ "$guest_deps" -eq 1 ] && apt_install "${debian_guest[@]}"
    [ "$test_deps" -eq 1 ] && apt_install "${debian_tests[@]}"
    ;;
  debian:*|ubuntu:*)
    say "apt-get update"
    as_root apt-get update -qq
    apt_install "${debian_virt[@]}" "${debian_common[@]}"
    [ "$guest_deps" -eq 1 ] && apt_install "${debian_guest[@]}"
    [ "$test_deps" -eq 1 ] && apt_install "${debian_tests[@]}"
    ;;
  fedora:*)
    pkgs=(libvirt-daemon-driver-qemu libvirt-daemon-common libvirt-client qemu-system-x86-core qemu-img passt
      dnsmasq edk2-ovmf iproute openssh-clients)
    [ "$guest_deps" -eq 1 ] && pkgs+=(busybox cpio kmod zstd kernel-core gcc glibc-static)
    [ "$test_deps" -eq 1 ] && pkgs+=(debootstrap e2fsprogs xorriso genisoimage libxml2 python3-libvirt
      virt-install openssh-server chromium procps-ng openssl xz zsh fish bash-completion)
    say "dnf install ${pkgs[*]}"
    as_root dnf install -y "${pkgs[@]}"
    ;;
  *)
    cat >&2 <<TXT
setup-host: ${PRETTY_NAME:-this distribution} is not supported by this script.
Install these yourself, then re-run 'npm run demo':
  libvirt >= 10 with the QEMU driver and virsh, QEMU >= 7.2 (qemu-system-x86_64, qemu-img), passt,
  dnsmasq, OVMF (UEFI firmware), iproute2, OpenSSH client
TXT
    exit 1
    ;;
esac
say "done"
