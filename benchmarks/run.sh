#!/usr/bin/env bash
# Sets up (scripts/setup.sh), then runs each benchmark inside a throwaway isolated Debian host, and the
# fleet benchmark inside a private namespace holding a local master and its minions.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bash "$here/scripts/setup.sh" >/dev/null
# As a minion runs: Python writes the bytecode of what it imports (see benchmarks/fleet_scale).
unset PYTHONDONTWRITEBYTECODE
root=$(mktemp -d /tmp/sm-bench-XXXXXX)
trap 'rm -rf "$root"' EXIT
for bench in status_profile status_vs_mailq reapply_vs_empty beacon_and_grain; do
  rm -rf "$root/host"
  "$here/scripts/host-run" "$root/host" bench.example.test "$here/.venv/bin/python" \
    "$here/benchmarks/$bench.py"
  echo
done
rm -rf "$root/host"
"$here/scripts/private-ns" --tmpfs /run/netns bench.example.test "$here/benchmarks/fleet" "$root"
