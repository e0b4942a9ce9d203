#!/usr/bin/env bash
# Sets up (scripts/setup.sh), then runs the status benchmark inside a throwaway isolated Debian host.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bash "$here/scripts/setup.sh" >/dev/null
root=$(mktemp -d /tmp/sm-bench-XXXXXX)
trap 'rm -rf "$root"' EXIT
"$here/scripts/host-run" "$root" bench.example.test "$here/.venv/bin/python" "$here/benchmarks/status_vs_mailq.py"
