#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh), checks style and builds the docs (nox -e lint docs), then runs the whole
# test suite inside a private test host: its own network (loopback only), hostname, mounts and process
# list, so the tests' daemons, port 25 and sendmail runs never reach this machine's own.
#
#   test.sh [--salt 3006|3008] [PYTEST ARGS...]
#
# Without --salt the suite runs on each supported Salt line, 3006 and 3008 at once (what CI does),
# their outputs printed one after the other; it fails if either run fails. Other arguments go to
# pytest.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
salt_lines=(3006 3008)
if [ "${1:-}" = "--salt" ]; then salt_lines=("$2"); shift 2; fi
bash scripts/setup.sh "${salt_lines[@]}"
# Style (ruff, yamllint, salt-lint) and the documentation site, warnings as errors (noxfile.py; each
# session's tools come from PyPI into .nox/ on the first run, pinned).
.venv-tools/bin/nox --non-interactive -e lint docs
# The systemd test hosts' cgroups (smh*): cleared before (a crashed run) and after every run.
clear_cgroups() {
  local dir
  for dir in /sys/fs/cgroup/systemd/smh* /sys/fs/cgroup/unified/smh*; do
    # A cgroup still in use (another run's live host) is left alone: rmdir fails on it.
    [ -d "$dir" ] && { find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null || true; }
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
  # ip netns files and systemd-nspawn's state of the tests stay in the test host's own tmpfs.
  local python=$1; shift
  scripts/private-ns --bind tests/data/hosts:/etc/hosts --tmpfs /run/netns \
    --tmpfs /run/systemd/nspawn tests.example.test "$python" -m pytest "$@"
}
salt_version() {  # SALT_LINE: the Salt version its virtualenv holds
  "$(scripts/venv-dir "$1")/bin/python" -c 'import salt.version; print(salt.version.__version__)'
}
finish() {  # SALT_LINE RC: pytest's exit 5 (no tests) is a failure too
  if [ "$2" -eq 5 ]; then
    echo "test.sh: pytest collected no tests on Salt $1: that is a failure" >&2
    return 1
  fi
  return "$2"
}
if [ "${#salt_lines[@]}" -eq 1 ]; then
  echo "== Salt $(salt_version "${salt_lines[0]}")"
  rc=0
  SM_TEST_RUN=${salt_lines[0]} run_suite "$(scripts/venv-dir "${salt_lines[0]}")/bin/python" "$@" || rc=$?
  finish "${salt_lines[0]}" "$rc"
  exit
fi
# Several Salt lines: each suite in its own private test host, all at once (they mostly wait on
# daemons, boots and minions, and their hosts share nothing; SM_TEST_RUN keeps their cgroup names
# apart). Their output follows, one suite after another, each ending with pytest's summary line.
logs=$(mktemp -d /tmp/sm-test-logs-XXXXXX)
trap 'cleanup; rm -rf "$logs"' EXIT
suites=()
# The lines run at once: a test marked salt_line(N) runs on line N only (tests/conftest.py).
export SM_SALT_LINES="${salt_lines[*]}"
for salt_line in "${salt_lines[@]}"; do
  echo "== Salt $(salt_version "$salt_line"): running, output below when done"
  SM_TEST_RUN=$salt_line run_suite "$(scripts/venv-dir "$salt_line")/bin/python" "$@" </dev/null \
    >"$logs/$salt_line" 2>&1 &
  suites+=($!)
done
failed=0
for index in "${!salt_lines[@]}"; do
  rc=0
  wait "${suites[$index]}" || rc=$?
  echo "== Salt ${salt_lines[$index]}"
  cat "$logs/${salt_lines[$index]}"
  finish "${salt_lines[$index]}" "$rc" || failed=1
done
exit "$failed"
