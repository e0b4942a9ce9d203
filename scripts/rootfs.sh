#!/usr/bin/env bash
# Builds the Debian 12 root file system that the systemd test hosts boot (systemd-nspawn), once:
# .cache/rootfs/debian12, made by debootstrap from Debian's archive with systemd, sendmail, m4, cron
# and python3. Safe to run again (an existing one is kept; a half-built one is thrown away).
# About 70 s and 370 MB. Nothing on this machine changes: the second stage runs in private UTS,
# network, PID and mount namespaces, and debootstrap's own policy-rc.d keeps sendmail from starting.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
target="$here/.cache/rootfs/debian12"
[ -x "$target/usr/lib/systemd/systemd" ] && exit 0
build="$target.build"
rm -rf "$build"
mkdir -p "$build"
mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
echo "setup: building the systemd test hosts' root file system (about a minute)"
debootstrap --foreign --variant=minbase \
  --include=systemd,systemd-sysv,dbus,sendmail-bin,sendmail-cf,m4,cron,python3,iproute2,procps \
  bookworm "$build" "${mirror:-http://deb.debian.org/debian}" >"$build.log" 2>&1 ||
  { tail -5 "$build.log" >&2; exit 1; }
# sendmail's postinst runs sendmail, which stalls 60 s on an unqualified hostname.
echo host.example.test >"$build/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\thost.example.test host\n' >"$build/etc/hosts"
unshare --uts --net --pid --fork --mount bash -c \
  'hostname build.example.test && chroot "$1" /debootstrap/debootstrap --second-stage' rootfs "$build" \
  >>"$build.log" 2>&1 || { tail -5 "$build.log" >&2; exit 1; }
rm -f "$build.log"
mv "$build" "$target"
