"""
Benchmark re-applying an unchanged client role (the common highstate case) against a state.apply of
an empty SLS, both with salt-call --local, side by side in one run. Also counts the m4 and sendmail
runs of a re-apply: m4 must not run; sendmail only for the version probe. Run it with
benchmarks/run.sh: it needs an isolated Debian host (scripts/host-run), whose role it changes.
"""

import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile

from status_vs_mailq import median_time

REPO = pathlib.Path(__file__).resolve().parents[1]
CLIENT_SLS = """sendmail-bench-sendmail-client:
  sendmail.client:
    - name: sendmail
    - relay: '[198.51.100.1]'
"""
# Wrappers that count each run of the real m4 and sendmail, then exec them.
COUNTER = """#!/bin/sh
echo "$0" >>{log}
exec {real} "$@"
"""


def minion_config(work, name, extra=""):
    """
    A config dir of our own, root_dir included: salt-call --local must not log, cache, keep keys
    or a minion_id in this machine's dirs.
    """
    conf = work / name
    conf.mkdir()
    (conf / "minion").write_text(
        f"root_dir: {conf}\ncachedir: {work / 'cache'}\nlog_file: {work / 'minion.log'}\n"
        f"file_client: local\nutils_dirs: [{REPO / '_utils'}]\n"
        f"file_roots:\n  base: [{work / 'states'}]\n{extra}"
    )
    return conf


def main():
    work = pathlib.Path(tempfile.mkdtemp(prefix="sm-reapply-"))
    try:
        measure(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def measure(work):
    (work / "states").mkdir()
    (work / "states" / "client.sls").write_text(CLIENT_SLS)
    (work / "states" / "empty.sls").write_text("{}\n")
    shims, log = work / "bin", work / "runs.log"
    shims.mkdir()
    for name in ("m4", "sendmail"):
        shim = shims / name
        shim.write_text(COUNTER.format(log=log, real=shutil.which(name, path="/usr/sbin:/usr/bin")))
        shim.chmod(0o755)
    plain = minion_config(work, "plain")
    counted = minion_config(
        work, "counted", f"sendmail:\n  lookup:\n    sendmail_bin: {shims / 'sendmail'}\n"
    )

    def apply(sls, conf=plain, env=None):
        # An empty SLS makes state.apply exit 2 ("no states"): only the client's exit is checked.
        subprocess.run(
            [
                str(pathlib.Path(sys.executable).with_name("salt-call")),
                "--local",
                "-c",
                str(conf),
                "-m",
                str(REPO / "_modules"),
                f"--states-dir={REPO / '_states'}",
                "--retcode-passthrough",
                "--out=quiet",
                "state.apply",
                sls,
            ],
            check=sls != "empty",
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    apply("client")  # the first apply converges the host; the runs measured change nothing
    apply("client", counted, env={**os.environ, "PATH": f"{shims}:{os.environ['PATH']}"})
    runs = log.read_text().split() if log.exists() else []
    print(
        f"one re-apply of the client role ran m4 {runs.count(str(shims / 'm4'))} times and sendmail "
        f"{runs.count(str(shims / 'sendmail'))} times (the version probe)"
    )
    print("\nsalt-call --local state.apply (median of 9 runs each, taken in turns, seconds)")
    times = {"empty": [], "client": []}
    for _ in range(9):
        for sls, measured in times.items():
            measured.append(median_time(lambda sls=sls: apply(sls), 1))
    empty_s, client_s = (statistics.median(times[sls]) for sls in ("empty", "client"))
    print(
        f"empty SLS {empty_s:.3f}  client role, unchanged {client_s:.3f}  "
        f"ratio {client_s / empty_s:.2f}x (target: within 1.3x)"
    )


if __name__ == "__main__":
    main()
