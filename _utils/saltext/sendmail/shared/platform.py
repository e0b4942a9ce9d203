"""
Where sendmail lives on each OS family: paths, vendor switch files, services, packages and
timeouts, in one table. :func:`lookup` merges a family's row over the defaults, then the
operator's ``sendmail:lookup`` on top: every other part of the package takes what it returns as
its ``lookup`` argument.
"""

import os

DEFAULT_CF_M4 = "/usr/share/sendmail/cf/m4/cf.m4"

DEFAULTS = {
    "sendmail_bin": "/usr/sbin/sendmail",
    "sendmail_cf": "/etc/mail/sendmail.cf",
    "submit_cf": "/etc/mail/submit.cf",
    "mta_queue_dir": "/var/spool/mqueue",
    "msp_queue_dir": "/var/spool/clientmqueue",
    # Tables whose lines carry a user field, then the directory of per-user crontabs.
    "cron_tables": ["/etc/crontab", "/etc/cron.d"],
    "user_crontabs": "/var/spool/cron/crontabs",
    "hosts_file": "/etc/hosts",
    "systemd_dir": "/etc/systemd/system",
    "switch_files": {},
    "cf_m4": DEFAULT_CF_M4,
    "mc_ostype": None,
    "msp_domain": None,
    "mta_domain": None,
    # Debian's tool that applies sendmail.conf (None elsewhere, or to not run it).
    "debian_update_conf": None,
    # Set only where the .mc must name them (tests); otherwise the vendor's DOMAIN() decides.
    "mta_pid_file": None,
    "msp_pid_file": None,
    # How the daemons are switched: "switch" (one service that reads the vendor's switch file) or
    # "units" (an MTA unit and an MSP unit, each enabled and started on its own).
    "service_model": "switch",
    "mta_service": "sendmail",
    "msp_service": None,
    # Whether the MSP unit cannot run without the MTA's (then a client's MSP queue is run by cron).
    "msp_service_binds_mta": False,
    # Where Debian's update-rc.d links a SysV service that starts at boot.
    "sysv_rc_dir": None,
    # What the formula installs (an unknown family installs nothing rather than Debian's names).
    "pkgs": [],
    # Seconds `sendmail -C new.cf -bt` may take before the new cf counts as refused.
    "validate_timeout": 30,
    # Seconds the daemons may take to start or stop before the services step fails.
    "services_timeout": 15,
    # status sums queue bytes (one stat per file) only up to this many messages per directory.
    "status_bytes_limit": 10000,
    # STARTTLS and AUTH (tls_auth.py, secret_files.py): what builds the authinfo map, the MSP's group (it
    # must read the map), and where PEM text and the map go (None: beside sendmail.cf).
    "makemap_bin": "/usr/sbin/makemap",
    "msp_group": "smmsp",
    "tls_dir": None,
    "authinfo_map": None,
    # Local mail (local_mail.py): the aliases file a server's .mc names (ALIAS_FILE) and the
    # site's aliases edit, and the site's virtusertable (None: salt-virtusers beside sendmail.cf).
    "aliases_file": "/etc/aliases",
    # The empty file a server's HELP reads, so that no outsider learns the version (mc.py;
    # None: helpfile.empty beside sendmail.cf).
    "help_file": None,
    "virtuser_map": None,
    # A relay's flood limits (flood.py): its own access map (None: salt-access beside sendmail.cf).
    "access_map": None,
    # The patch level (patch_level.py): the package that provides sendmail, where the
    # distribution lists the CVEs it fixed ("rpm": rpm -q --changelog), and the files whose
    # change means a package was installed or the lists refreshed.
    "sendmail_package": None,
    # What `salt-run sendmail.patch_relays` upgrades together: the packages built from sendmail's
    # source, which depend on each other at one exact version (empty: sendmail_package alone).
    "upgrade_packages": [],
    "package_changelog": None,
    "package_state": [],
    # A hook the vendor's package scripts ask before they restart a service (Debian's
    # policy-rc.d): the rolling patch holds sendmail's own restart back with it (upgrade.py).
    "policy_rc_d": None,
    # One role change at a time (transaction.py): the lock a run holds, the seconds a second run
    # waits for it, and the journal of the run under way (kept across a reboot).
    "lock_file": "/run/sendmail/saltext-sendmail.lock",
    "lock_timeout": 120,
    "journal_file": "/var/lib/sendmail/saltext-sendmail-run.json",
    # The rolling patch's lease on a relay (patch_lease.py): on /run, gone with a reboot.
    "patch_lease_file": "/run/sendmail/saltext-sendmail-patch.lease",
    # DKIM signing on a relay (dkim.py): OpenDKIM's configuration file, the directory of its keys
    # and of the tables the role writes, the user that reads the keys, its service (None: not
    # managed), the key maker, the socket when the configuration names none, and its packages.
    "dkim_conf": None,
    "dkim_keys_dir": None,
    "dkim_user": "opendkim",
    "dkim_service": "opendkim",
    "dkim_genkey": "/usr/sbin/opendkim-genkey",
    "dkim_socket": "local:/run/opendkim/opendkim.sock",
    "dkim_pkgs": [],
}

FAMILIES = {
    # Debian 12 (8.17.1.9, a unit generated from the init script) and 13 (8.18.1, a native
    # sendmail.service running the same init script, disabled after install) alike: the same
    # paths, switch file, pid files and process titles (both run for real, tests/systemd).
    "Debian": {
        "msp_queue_dir": "/var/spool/mqueue-client",
        "mc_ostype": "debian",
        "msp_domain": "debian-msp",
        "mta_domain": "debian-mta",
        "sysv_rc_dir": "/etc/rc2.d",
        "debian_update_conf": "/usr/share/sendmail/update_conf",
        # What Debian's DOMAIN(debian-mta) names: a link to /etc/aliases.
        "aliases_file": "/etc/mail/aliases",
        "sendmail_package": "sendmail-bin",
        "upgrade_packages": ["sendmail-base", "sendmail-bin", "sendmail-cf"],
        "package_changelog": "/usr/share/doc/{package}/changelog.Debian.gz",
        "package_state": ["/var/lib/dpkg/status", "/var/lib/apt/lists"],
        "policy_rc_d": "/usr/sbin/policy-rc.d",
        "switch_files": {"debian": "/etc/mail/sendmail.conf"},
        # sensible-mda: the local mailer Debian's cfs name (a relay's own mail to root fails
        # without it, "Operating system error"); the sendmail metapackage brings it, -bin does not.
        "pkgs": ["sendmail-bin", "sendmail-cf", "m4", "sensible-mda"],
        # Debian's opendkim: /etc/dkimkeys is its 0700 key directory, its socket local (0750 dir).
        "dkim_conf": "/etc/opendkim.conf",
        "dkim_keys_dir": "/etc/dkimkeys",
        "dkim_pkgs": ["opendkim", "opendkim-tools"],
    },
    "RedHat": {
        "user_crontabs": "/var/spool/cron",
        "cf_m4": "/usr/share/sendmail-cf/m4/cf.m4",
        "mc_ostype": "linux",
        "switch_files": {"redhat": "/etc/sysconfig/sendmail"},
        # The pid files the units' PIDFile= name: a cf that writes elsewhere makes the start time out.
        "mta_pid_file": "/run/sendmail.pid",
        "msp_pid_file": "/run/sm-client.pid",
        # sendmail.service starts -bd whatever /etc/sysconfig says; sm-client runs the MSP queue,
        # but has BindTo=sendmail.service: it starts the MTA with it and stops with it.
        "service_model": "units",
        "msp_service": "sm-client",
        "msp_service_binds_mta": True,
        "sendmail_package": "sendmail",
        "upgrade_packages": ["sendmail", "sendmail-cf"],
        "package_changelog": "rpm",
        "package_state": ["/var/lib/rpm"],
        "pkgs": ["sendmail", "sendmail-cf", "m4"],
        # EPEL's opendkim (on paper: README): its configuration listens on inet:8891@localhost.
        "dkim_conf": "/etc/opendkim.conf",
        "dkim_keys_dir": "/etc/opendkim/keys",
        "dkim_socket": "inet:8891@127.0.0.1",
        "dkim_pkgs": ["opendkim", "opendkim-tools"],
    },
    "Solaris": {
        "sendmail_bin": "/usr/lib/sendmail",
        "cf_m4": "/etc/mail/cf/m4/cf.m4",
        "mc_ostype": "solaris8",
        "switch_files": {"solaris": "/etc/default/sendmail"},
        "msp_service": "sendmail-client",
    },
    "FreeBSD": {
        "user_crontabs": "/var/cron/tabs",
        "cf_m4": "/usr/share/sendmail/cf/m4/cf.m4",
        "mc_ostype": "freebsd6",
        "switch_files": {"freebsd": ["/etc/defaults/rc.conf", "/etc/rc.conf", "/etc/rc.conf.local"]},
    },
}


def lookup(os_family, overrides=None):
    """The lookup values for ``os_family``, with ``overrides`` (``sendmail:lookup``) on top."""
    return {**DEFAULTS, **FAMILIES.get(os_family, {}), **(overrides or {})}


def switch_files(lookup):
    """Each kind of vendor switch file with its list of paths (FreeBSD reads three, in order)."""
    return {
        kind: [locations] if isinstance(locations, str) else list(locations)
        for kind, locations in (lookup.get("switch_files") or {}).items()
    }


def cf_pair(lookup, kind):
    """The (cf, .mc) paths a build of ``kind`` writes: submit.cf for ``msp``, else sendmail.cf."""
    cf_path = lookup["submit_cf"] if kind == "msp" else lookup["sendmail_cf"]
    return cf_path, os.path.splitext(cf_path)[0] + ".mc"


def beside_cf(lookup, key, name):
    """The path the lookup's ``key`` names, else ``name`` in sendmail.cf's directory."""
    return lookup.get(key) or os.path.join(os.path.dirname(lookup["sendmail_cf"]), name)


def help_file(lookup):
    """
    The empty help file a server's HELP reads (``help_file`` in the lookup, else ``helpfile.empty``
    beside sendmail.cf): vendors' help files start with "This is sendmail version 8.x".
    """
    return beside_cf(lookup, "help_file", "helpfile.empty")


def managed_files(lookup):
    """
    The files the role states write, in the order to write them back: the .mc files, then their
    cfs (a vendor's start script rebuilds a cf from an .mc that is newer: Debian's, Red Hat's
    /etc/mail/make), then the vendor switch files.
    """
    pairs = [cf_pair(lookup, kind) for kind in ("msp", "server")]
    ordered = [mc_path for _, mc_path in pairs] + [cf_path for cf_path, _ in pairs]
    for files in switch_files(lookup).values():
        ordered.extend(files)
    return list(dict.fromkeys(ordered))
