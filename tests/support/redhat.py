"""
Red Hat's sendmail packaging reproduced on a systemd test host: the sendmail.service and
sm-client.service units, /etc/sysconfig/sendmail, /etc/mail/make, Red Hat's default sendmail.mc and
submit.mc built into cfs, its client queue, both units enabled, and grains saying os_family RedHat.

The units are written from the facts in ../shared/FIELD-NOTES.md ("Red Hat's sendmail units"): the
lines that decide behaviour are Wants=, BindTo=, Also=, PIDFile=, EnvironmentFile= and
ExecStartPre=-/etc/mail/make. Paths are Red Hat's (the platform table's), except what the Debian
root file system lacks: cf.m4 lives where Debian's sendmail-cf puts it, and Debian's crontab command
keeps root's table in /var/spool/cron/crontabs.
"""

import os
import subprocess

SENDMAIL_SERVICE = """\
[Unit]
Description=Sendmail Mail Transport Agent
After=syslog.target network.target
Conflicts=postfix.service exim.service
Wants=sm-client.service

[Service]
Type=forking
PIDFile=/run/sendmail.pid
Environment=SENDMAIL_OPTS=-q1h
EnvironmentFile=-/etc/sysconfig/sendmail
ExecStartPre=-/etc/mail/make
ExecStartPre=-/etc/mail/make aliases
ExecStart=/usr/sbin/sendmail -bd $SENDMAIL_OPTS $SENDMAIL_OPTARG

[Install]
WantedBy=multi-user.target
Also=sm-client.service
"""

SM_CLIENT_SERVICE = """\
[Unit]
Description=Sendmail Mail Transport Client
After=syslog.target network.target sendmail.service
BindTo=sendmail.service

[Service]
Type=forking
PIDFile=/run/sm-client.pid
Environment=SENDMAIL_OPTS=-q1h
EnvironmentFile=-/etc/sysconfig/sendmail
ExecStartPre=/bin/touch /run/sm-client.pid
ExecStartPre=/bin/chown smmsp:smmsp /run/sm-client.pid
ExecStartPre=-/etc/mail/make -C /etc/mail submit.cf
ExecStart=/usr/sbin/sendmail -L sm-msp-queue -Ac $SENDMAIL_OPTS $SENDMAIL_OPTARG

[Install]
WantedBy=multi-user.target
"""

SYSCONFIG = "DAEMON=yes\nQUEUE=1h\n"

# Red Hat's /etc/mail/make runs make on /etc/mail/Makefile, which rebuilds a cf from its .mc when
# the .mc is newer (m4 x.mc > x.cf). This keeps that rule, and logs each rebuild for the tests.
MAKE = """\
#!/bin/sh
cd /etc/mail || exit 1
[ "$1" = aliases ] && exit 0
[ "$1" = -C ] && shift 2
for cf in ${1:-sendmail.cf submit.cf}; do
  mc=${cf%.cf}.mc
  if [ -f "$mc" ] && [ "$mc" -nt "$cf" ]; then
    m4 "$mc" >"$cf" && echo "rebuilt $cf" >>/var/log/mail-make.log
  fi
done
exit 0
"""

CF_M4 = "/usr/share/sendmail/cf/m4/cf.m4"

# Red Hat's default sendmail.mc, reduced: a local-only MTA on 127.0.0.1.
SENDMAIL_MC = f"""\
include(`{CF_M4}')dnl
VERSIONID(`setup for linux')dnl
OSTYPE(`linux')dnl
define(`confPID_FILE', `/var/run/sendmail.pid')dnl
FEATURE(`no_default_msa')dnl
DAEMON_OPTIONS(`Port=smtp,Addr=127.0.0.1, Name=MTA')dnl
MAILER(`local')dnl
MAILER(`smtp')dnl
"""

SUBMIT_MC = f"""\
divert(-1)
divert(0)dnl
include(`{CF_M4}')dnl
VERSIONID(`linux setup')dnl
define(`confCF_VERSION', `Submit')dnl
define(`__OSTYPE__',`')dnl
define(`confTIME_ZONE', `USE_TZ')dnl
define(`confDONT_INIT_GROUPS', `True')dnl
define(`confPID_FILE', `/var/run/sm-client.pid')dnl
FEATURE(`msp', `[127.0.0.1]')dnl
"""

LOOKUP = {"cf_m4": CF_M4, "user_crontabs": "/var/spool/cron/crontabs"}


def _m4(mc_text):
    return subprocess.run(["m4"], input=mc_text, capture_output=True, text=True, check=True).stdout


def _ids(host, name):
    """uid and gid of ``name`` in the host's own /etc/passwd (Debian gives sendmail's users dynamic ids)."""
    for line in host.path("/etc/passwd").read_text().splitlines():
        fields = line.split(":")
        if fields[0] == name:
            return int(fields[2]), int(fields[3])
    raise KeyError(name)


def make_redhat(host):
    """Turn a (not yet booted) systemd test host into a Red Hat-family sendmail host."""
    host.write("/etc/systemd/system/sendmail.service", SENDMAIL_SERVICE)
    host.write("/etc/systemd/system/sm-client.service", SM_CLIENT_SERVICE)
    wants = host.path("/etc/systemd/system/multi-user.target.wants")
    wants.mkdir(parents=True, exist_ok=True)
    for unit in ("sendmail.service", "sm-client.service"):  # as `systemctl enable sendmail` leaves them
        (wants / unit).symlink_to(f"/etc/systemd/system/{unit}")
    host.write("/etc/sysconfig/sendmail", SYSCONFIG)
    host.write("/etc/mail/make", MAKE, mode=0o755)
    for name, mc_text in (("sendmail", SENDMAIL_MC), ("submit", SUBMIT_MC)):
        host.write(f"/etc/mail/{name}.mc", mc_text)
        host.write(f"/etc/mail/{name}.cf", _m4(mc_text))
    # Red Hat has no Debian cron.d entry, sendmail.conf or init script (the units replace it).
    for path in ("/etc/cron.d/sendmail", "/etc/mail/sendmail.conf", "/etc/init.d/sendmail"):
        host.path(path).unlink()
    queue = host.path("/var/spool/clientmqueue")
    queue.mkdir(mode=0o770)
    uid, gid = _ids(host, "smmsp")
    queue.chmod(0o770)
    os.chown(queue, uid, gid)
    host.configure_salt(grains={"os_family": "RedHat"}, sendmail={"lookup": LOOKUP})
