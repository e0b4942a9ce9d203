"""The platform submodule through its public names (saltext.sendmail.shared.platform)."""

from saltext.sendmail.shared import platform


def test_platform_table_gives_unknown_families_no_packages():
    # sensible-mda: the local mailer Debian's cfs name (a relay delivers root's mail with it).
    assert platform.lookup("Debian")["pkgs"] == ["sendmail-bin", "sendmail-cf", "m4", "sensible-mda"]
    assert platform.lookup("Gentoo")["pkgs"] == []
    assert platform.lookup("RedHat", {"pkgs": ["x"]})["pkgs"] == ["x"]
    assert platform.cf_pair(platform.lookup("Debian"), "msp") == (
        "/etc/mail/submit.cf",
        "/etc/mail/submit.mc",
    )
    assert platform.managed_files(platform.lookup("Debian")) == [
        "/etc/mail/submit.mc",
        "/etc/mail/sendmail.mc",
        "/etc/mail/submit.cf",
        "/etc/mail/sendmail.cf",
        "/etc/mail/sendmail.conf",
    ]


def test_redhat_renders_the_pid_files_its_units_expect():
    redhat = platform.lookup("RedHat")
    assert (redhat["mta_pid_file"], redhat["msp_pid_file"]) == (
        "/run/sendmail.pid",
        "/run/sm-client.pid",
    )
