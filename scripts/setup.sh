#!/usr/bin/env bash
# Installs what saltext-sendmail needs on a Debian 12 machine, as root; safe to run again.
#   - Debian packages: sendmail-bin, sendmail-cf, m4, sensible-mda (the local mailer Debian's cfs
#     name; it brings procmail), cron (no recommends), iproute2, util-linux,
#     and debootstrap and systemd-container for the test hosts that boot systemd, sasl2-bin,
#     libsasl2-modules and openssl for the tests' STARTTLS and AUTH relay
#   - prometheus and prometheus-node-exporter, unpacked into .cache/prometheus (never installed)
#   - opendkim and nsd with their libraries, unpacked into .cache/lab (never installed)
#   - .venv-tools: nox (the docs, lint, changelog and build sessions) and the release tools
#   - a virtualenv per Salt line asked for (default 3008: .venv; 3006: .venv-salt3006) with the
#     pinned Salt and test tools (requirements-saltNNNN.txt, requirements.txt)
#   - the Debian 12 and Debian 13 root file systems those test hosts boot (scripts/rootfs.sh, cached
#     in .cache/; Debian 13's holds Salt 3008.4 built for its Python 3.13)
# It never starts a mail daemon on this machine, never binds port 25 and leaves /etc/hosts as it was.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# Which Salt lines to set up (requirements-salt3006.txt, -salt3008.txt): the arguments, else 3008.
# Each gets the virtualenv scripts/venv-dir names.
salt_lines=("$@")
[ "${#salt_lines[@]}" -gt 0 ] || salt_lines=(3008)
packages=(sendmail-bin sendmail-cf m4 sensible-mda cron iproute2 util-linux procps debootstrap
  systemd-container sasl2-bin libsasl2-modules openssl perl)

missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  # A policy-rc.d that refuses every start keeps postinst from starting sendmail on this machine's
  # port 25. It and /etc/hosts (sendmail's postinst adds to it) are put back by the trap, whatever
  # happens: a policy-rc.d left behind would refuse every service start on this machine.
  policy=/usr/sbin/policy-rc.d
  made_policy=""
  hosts_copy=$(mktemp)
  cp -p /etc/hosts "$hosts_copy"
  restore_machine() {
    cmp -s "$hosts_copy" /etc/hosts || cp -p "$hosts_copy" /etc/hosts
    rm -f "$hosts_copy"
    [ -z "$made_policy" ] || rm -f "$policy"
  }
  trap restore_machine EXIT
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && made_policy=yes
  fi
  # sendmail's postinst runs sendmail, which stalls 60 s on an unqualified hostname: give the install a
  # private UTS namespace with a qualified name (the machine's own hostname is untouched).
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  unshare --uts sh -c 'hostname setup.example.test && exec apt-get install -y -qq --no-install-recommends "$@"' \
    sh "${missing[@]}" >/dev/null
  restore_machine
  trap - EXIT
fi

# Other MTAs' sendmail binaries, unpacked (never installed) by the tests that check postfix and exim
# hosts are recognised and left alone.
debs="$here/.cache/debs"
if ! ls "$debs"/postfix_*.deb "$debs"/exim4-daemon-light_*.deb >/dev/null 2>&1; then
  mkdir -p "$debs"
  [ -n "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -print -quit)" ] || apt-get update -qq
  (cd "$debs" && apt-get download -qq postfix exim4-daemon-light 2>/dev/null)
fi

# Prometheus's own tools from Debian's packages, unpacked (never installed: no service on this
# machine) into .cache/prometheus: promtool checks the metrics and the alert rules, the tests run
# prometheus-node-exporter inside each test host's namespaces and prometheus scrapes them.
prom="$here/.cache/prometheus"
if [ ! -x "$prom/usr/bin/promtool" ] || [ ! -x "$prom/usr/bin/prometheus-node-exporter" ]; then
  mkdir -p "$debs" "$prom"
  [ -n "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -print -quit)" ] || apt-get update -qq
  (cd "$debs" && rm -f prometheus_*.deb prometheus-node-exporter_*.deb &&
    apt-get download -qq prometheus prometheus-node-exporter 2>/dev/null)
  for deb in "$debs"/prometheus_*.deb "$debs"/prometheus-node-exporter_*.deb; do dpkg -x "$deb" "$prom"; done
fi

# A real milter and a real DNS server for the relay tests (OpenDKIM verifies or signs each
# message, opendkim-genkey makes the relays' keys; NSD serves a DNS blocklist zone and a site's
# DKIM, SPF and DMARC records), unpacked with their libraries (never installed: no
# service on this machine) into .cache/lab; the tests run them with LD_LIBRARY_PATH in a namespace.
lab="$here/.cache/lab"
if [ ! -x "$lab/usr/sbin/opendkim" ] || [ ! -x "$lab/usr/sbin/nsd" ] ||
  [ ! -x "$lab/usr/sbin/opendkim-genkey" ]; then
  mkdir -p "$debs/lab" "$lab"
  [ -n "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -print -quit)" ] || apt-get update -qq
  (cd "$debs/lab" && apt-get download -qq opendkim opendkim-tools libopendkim11 libmilter1.0.1 librbl1 libvbr2 \
    libmemcached11 libhashkit2 libopendbx1 liblua5.3-0 nsd libfstrm0 libprotobuf-c1 2>/dev/null)
  for deb in "$debs"/lab/*.deb; do dpkg -x "$deb" "$lab"; done
fi

install_venv() {  # VENV REQUIREMENTS: the virtualenv with those pinned packages (and their includes)
  local venv=$1 requirements=$2 stamp want
  if [ ! -x "$venv/bin/python" ]; then
    echo "setup: creating virtualenv $venv"
    python3 -m venv "$venv"
  fi
  stamp="$venv/.requirements.sha256"
  want=$(cat "$requirements" "$here"/requirements*.txt | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "setup: installing $(basename "$requirements") into $venv"
    # (grep drops pip's notes about this machine's absent local package mirrors)
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements" 2>&1 |
      { grep -v "is ignored: it is neither a file nor a directory" || true; }
    echo "$want" >"$stamp"
  fi
}

setup_venv() {  # SALT_LINE: its virtualenv with the pinned Salt and tools (salt builds from source)
  install_venv "$("$here/scripts/venv-dir" "$1")" "$here/requirements-salt$1.txt"
}

for salt_line in "${salt_lines[@]}"; do
  [ -f "$here/requirements-salt$salt_line.txt" ] ||
    { echo "setup: no Salt $salt_line (requirements-salt*.txt)" >&2; exit 2; }
done
# The virtualenvs and the root file system at once: each mostly waits on downloads and builds.
jobs=()
for salt_line in "${salt_lines[@]}"; do
  setup_venv "$salt_line" &
  jobs+=($!)
done
install_venv "$here/.venv-tools" "$here/requirements-tools.txt" &
jobs+=($!)
bash "$here/scripts/rootfs.sh" &
jobs+=($!)
failed=0
for job in "${jobs[@]}"; do wait "$job" || failed=1; done
[ "$failed" -eq 0 ] || { echo "setup: failed (see above)" >&2; exit 1; }
for salt_line in "${salt_lines[@]}"; do
  echo "setup: ready ($("$("$here/scripts/venv-dir" "$salt_line")/bin/salt-call" --version))"
done
