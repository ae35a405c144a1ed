#!/usr/bin/env bash
# Builds the two guests roost's tests boot, from Debian packages only, and caches them by content hash.
#
#   tiny    host Debian kernel + busybox initramfs: DHCP, HTTP on :80, TCP+UDP echo on :7, serial shell.
#           Boots under TCG in seconds; prints "ROOST-TINY-READY ip=<addr|none>" on ttyS0 when ready.
#   debian  debootstrap'ed bookworm (systemd, cloud-init with NoCloud, openssh-server, qemu-guest-agent,
#           systemd-networkd) packed into a qcow2 with mkfs.ext4 -d (no loop devices, no mounts), plus its
#           kernel and initrd for direct kernel boot. Needs root and Debian's package mirror.
#
# Cache:    ${ROOST_TEST_GUESTS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/roost/test-guests}/<name>-<hash>/
#           <hash> covers every input (this script, scripts/test-guests/<name>/**, kernel, package list,
#           mirror);
#           a guest is rebuilt only when one changes. Builds happen in a temporary directory renamed into
#           place at the end, so an interrupted build is never used. manifest.json in the cache root
#           describes the current builds (see docs/test-guests.md).
#
# Usage: scripts/build-test-guests.sh [--only tiny|debian] [--print-manifest] [--no-build] [--force]
#   --only NAME        build (or check) only this guest; the manifest still lists the other one if it is
#                      cached for the current inputs
#   --print-manifest   print manifest.json on stdout when done (all progress goes to stderr)
#   --no-build         build nothing: write/print the manifest of what is cached; exit 1 if a wanted guest
#                      is missing
#   --force            rebuild even if a build for the current inputs exists
# Environment:
#   ROOST_TEST_GUESTS_DIR  cache root (see above)
#   ROOST_DEBIAN_MIRROR    Debian mirror URL for the debian guest (default: derived from apt's sources)
#   ROOST_DEBIAN_QCOW2_COMPRESS=1  compress the debian qcow2 (smaller, slower to read under TCG)
set -euo pipefail
umask 022
export LC_ALL=C

SELF="$(readlink -f "${BASH_SOURCE[0]}")"
SCRIPTS_DIR="$(dirname "$SELF")"
GUESTS_SRC="$SCRIPTS_DIR/test-guests"
CACHE_ROOT="${ROOST_TEST_GUESTS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/roost/test-guests}"
SUITE=bookworm
TINY_MARKER=ROOST-TINY-READY
DEBIAN_DISK_SIZE=3G
DEBIAN_LABEL=roost-root
DEBIAN_USER=debian        # cloud-init's default user on Debian
DEBIAN_ROOT_PASSWORD=roost  # serial console only: sshd refuses root passwords

log() { printf '[build-test-guests] %s\n' "$*" >&2; }
die() { printf '[build-test-guests] error: %s\n' "$*" >&2; exit 1; }
run() { log "+ $*"; "$@"; }

only=""
print_manifest=0
no_build=0
force=0
while [ $# -gt 0 ]; do
  case "$1" in
    --only) [ $# -ge 2 ] || { echo "--only needs tiny or debian" >&2; exit 2; }; only="$2"; shift 2 ;;
    --only=*) only="${1#--only=}"; shift ;;
    --print-manifest) print_manifest=1; shift ;;
    --no-build) no_build=1; shift ;;
    --force) force=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$SELF" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-test-guests: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
done
case "$only" in
  ""|tiny|debian) ;;
  *) echo "build-test-guests: --only takes tiny or debian, not '$only'" >&2; exit 2 ;;
esac
wanted() { [ -z "$only" ] || [ "$only" = "$1" ]; }

is_root() { [ "$(id -u)" -eq 0 ]; }

apt_install() {
  is_root || die "missing packages: $* (install them as root: apt-get install $*)"
  log "installing missing packages: $*"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >&2; then
    run apt-get update >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >&2
  fi
}

need_cmd() { # need_cmd COMMAND PACKAGE
  command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ] || apt_install "$2"
}

json_str() { # JSON string literal of $1
  local s="$1"
  s="${s//\\/\\\\}"; s="${s//\"/\\\"}"; s="${s//$'\t'/\\t}"; s="${s//$'\n'/\\n}"
  printf '"%s"' "$s"
}

# ---------------------------------------------------------------------------------------------- inputs

# Newest Debian kernel in /boot that has its modules installed; generic flavour preferred over cloud/rt.
find_host_kernel() {
  local k v best="" best_generic=""
  for k in /boot/vmlinuz-*; do
    [ -e "$k" ] || continue
    v="${k#/boot/vmlinuz-}"
    [ -f "/lib/modules/$v/modules.dep" ] || continue
    case "$v" in
      *-cloud-amd64|*-rt-amd64) best="$(printf '%s\n%s\n' "$best" "$v" | sed '/^$/d' | sort -V | tail -n1)" ;;
      *-amd64) best_generic="$(printf '%s\n%s\n' "$best_generic" "$v" | sed '/^$/d' | sort -V | tail -n1)" ;;
    esac
  done
  printf '%s' "${best_generic:-$best}"
}

TINY_KVER=""
tiny_prepare() {
  local install=0
  wanted tiny && [ "$no_build" -eq 0 ] && install=1
  TINY_KVER="$(find_host_kernel)"
  if [ -z "$TINY_KVER" ]; then
    [ "$install" -eq 1 ] || return 1
    log "no Debian kernel in /boot: installing linux-image-amd64"
    apt_install linux-image-amd64
    TINY_KVER="$(find_host_kernel)"
    [ -n "$TINY_KVER" ] || die "no /boot/vmlinuz-*-amd64 with modules in /lib/modules after installing linux-image-amd64"
  fi
  [ -r "/boot/vmlinuz-$TINY_KVER" ] || { log "/boot/vmlinuz-$TINY_KVER is not readable (run as root)"; return 1; }
  if [ "$install" -eq 1 ]; then
    [ -x /usr/bin/busybox ] && ! ldd /usr/bin/busybox >/dev/null 2>&1 || apt_install busybox-static
    need_cmd cpio cpio
    need_cmd gcc gcc
    [ -f /usr/lib/x86_64-linux-gnu/libc.a ] || apt_install libc6-dev
  fi
  return 0
}

# Mirror of $SUITE from apt's configuration (deb822 .sources first, then one-line .list files).
derive_mirror() {
  if [ -n "${ROOST_DEBIAN_MIRROR:-}" ]; then printf '%s' "${ROOST_DEBIAN_MIRROR%/}"; return; fi
  local f uri=""
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    uri="$(awk -v suite="$SUITE" '
      function flush() {
        if (types ~ /(^|[ \t])deb([ \t]|$)/ && (" " suites " ") ~ ("[ \t]" suite "[ \t]") && enabled != "no" && uris != "") {
          split(uris, u, /[ \t]+/); print u[1]; found = 1; exit
        }
        types = suites = uris = enabled = ""
      }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      { line = $0; key = tolower(line); sub(/:.*/, "", key); val = line; sub(/^[^:]*:[ \t]*/, "", val)
        if (key == "types") types = val; else if (key == "suites") suites = val
        else if (key == "uris") uris = val; else if (key == "enabled") enabled = tolower(val) }
      END { if (!found) flush() }' "$f")"
    [ -n "$uri" ] && break
  done
  if [ -z "$uri" ]; then
    uri="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
      sed -e 's/#.*//' -e 's/\[[^]]*\]//' |
      awk -v suite="$SUITE" '$1 == "deb" && $3 == suite { print $2; exit }')"
  fi
  case "$uri" in
    http://*|https://*|file:/*) printf '%s' "${uri%/}" ;;
    *) return 1 ;;
  esac
}

DEBIAN_PACKAGES=()
DEBIAN_MIRROR=""
debian_prepare() {
  mapfile -t DEBIAN_PACKAGES < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$GUESTS_SRC/debian/packages.list")
  if ! DEBIAN_MIRROR="$(derive_mirror)"; then
    log "cannot find a Debian mirror for '$SUITE' in /etc/apt/sources.list{,.d}; set ROOST_DEBIAN_MIRROR"
    return 1
  fi
  if wanted debian && [ "$no_build" -eq 0 ]; then
    is_root || die "the debian guest needs root (debootstrap)"
    need_cmd debootstrap debootstrap
    need_cmd mkfs.ext4 e2fsprogs
    need_cmd qemu-img qemu-utils
    [ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || apt_install debian-archive-keyring
  fi
}

# Hash of everything a guest is built from (16 hex digits).
inputs_hash() {
  local name="$1"
  {
    echo "guest $name"
    echo "script $(sha256sum < "$SELF" | cut -d' ' -f1)"
    (cd "$GUESTS_SRC/$name" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum)
    case "$name" in
      tiny)
        echo "kernel $TINY_KVER $(sha256sum < "/boot/vmlinuz-$TINY_KVER" | cut -d' ' -f1)"
        echo "busybox $(sha256sum < /usr/bin/busybox 2>/dev/null | cut -d' ' -f1)"
        echo "gcc $(gcc -dumpfullversion 2>/dev/null || true)"
        ;;
      debian)
        echo "suite $SUITE mirror $DEBIAN_MIRROR size $DEBIAN_DISK_SIZE label $DEBIAN_LABEL"
        echo "packages ${DEBIAN_PACKAGES[*]}"
        echo "compress ${ROOST_DEBIAN_QCOW2_COMPRESS:-0}"
        ;;
    esac
  } | sha256sum | cut -c1-16
}

# ---------------------------------------------------------------------------------------------- helpers

TMP_DIRS=()
cleanup() {
  local d m
  for d in "${TMP_DIRS[@]}"; do
    [ -d "$d" ] || continue
    # Never recurse into something still mounted inside a chroot (debootstrap mounts proc/sys there).
    for m in $(awk -v p="$d/" 'index($2, p) == 1 { print $2 }' /proc/mounts | sort -r); do
      umount -l "$m" 2>/dev/null || true
    done
    rm -rf --one-file-system "$d"
  done
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

BUILD_DIR=""
new_build_dir() { # new_build_dir NAME-HASH: sets BUILD_DIR to a fresh temporary directory in the cache root
  BUILD_DIR="$(mktemp -d "$CACHE_ROOT/.tmp-$1.XXXXXX")"
  TMP_DIRS+=("$BUILD_DIR")
}

finish_build() { # finish_build TMPDIR FINALDIR NAME : fix modes, rename into place, prune old builds
  local tmp="$1" final="$2" name="$3" old
  find "$tmp" -type d -exec chmod 0755 {} +
  find "$tmp" -type f -exec chmod 0644 {} +
  if [ -e "$final" ]; then
    run rm -rf --one-file-system "$final"
  fi
  run mv -T "$tmp" "$final"
  for old in "$CACHE_ROOT/$name"-*; do
    [ -d "$old" ] && [ "$old" != "$final" ] || continue
    log "removing outdated build $old"
    rm -rf --one-file-system "$old"
  done
}

# ---------------------------------------------------------------------------------------------- tiny

# Adds module $1 and its dependencies (from modules.dep) to TINY_ORDER, dependencies first.
declare -A MOD_PATH=() MOD_DEPS=() MOD_BUILTIN=() MOD_SEEN=()
TINY_ORDER=()
load_modules_dep() {
  local moddir="$1" line path deps name b
  while IFS= read -r line; do
    path="${line%%:*}"
    deps="${line#*:}"
    name="${path##*/}"; name="${name%%.ko*}"; name="${name//-/_}"
    MOD_PATH[$name]="$path"
    MOD_DEPS[$name]="$deps"
  done < "$moddir/modules.dep"
  if [ -f "$moddir/modules.builtin" ]; then
    while IFS= read -r b; do
      b="${b##*/}"; b="${b%%.ko*}"; MOD_BUILTIN[${b//-/_}]=1
    done < "$moddir/modules.builtin"
  fi
}
resolve_module() {
  local name="${1//-/_}" dep i
  local -a deps
  [ -z "${MOD_SEEN[$name]:-}" ] || return 0
  MOD_SEEN[$name]=1
  if [ -n "${MOD_BUILTIN[$name]:-}" ]; then log "  module $name: built into the kernel"; return 0; fi
  if [ -z "${MOD_PATH[$name]:-}" ]; then log "  module $name: not in modules.dep, skipped"; return 0; fi
  read -r -a deps <<< "${MOD_DEPS[$name]}"
  # modules.dep lists the full closure; recursing on each keeps a valid topological order.
  for ((i = ${#deps[@]} - 1; i >= 0; i--)); do
    dep="${deps[i]##*/}"; dep="${dep%%.ko*}"
    resolve_module "$dep"
  done
  TINY_ORDER+=("$name")
}

build_tiny() {
  local out="$1" kver="$TINY_KVER" moddir="/lib/modules/$TINY_KVER" w root a m src comp
  w="$out/.work"; root="$w/root"
  log "tiny: kernel $kver, busybox $(/usr/bin/busybox 2>&1 | head -n1 | awk '{print $2}')"
  mkdir -p "$root"/{bin,dev,etc/udhcpc,etc/acpi/PWRF,lib/modules,mnt,proc,root,run,sys,tmp,usr,var,www}
  chmod 1777 "$root/tmp"
  ln -s bin "$root/sbin"; ln -s ../bin "$root/usr/bin"; ln -s ../bin "$root/usr/sbin"
  install -m 0755 /usr/bin/busybox "$root/bin/busybox"
  for a in $(/usr/bin/busybox --list); do
    [ "$a" = busybox ] || ln -s busybox "$root/bin/$a"
  done
  run gcc -static -Os -s -Wall -o "$root/bin/roost-echo" "$GUESTS_SRC/tiny/roost-echo.c"
  install -m 0755 "$GUESTS_SRC/tiny/init" "$root/init"
  install -m 0755 "$GUESTS_SRC/tiny/udhcpc.script" "$root/etc/udhcpc.script"
  ln -s ../udhcpc.script "$root/etc/udhcpc/default.script"
  install -m 0755 "$GUESTS_SRC/tiny/acpi-power-button" "$root/etc/acpi/PWRF/00000080"
  install -m 0644 "$GUESTS_SRC/tiny/profile" "$root/etc/profile"
  printf 'root:x:0:0:root:/root:/bin/sh\n' > "$root/etc/passwd"
  printf 'root:x:0:\ntty:x:5:\n' > "$root/etc/group"
  : > "$root/etc/resolv.conf"

  log "tiny: resolving modules from $moddir/modules.dep"
  load_modules_dep "$moddir"
  while read -r m; do
    resolve_module "$m"
  done < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$GUESTS_SRC/tiny/modules.list")
  : > "$root/etc/modules.order"
  for m in "${TINY_ORDER[@]}"; do
    src="$moddir/${MOD_PATH[$m]}"
    # busybox insmod loads a plain .ko; decompress here whatever the kernel packaging used.
    case "$src" in
      *.ko.xz) xz -dc "$src" > "$root/lib/modules/$m.ko" ;;
      *.ko.zst) zstd -qdc "$src" > "$root/lib/modules/$m.ko" ;;
      *.ko.gz) gzip -dc "$src" > "$root/lib/modules/$m.ko" ;;
      *) cp "$src" "$root/lib/modules/$m.ko" ;;
    esac
    echo "$m" >> "$root/etc/modules.order"
  done
  log "tiny: module load order: ${TINY_ORDER[*]}"

  # zstd decompresses much faster than gzip (it matters under TCG); use it when the kernel can.
  comp=gzip
  if grep -qx 'CONFIG_RD_ZSTD=y' "/boot/config-$kver" 2>/dev/null && command -v zstd >/dev/null; then comp=zstd; fi
  log "tiny: packing initramfs (cpio newc, $comp)"
  (cd "$root" && find . -mindepth 1 | sort | cpio --quiet -o -H newc -R 0:0 --reproducible) |
    if [ "$comp" = zstd ]; then zstd -q -19 -T0; else gzip -9n; fi > "$out/initrd.img"
  cp "/boot/vmlinuz-$kver" "$out/vmlinuz"
  rm -rf "$w"
  cat > "$out/build-info.json" <<EOF
{"name":"tiny","kernelVersion":$(json_str "$kver"),"initrdCompression":"$comp","modules":$(json_str "${TINY_ORDER[*]}"),"builtAt":$(json_str "$(date -u +%FT%TZ)")}
EOF
  log "tiny: initrd $(du -h "$out/initrd.img" | cut -f1), kernel $(du -h "$out/vmlinuz" | cut -f1)"
}

tiny_cmdline() { printf 'console=ttyS0 quiet'; }

tiny_manifest() { # tiny_manifest DIR
  printf '{"dir":%s,"kernel":%s,"initrd":%s,"cmdline":%s,"readyMarker":%s,"kernelVersion":%s,"services":{"http":80,"tcpEcho":7,"udpEcho":7}}' \
    "$(json_str "$1")" "$(json_str "$1/vmlinuz")" "$(json_str "$1/initrd.img")" \
    "$(json_str "$(tiny_cmdline)")" "$(json_str "$TINY_MARKER")" "$(json_str "$TINY_KVER")"
}

# ---------------------------------------------------------------------------------------------- debian

build_debian() {
  local out="$1" w rootfs kimg kver initrd raw comp incl
  w="$out/.work"; rootfs="$w/rootfs"
  mkdir -p "$w" "$CACHE_ROOT/.debootstrap-cache"
  incl="$(IFS=,; echo "${DEBIAN_PACKAGES[*]}")"
  log "debian: debootstrap $SUITE from $DEBIAN_MIRROR (this takes several minutes)"
  run debootstrap --variant=minbase --components=main --include="$incl" \
    --cache-dir="$CACHE_ROOT/.debootstrap-cache" \
    --keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
    "$SUITE" "$rootfs" "$DEBIAN_MIRROR" >&2

  log "debian: configuring the root file system"
  # Configuration files (cloud-init, networkd fallback, sshd, fstab, ...).
  (cd "$GUESTS_SRC/debian/rootfs" && find . -type f) | while read -r f; do
    install -D -m 0644 "$GUESTS_SRC/debian/rootfs/$f" "$rootfs/$f"
  done
  echo debian > "$rootfs/etc/hostname"
  printf '127.0.0.1\tlocalhost\n127.0.1.1\tdebian\n::1\tlocalhost ip6-localhost ip6-loopback\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n' > "$rootfs/etc/hosts"
  # Every clone must be its own machine: empty machine-id (systemd makes one at first boot), no host keys
  # (ssh.service drop-in runs ssh-keygen -A; cloud-init regenerates them anyway), no random seed.
  : > "$rootfs/etc/machine-id"
  rm -f "$rootfs/var/lib/dbus/machine-id" "$rootfs/var/lib/systemd/random-seed" "$rootfs"/etc/ssh/ssh_host_*
  # Root password for the serial console only (sshd_config.d/10-roost.conf forbids root password logins).
  chroot "$rootfs" /usr/sbin/usermod -p "$(/usr/bin/busybox mkpasswd -m sha512 "$DEBIAN_ROOT_PASSWORD" roostsalt)" root
  # systemd-resolved provides DNS from DHCP; point resolv.conf at its stub.
  if [ -e "$rootfs/lib/systemd/systemd-resolved" ]; then
    ln -sfn ../run/systemd/resolve/stub-resolv.conf "$rootfs/etc/resolv.conf"
  fi
  run systemctl --root="$rootfs" enable systemd-networkd.service systemd-resolved.service serial-getty@ttyS0.service ssh.service >&2
  # Nothing should wake up in the background of a test.
  run systemctl --root="$rootfs" disable apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer >&2 || true
  # Save space: package lists and caches are not needed to run.
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
    "$rootfs"/var/cache/debconf/*-old "$rootfs"/var/log/*.log "$rootfs"/var/log/apt/* "$rootfs"/tmp/*
  mkdir -p "$rootfs/var/lib/apt/lists/partial"

  # Kernel and initrd for direct kernel boot. The initramfs is made again now that fstab and the
  # initramfs-tools configuration are in place (small module list, fsck for the root file system).
  # Debian's generic kernel (packages.list says why not the cloud one).
  kimg="$(ls "$rootfs"/boot/vmlinuz-*-amd64 2>/dev/null | grep -v -- '-cloud-amd64$' | sort -V | tail -n1)"
  [ -n "$kimg" ] || die "no generic amd64 kernel in the root file system"
  kver="${kimg##*/vmlinuz-}"
  run chroot "$rootfs" update-initramfs -u -k "$kver" >&2
  initrd="$rootfs/boot/initrd.img-$kver"
  [ -f "$initrd" ] || die "no initrd for $kver in the root file system"
  debian_check_modules "$rootfs" "$kver" "$w/initrd.list"
  cp "$kimg" "$out/vmlinuz"
  cp "$initrd" "$out/initrd.img"

  log "debian: packing $DEBIAN_DISK_SIZE ext4 (mkfs.ext4 -d, label $DEBIAN_LABEL) into qcow2"
  raw="$w/root.raw"
  truncate -s "$DEBIAN_DISK_SIZE" "$raw"
  run mkfs.ext4 -q -F -L "$DEBIAN_LABEL" -E root_owner=0:0,nodiscard -d "$rootfs" "$raw" >&2
  run e2fsck -fn "$raw" >&2
  comp=()
  [ "${ROOST_DEBIAN_QCOW2_COMPRESS:-0}" = 1 ] && comp=(-c)
  run qemu-img convert -f raw -O qcow2 "${comp[@]}" -o cluster_size=65536 "$raw" "$out/disk.qcow2" >&2
  cat > "$out/build-info.json" <<EOF
{"name":"debian","suite":"$SUITE","kernelVersion":$(json_str "$kver"),"packages":$(json_str "${DEBIAN_PACKAGES[*]}"),"mirror":$(json_str "$DEBIAN_MIRROR"),"builtAt":$(json_str "$(date -u +%FT%TZ)")}
EOF
  printf '%s\n' "$kver" > "$out/kernel-version"
  # The root file system is removed with the rest of .work (umount first if debootstrap left mounts).
  local m
  for m in $(awk -v p="$w/" 'index($2, p) == 1 { print $2 }' /proc/mounts | sort -r); do umount -l "$m"; done
  rm -rf --one-file-system "$w"
  log "debian: disk $(du -h "$out/disk.qcow2" | cut -f1) (virtual $DEBIAN_DISK_SIZE), kernel $kver"
}

# The guest boots and mounts its shared folders: what the kernel builds as a module must be where it is loaded
# from — the root disk's drivers and ext4 (with crc32c) in the initramfs, 9p and virtiofs in the root file system.
debian_check_modules() { # debian_check_modules ROOTFS KVER LISTFILE
  local rootfs="$1" kver="$2" list="$3" config="$1/boot/config-$2" opt mod
  chroot "$rootfs" lsinitramfs "/boot/initrd.img-$kver" > "$list"
  for opt in VIRTIO_PCI:virtio_pci VIRTIO_BLK:virtio_blk EXT4_FS:ext4 CRYPTO_CRC32C:crc32c_generic; do
    mod="${opt#*:}"
    grep -q "^CONFIG_${opt%%:*}=y" "$config" || grep -Eq "/${mod}\.ko" "$list" ||
      die "the initramfs lacks $mod"
  done
  for opt in NET_9P 9P_FS NET_9P_VIRTIO VIRTIO_FS; do
    grep -Eq "^CONFIG_${opt}=[ym]" "$config" || die "the kernel $kver has no CONFIG_$opt"
  done
  for mod in 9p 9pnet_virtio virtiofs; do
    [ -n "$(find "$rootfs/lib/modules/$kver" -name "$mod.ko*" -print -quit)" ] ||
      grep -q "/$mod\.ko$" "$rootfs/lib/modules/$kver/modules.builtin" ||
      die "the root file system lacks the $mod module"
  done
  log "debian: initramfs has virtio_pci, virtio_blk, ext4 and crc32c; 9p and virtiofs modules in /lib/modules"
}

debian_cmdline() { printf 'root=LABEL=%s ro console=ttyS0' "$DEBIAN_LABEL"; }

debian_manifest() { # debian_manifest DIR
  local kver
  kver="$(cat "$1/kernel-version" 2>/dev/null || true)"
  printf '{"dir":%s,"disk":%s,"format":"qcow2","diskLabel":%s,"kernel":%s,"initrd":%s,"cmdline":%s,"kernelVersion":%s,"user":%s,"rootPassword":%s,"seedLabel":"cidata"}' \
    "$(json_str "$1")" "$(json_str "$1/disk.qcow2")" "$(json_str "$DEBIAN_LABEL")" \
    "$(json_str "$1/vmlinuz")" "$(json_str "$1/initrd.img")" "$(json_str "$(debian_cmdline)")" \
    "$(json_str "$kver")" "$(json_str "$DEBIAN_USER")" "$(json_str "$DEBIAN_ROOT_PASSWORD")"
}

# ---------------------------------------------------------------------------------------------- main

mkdir -p "$CACHE_ROOT"
chmod 0755 "$CACHE_ROOT"
exec 9>"$CACHE_ROOT/.lock"
if ! flock -n 9; then
  log "another build holds $CACHE_ROOT/.lock; waiting"
  flock 9
fi
# Under the lock, leftovers of interrupted builds are garbage.
for d in "$CACHE_ROOT"/.tmp-*; do
  [ -e "$d" ] || continue
  log "removing leftover of an interrupted build: $d"
  for m in $(awk -v p="$d/" 'index($2, p) == 1 { print $2 }' /proc/mounts | sort -r); do umount -l "$m" || true; done
  rm -rf --one-file-system "$d"
done

declare -A ENTRY=()
missing=0
for name in tiny debian; do
  if ! "${name}_prepare"; then
    wanted "$name" && { log "$name: cannot compute its inputs"; missing=1; }
    continue
  fi
  hash="$(inputs_hash "$name")"
  final="$CACHE_ROOT/$name-$hash"
  if wanted "$name" && [ "$no_build" -eq 0 ] && { [ "$force" -eq 1 ] || [ ! -d "$final" ]; }; then
    log "$name: building $final"
    start=$SECONDS
    new_build_dir "$name-$hash"
    tmp="$BUILD_DIR"
    "build_$name" "$tmp"
    finish_build "$tmp" "$final" "$name"
    log "$name: built in $((SECONDS - start)) s"
  elif [ -d "$final" ]; then
    wanted "$name" && log "$name: up to date ($final)"
  elif wanted "$name"; then
    log "$name: not built for the current inputs ($final)"
    missing=1
  fi
  [ -d "$final" ] && ENTRY[$name]="$("${name}_manifest" "$final")"
done

manifest="$CACHE_ROOT/manifest.json"
{
  printf '{'
  sep=""
  for name in tiny debian; do
    [ -n "${ENTRY[$name]:-}" ] || continue
    printf '%s\n  %s: %s' "$sep" "$(json_str "$name")" "${ENTRY[$name]}"
    sep=","
  done
  printf '\n}\n'
} > "$manifest.tmp"
chmod 0644 "$manifest.tmp"
mv -f "$manifest.tmp" "$manifest"
log "manifest: $manifest"
[ "$print_manifest" -eq 1 ] && cat "$manifest"
exit "$missing"
