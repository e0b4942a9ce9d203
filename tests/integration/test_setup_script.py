"""
scripts/setup.sh puts this machine back when the package install fails: no policy-rc.d left behind
(it refuses every service start), /etc/hosts as it was. Run in a private mount namespace where
/usr/sbin and /etc/hosts are scratch copies and apt-get is a stand-in that edits /etc/hosts (as
sendmail's postinst does), then fails.
"""

import subprocess

from tests.support.saltcall import REPO

FAKE_APT = """#!/bin/sh
echo "198.51.100.99 added-by-postinst" >>/etc/hosts
echo "E: the package index is unreachable" >&2
exit 100
"""
# Every package looks missing, so setup.sh takes its install branch.
FAKE_DPKG_QUERY = "#!/bin/sh\nexit 1\n"


def test_a_failed_install_leaves_no_policy_rc_d_and_the_hosts_file_as_it_was(tmp_path):
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    for name, text in (("apt-get", FAKE_APT), ("dpkg-query", FAKE_DPKG_QUERY)):
        (fake_bin / name).write_text(text)
        (fake_bin / name).chmod(0o755)
    sbin, hosts = tmp_path / "sbin", tmp_path / "hosts"
    sbin.mkdir()
    hosts.write_text("127.0.0.1 localhost\n")
    script = f"""
        mount --make-rprivate /
        mount --bind {sbin} /usr/sbin
        mount --bind {hosts} /etc/hosts
        PATH={fake_bin}:$PATH bash {REPO}/scripts/setup.sh
        echo "setup exit $?"
        ls -A /usr/sbin
    """
    proc = subprocess.run(
        ["unshare", "--mount", "bash", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "the package index is unreachable" in proc.stderr
    assert "setup exit 100" in proc.stdout
    # Nothing is left in /usr/sbin: the policy-rc.d made for the install is gone.
    assert proc.stdout.strip().endswith("setup exit 100")
    assert hosts.read_text() == "127.0.0.1 localhost\n"
