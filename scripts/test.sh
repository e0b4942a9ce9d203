#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh), checks style (ruff, yamllint, salt-lint), then runs the whole
# test suite inside a private test host: its own network (loopback only), hostname, mounts and process
# list, so the tests' daemons, port 25 and sendmail runs never reach this machine's own.
#
#   test.sh [--salt 3006|3008] [PYTEST ARGS...]
#
# Without --salt the suite runs once on each supported Salt line, 3006 then 3008 (what CI does);
# it fails if either run fails. Other arguments go to pytest.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
salt_lines=(3006 3008)
if [ "${1:-}" = "--salt" ]; then salt_lines=("$2"); shift 2; fi
bash scripts/setup.sh "${salt_lines[@]}"
venv="$(scripts/venv-dir "${salt_lines[0]}")/bin"
"$venv/ruff" check --quiet .
"$venv/ruff" format --check --quiet .
"$venv/yamllint" --strict pillar.example .yamllint .salt-lint
"$venv/salt-lint" salt/sendmail/*.sls pillar.example
# The systemd test hosts' cgroups (smh*): cleared before (a crashed run) and after every run.
clear_cgroups() {
  local dir
  for dir in /sys/fs/cgroup/systemd/smh* /sys/fs/cgroup/unified/smh*; do
    [ -d "$dir" ] && find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  return 0
}
made_nspawn_dir=""
[ -d /run/systemd/nspawn ] || made_nspawn_dir=yes
cleanup() {
  clear_cgroups
  if [ -n "$made_nspawn_dir" ]; then rmdir /run/systemd/nspawn 2>/dev/null || true; fi
}
trap cleanup EXIT
clear_cgroups
mkdir -p /run/systemd/nspawn
run_suite() {  # PYTHON [PYTEST ARGS...]: the suite inside the private test host
  unshare --net --uts --mount --pid --fork --mount-proc bash -c '
    hostname tests.example.test && ip link set lo up && mount --make-rprivate /
    mount --bind tests/data/hosts /etc/hosts
    mkdir -p /run/netns && mount -t tmpfs test-netns /run/netns  # ip netns files of the tests stay here
    mount -t tmpfs test-nspawn /run/systemd/nspawn  # and so do systemd-nspawn'"'"'s
    "$0" -m pytest "$@"' "$@"
}
failed=0
for salt_line in "${salt_lines[@]}"; do
  python="$(scripts/venv-dir "$salt_line")/bin/python"
  echo "== Salt $("$python" -c 'import salt.version; print(salt.version.__version__)')"
  rc=0
  run_suite "$python" "$@" || rc=$?
  if [ "$rc" -eq 5 ]; then
    echo "test.sh: pytest collected no tests: that is a failure" >&2
    rc=1
  fi
  [ "$rc" -eq 0 ] || failed=$rc
  clear_cgroups
done
exit "$failed"
