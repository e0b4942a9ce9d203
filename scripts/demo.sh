#!/usr/bin/env bash
# The main job, end to end: sets everything up (scripts/setup.sh), then runs scripts/demo-fleet in a
# private network, mount, UTS and PID namespace: a local salt-master, a relay and two clients (each an
# isolated Debian sendmail host), before and after the highstate. Nothing on this machine changes;
# everything stops with the namespace and its files are removed at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bash "$here/scripts/setup.sh"
work=$(mktemp -d /tmp/sm-demo-XXXXXX)
trap 'rm -rf "$work"' EXIT
"$here/scripts/private-ns" --tmpfs /run/netns demo.example.test "$here/scripts/demo-fleet" "$work"
