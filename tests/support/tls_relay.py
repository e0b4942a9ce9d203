"""
A relay that requires STARTTLS and AUTH, as a site runs one: certificates from a test CA made with
openssl, a Cyrus SASL sasldb user made with saslpasswd2, and the server role's sendmail.cf with
``tls`` and ``auth`` (built by the module under test) run by the real sendmail on 198.51.100.1.

Cyrus SASL reads ``Sendmail.conf`` from its fixed path list; /usr/lib/sasl2 (shipped empty by
libsasl2-2) gets a private directory bind-mounted over it in the test run's own mount namespace
(scripts/test.sh), never on the machine.
"""

import contextlib
import pathlib
import subprocess

from tests.support.netns import NETWORK

RELAY = f"{NETWORK}.1"
SASL_CONF_DIR = "/usr/lib/sasl2"
# The SASL realm: sendmail passes its own name ($j), which is the test host's.
REALM = "tests.example.test"
USER, PASSWORD = "host33", 'Corr3ct horse "battery" staple'
# The last byte of the linked hosts' addresses: a host of the site network (relay_domains), an
# outsider, and the client role's host (the SASL user is named after it).
INSIDER, OUTSIDER, CLIENT = 31, 32, 33


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_ca(directory, name):
    """A CA (``name``.crt/.key) in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        f"/CN={name}",
        "-keyout",
        f"{name}.key",
        "-out",
        f"{name}.crt",
        cwd=directory,
    )
    return directory / f"{name}.crt"


def make_cert(directory, ca_name, name, address):
    """A server certificate for ``name`` and ``address`` signed by CA ``ca_name``: (crt, key) paths."""
    ext = directory / f"{name}.ext"
    ext.write_text(f"subjectAltName=DNS:{name},IP:{address}\n")
    _openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        f"/CN={name}",
        "-keyout",
        f"{name}.key",
        "-out",
        f"{name}.csr",
        cwd=directory,
    )
    _openssl(
        "x509",
        "-req",
        "-in",
        f"{name}.csr",
        "-CA",
        f"{ca_name}.crt",
        "-CAkey",
        f"{ca_name}.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        ext.name,
        "-out",
        f"{name}.crt",
        cwd=directory,
    )
    (directory / f"{name}.key").chmod(0o600)
    return directory / f"{name}.crt", directory / f"{name}.key"


@contextlib.contextmanager
def sasl_users(directory, users):
    """
    A sasldb (root 0600) holding ``users`` ({name: password}) and a Sendmail.conf that points
    Cyrus SASL at it, bind-mounted on /usr/lib/sasl2 for as long as the context lasts.
    """
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o755)
    sasldb = directory / "sasldb2"
    for name, password in users.items():
        subprocess.run(
            ["saslpasswd2", "-f", str(sasldb), "-u", REALM, "-c", "-p", name],
            input=password,
            text=True,
            check=True,
            capture_output=True,
            timeout=30,
        )
    sasldb.chmod(0o600)
    (directory / "Sendmail.conf").write_text(
        f"pwcheck_method: auxprop\nauxprop_plugin: sasldb\nsasldb_path: {sasldb}\nmech_list: PLAIN LOGIN\n"
    )
    subprocess.run(["mount", "--bind", str(directory), SASL_CONF_DIR], check=True)
    try:
        yield sasldb
    finally:
        subprocess.run(["umount", SASL_CONF_DIR], check=False)
