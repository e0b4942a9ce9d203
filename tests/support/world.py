"""
A private sendmail installation in a temporary directory: cf files built by the real m4 from Debian's
cf.m4, queue directories with sendmail's owners and modes, crontabs and a Debian sendmail.conf, plus
the ``sendmail:lookup`` that points the module at it. Messages are queued and daemons started by the
real sendmail binary. Listeners live in the test run's own network namespace (see scripts/test.sh).
"""

import grp
import os
import pathlib
import pwd
import shutil
import signal
import socket
import subprocess
import time

CF_M4 = "/usr/share/sendmail/cf/m4/cf.m4"
SENDMAIL = "/usr/sbin/sendmail"

MTA_MC = """\
include(`{cf_m4}')dnl
undefine(`esyscmd')undefine(`syscmd')dnl
OSTYPE(`debian')dnl
DOMAIN(`debian-mta')dnl
define(`QUEUE_DIR', `{queue_dir}')dnl
define(`confPID_FILE', `{pid_file}')dnl
{extra}MAILER(`local')dnl
MAILER(`smtp')dnl
"""

MSP_MC = """\
include(`{cf_m4}')dnl
undefine(`esyscmd')undefine(`syscmd')dnl
OSTYPE(`debian')dnl
DOMAIN(`debian-msp')dnl
define(`MSP_QUEUE_DIR', `{queue_dir}')dnl
define(`confPID_FILE', `{pid_file}')dnl
define(`RELAY_MAILER_ARGS', `TCP $h {port}')dnl
FEATURE(`msp', `{relay}')dnl
"""


def build_cf(mc_text, cf_path):
    """Build a cf from .mc text with the real m4; any stderr is a failure (m4 exits 0 on errors)."""
    proc = subprocess.run(
        ["m4", "-D_NO_MAKEINFO_"], input=mc_text, capture_output=True, text=True, check=False
    )
    if proc.returncode or proc.stderr:
        raise RuntimeError(f"m4 failed ({proc.returncode}): {proc.stderr}")
    pathlib.Path(cf_path).write_text(proc.stdout)


class World:
    """One sendmail host's files under ``root``."""

    def __init__(self, root, msp_relay="[127.0.0.1]", msp_port=25, mta_extra=""):
        self.root = pathlib.Path(root)
        self.etc = self.root / "etc" / "mail"
        self.mqueue = self.root / "spool" / "mqueue"
        self.cqueue = self.root / "spool" / "mqueue-client"
        self.cron_d = self.root / "etc" / "cron.d"
        self.crontabs = self.root / "crontabs"
        self.run_dir = self.root / "run"
        self.sendmail_cf = self.etc / "sendmail.cf"
        self.submit_cf = self.etc / "submit.cf"
        self.sendmail_conf = self.etc / "sendmail.conf"
        self.hosts = self.root / "etc" / "hosts"
        self.daemons = []
        for path in (self.etc, self.cron_d, self.crontabs, self.run_dir):
            path.mkdir(parents=True, exist_ok=True)
        # Debian's owners and modes (sendmail refuses unsafe queue directories).
        self.mqueue.mkdir(parents=True)
        os.chown(self.mqueue, pwd.getpwnam("smmta").pw_uid, grp.getgrnam("smmsp").gr_gid)
        os.chmod(self.mqueue, 0o2750)
        self.cqueue.mkdir(parents=True)
        os.chown(self.cqueue, pwd.getpwnam("smmsp").pw_uid, grp.getgrnam("smmsp").gr_gid)
        os.chmod(self.cqueue, 0o2770)
        self.build_mta(mta_extra)
        self.build_msp(msp_relay, msp_port)
        shutil.copy("/etc/mail/sendmail.conf", self.sendmail_conf)
        self.hosts.write_text(f"127.0.0.1 localhost\n127.0.1.1 {socket.gethostname()}\n")

    def build_mta(self, extra=""):
        text = MTA_MC.format(
            cf_m4=CF_M4,
            queue_dir=self.mqueue,
            pid_file=self.run_dir / "mta.pid",
            extra=extra,
        )
        build_cf(text, self.sendmail_cf)

    def build_msp(self, relay="[127.0.0.1]", port=25):
        text = MSP_MC.format(
            cf_m4=CF_M4,
            queue_dir=self.cqueue,
            pid_file=self.run_dir / "msp.pid",
            relay=relay,
            port=port,
        )
        build_cf(text, self.submit_cf)

    @property
    def lookup(self):
        """The ``sendmail:lookup`` that points the module at this world."""
        return {
            "sendmail_bin": SENDMAIL,
            "sendmail_cf": str(self.sendmail_cf),
            "submit_cf": str(self.submit_cf),
            "mta_queue_dir": str(self.mqueue),
            "msp_queue_dir": str(self.cqueue),
            "cron_tables": [str(self.root / "etc" / "crontab"), str(self.cron_d)],
            "user_crontabs": str(self.crontabs),
            "hosts_file": str(self.hosts),
            "systemd_dir": str(self.root / "systemd"),
            "switch_files": {"debian": str(self.sendmail_conf)},
            "mta_pid_file": str(self.run_dir / "mta.pid"),
            "msp_pid_file": str(self.run_dir / "msp.pid"),
            # Never this machine's /etc/aliases.
            "aliases_file": str(self.etc / "aliases"),
            # The role states' lock and journal: the world's own, never this machine's /run.
            "lock_file": str(self.run_dir / "saltext-sendmail.lock"),
            "journal_file": str(self.root / "lib" / "saltext-sendmail-run.json"),
            # Debian's update_conf only knows /etc/mail: a world has no vendor tool to run.
            "debian_update_conf": None,
        }

    def submit(self, *recipients, queue="mta", body="hello\n"):
        """Queue one message with the real sendmail, without delivering it (-odq)."""
        cf, mode = (self.sendmail_cf, "-Am") if queue == "mta" else (self.submit_cf, "-Ac")
        message = f"Subject: test\n\n{body}"
        proc = subprocess.run(
            [SENDMAIL, mode, "-C", str(cf), "-odq", *recipients],
            input=message,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if proc.returncode:
            raise RuntimeError(f"sendmail could not queue: {proc.returncode} {proc.stderr}")

    def start_daemon(self, *args, cf=None, wait_port=None, wait_host="127.0.0.1"):
        """Start a real sendmail daemon in the foreground (-bD) and wait until it listens."""
        proc = subprocess.Popen(
            ["setpriv", "--pdeathsig", "TERM", SENDMAIL, "-C", str(cf or self.sendmail_cf), *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.daemons.append(proc)
        deadline = time.monotonic() + 10
        while wait_port and time.monotonic() < deadline:
            try:
                socket.create_connection((wait_host, wait_port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.02)
        else:
            if wait_port:
                raise RuntimeError(f"sendmail did not start listening on {wait_port}")
        if not wait_port:
            time.sleep(0.3)
        return proc

    def run_queue(self, queue="mta", netns=None):
        """One run of a queue (``sendmail -qf``, the MSP's with ``-Ac``), from ``netns`` if named."""
        cf, mode = (self.sendmail_cf, []) if queue == "mta" else (self.submit_cf, ["-Ac"])
        where = ["ip", "netns", "exec", netns] if netns else []
        subprocess.run(
            [*where, SENDMAIL, *mode, "-C", str(cf), "-qf"], capture_output=True, timeout=60, check=False
        )

    def queued_ids(self, queue="mta"):
        """The ids of the messages in one of this world's queues, read from the directory."""
        directory = self.mqueue if queue == "mta" else self.cqueue
        return sorted(name[2:] for name in os.listdir(directory) if name.startswith("qf"))

    def start_relay(self, address="127.0.0.2"):
        """
        Make this world a relay: a real sendmail relaying mail for example.com and example.org on
        ``address`` port 25
        and keeping it in its queue (DeliveryMode=queue), where tests count what arrived.
        """
        self.build_mta(extra="RELAY_DOMAIN(`example.com')dnl\nRELAY_DOMAIN(`example.org')dnl\n")
        return self.serve_and_queue(address)

    def serve_and_queue(self, address):
        """
        Run this world's sendmail.cf as an MTA on ``address`` port 25 that keeps what it accepts in
        its queue (DeliveryMode=queue), where tests count what arrived; returns once it listens.
        """
        return self.start_daemon(
            "-bD",
            f"-ODaemonPortOptions=Name=MTA,Addr={address},Port=25",
            "-ODeliveryMode=queue",
            wait_port=25,
            wait_host=address,
        )

    def stop_daemons(self):
        for proc in self.daemons:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.daemons:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.daemons.clear()
