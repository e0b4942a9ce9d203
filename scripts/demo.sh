#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh), then shows `sendmail.status` on an isolated example host: a
# private Debian sendmail host (scripts/host-run: own network, hostname, mounts and processes) whose
# daemon listens on every address, like many vendor defaults, with mail waiting in both queues.
# Nothing on this machine changes; the example host is removed at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bash "$here/scripts/setup.sh"
root=$(mktemp -d /tmp/sm-demo-XXXXXX)
trap 'rm -rf "$root"' EXIT

"$here/scripts/host-run" "$root" mail1.example.test bash -s "$here" <<'HOST'
set -euo pipefail
here=$1
salt_call=("$here/.venv/bin/salt-call" --local --cachedir=/tmp/demo-minion -m "$here/_modules")
# The vendor default many hosts still run: the MTA listens on all addresses.
sed -i 's/^\(O DaemonPortOptions=.*Name=MTA-v4.*\), Addr=127.0.0.1/\1/' /etc/mail/sendmail.cf
/etc/init.d/sendmail start >/dev/null
printf 'Subject: nightly report\n\nall good\n' | sendmail -Ac -odq ops@example.com
printf 'Subject: backup done\n\nok\n' | sendmail -Am -odq backup@example.org
echo "== salt-call sendmail.status on mail1.example.test (an isolated example host) =="
"${salt_call[@]}" sendmail.status
echo
echo "== salt-call sendmail.queue mta messages=True =="
"${salt_call[@]}" sendmail.queue mta messages=True
HOST
