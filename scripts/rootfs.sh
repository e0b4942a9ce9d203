#!/usr/bin/env bash
# Builds the root file systems that the systemd test hosts boot (systemd-nspawn), once each:
#   .cache/rootfs/debian12  Debian 12 "bookworm": systemd, sendmail 8.17, sensible-mda (the local
#                           mailer: a relay delivers into mailboxes), m4, cron and python3 (the
#                           tests' own virtualenv is bound into its hosts: same Python 3.11)
#   .cache/rootfs/debian13  Debian 13 "trixie": the same with sendmail 8.18, plus STARTTLS and AUTH
#                           (sasl2-bin, openssl) and Salt 3008.4 in /opt/salt, built for trixie's
#                           Python 3.13 (the tests' virtualenv cannot run there; salt's timelib
#                           needs gcc and the Python headers)
#   .cache/rootfs/debian12-postfix, debian12-exim
#                           Debian 12 whose MTA is postfix ("Local only") or exim4-daemon-light
#                           (installed over sendmail, which apt removed), sendmail's own .debs
#                           left in apt's cache: the hosts where the formula must install nothing
#
#   rootfs.sh [debian12|debian13|debian12-postfix|debian12-exim]...    (default: all)
#
# made by debootstrap from Debian's archive. Safe to run again (an existing one is kept; a half-built
# one is thrown away). Debian 12: about 70 s and 370 MB; Debian 13: about 3 minutes and 700 MB.
# Nothing on this machine changes: the second stage and Salt's build run chrooted in private UTS,
# mount and PID namespaces (the second stage with no network either), and debootstrap's own
# policy-rc.d keeps sendmail from starting.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
common=systemd,systemd-sysv,dbus,sendmail-bin,sendmail-cf,sensible-mda,m4,cron,python3,iproute2,procps
declare -A suite=([debian12]=bookworm [debian13]=trixie)
declare -A include=(
  [debian12]=$common
  [debian13]=$common,sasl2-bin,libsasl2-modules,openssl,ca-certificates,python3-venv,python3-dev,gcc,libc6-dev
)
# Salt for the releases whose Python is not the tests' own (requirements-salt3008.txt's pin).
salt_pin=$(grep -E '^salt==' "$here/requirements-salt3008.txt")
declare -A salt=([debian13]=$salt_pin)
mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)

build_salt() {  # ROOT PIN: a virtualenv /opt/salt with PIN, built inside ROOT for its own Python
  local root=$1 pin=$2
  # pip reaches the package index with this machine's CA bundle (a proxy may sit in between).
  cp /etc/ssl/certs/ca-certificates.crt "$root/opt/build-ca.crt"
  unshare --mount --uts --pid --fork bash -c '
    set -e
    root=$1; pin=$2
    hostname build.example.test
    mount -t proc proc "$root/proc"
    mount --rbind /dev "$root/dev"
    chroot "$root" python3 -m venv /opt/salt
    chroot "$root" env -i PATH=/usr/bin:/bin HOME=/root PIP_CERT=/opt/build-ca.crt \
      PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_DEFAULT_TIMEOUT=180 /opt/salt/bin/pip install -q "$pin"
  ' build-salt "$root" "$pin"
  rm -f "$root/opt/build-ca.crt"
  find "$root/opt/salt" -name __pycache__ -prune -exec rm -rf {} +
}

build() {  # RELEASE
  local release=$1 target build
  target="$here/.cache/rootfs/$release"
  [ -x "$target/usr/lib/systemd/systemd" ] && return 0
  build="$target.build"
  rm -rf "$build"
  mkdir -p "$build"
  echo "setup: building the $release test hosts' root file system (a minute or three)"
  debootstrap --foreign --variant=minbase --include="${include[$release]}" \
    "${suite[$release]}" "$build" "${mirror:-http://deb.debian.org/debian}" >"$build.log" 2>&1 ||
    { tail -5 "$build.log" >&2; return 1; }
  # sendmail's postinst runs sendmail, which stalls 60 s on an unqualified hostname.
  echo host.example.test >"$build/etc/hostname"
  printf '127.0.0.1\tlocalhost\n127.0.1.1\thost.example.test host\n' >"$build/etc/hosts"
  unshare --uts --net --pid --fork --mount bash -c \
    'hostname build.example.test && chroot "$1" /debootstrap/debootstrap --second-stage' rootfs "$build" \
    >>"$build.log" 2>&1 || { tail -5 "$build.log" >&2; return 1; }
  if [ -n "${salt[$release]:-}" ]; then
    build_salt "$build" "${salt[$release]}" >>"$build.log" 2>&1 || { tail -5 "$build.log" >&2; return 1; }
  fi
  rm -f "$build.log"
  mv "$build" "$target"
}

# Debian 12 with another MTA: apt installs it over sendmail, as on a real host.
declare -A other_mta=([debian12-postfix]=postfix [debian12-exim]=exim4-daemon-light)

build_other_mta() {  # RELEASE: a copy of debian12 whose MTA is other_mta[RELEASE]
  local release=$1 target build
  target="$here/.cache/rootfs/$release"
  [ -x "$target/usr/lib/systemd/systemd" ] && return 0
  build="$target.build"
  rm -rf "$build"
  echo "setup: building the $release test hosts' root file system (a minute)"
  cp -a "$here/.cache/rootfs/debian12" "$build"
  # A policy-rc.d that refuses every start: the MTA's postinst must not start a daemon here, on
  # this machine's network (a PID namespace of its own ends whatever started anyway). The
  # network is needed for apt; nothing else leaves the chroot.
  printf '#!/bin/sh\nexit 101\n' >"$build/usr/sbin/policy-rc.d"
  chmod 755 "$build/usr/sbin/policy-rc.d"
  unshare --mount --uts --pid --fork bash -c '
    set -e
    root=$1; mta=$2
    hostname build.example.test
    mount -t proc proc "$root/proc"
    cp /etc/resolv.conf "$root/etc/resolv.conf"
    chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root DEBIAN_FRONTEND=noninteractive sh -ec "
      echo \"postfix postfix/main_mailer_type select Local only\" | debconf-set-selections
      echo \"postfix postfix/mailname string host.example.test\" | debconf-set-selections
      apt-get update -qq
      apt-get install -y -qq --no-install-recommends $mta
      apt-get install -y -qq --download-only sendmail-bin"
  ' other-mta "$build" "${other_mta[$release]}" >"$build.log" 2>&1 || { tail -5 "$build.log" >&2; return 1; }
  rm -f "$build/usr/sbin/policy-rc.d"
  # sendmail-bin is gone, its .deb is in apt's cache: the formula could install it from there.
  if [ -e "$build/usr/sbin/sendmail-mta" ] || ! ls "$build"/var/cache/apt/archives/sendmail-bin_*.deb >/dev/null 2>&1; then
    echo "rootfs.sh: $release: sendmail still installed, or its .deb not cached" >&2
    return 1
  fi
  rm -f "$build.log"
  mv "$build" "$target"
}

releases=("$@")
[ "${#releases[@]}" -gt 0 ] || releases=(debian12 debian13 debian12-postfix debian12-exim)
for release in "${releases[@]}"; do
  [ -n "${suite[$release]:-}${other_mta[$release]:-}" ] ||
    { echo "rootfs.sh: unknown release $release" >&2; exit 2; }
done
# At once: each mostly waits on downloads. The other-MTA copies start once debian12 is built.
failed=0
jobs=()
debian12_job=""
others=()
for release in "${releases[@]}"; do
  if [ -n "${other_mta[$release]:-}" ]; then
    others+=("$release")
    continue
  fi
  build "$release" &
  if [ "$release" = debian12 ]; then debian12_job=$!; else jobs+=($!); fi
done
if [ "${#others[@]}" -gt 0 ]; then
  if [ -n "$debian12_job" ]; then
    wait "$debian12_job" || failed=1
    debian12_job=""
  fi
  [ "$failed" -ne 0 ] || build debian12 || failed=1
  if [ "$failed" -eq 0 ]; then
    for release in "${others[@]}"; do
      build_other_mta "$release" &
      jobs+=($!)
    done
  fi
fi
[ -z "$debian12_job" ] || jobs+=("$debian12_job")
for job in "${jobs[@]}"; do wait "$job" || failed=1; done
exit "$failed"
