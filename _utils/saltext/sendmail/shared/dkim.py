"""
DKIM signing on a site's relays with OpenDKIM, the milter sendmail sites use (Debian's ``opendkim``).
The site's pillar ``dkim`` (:func:`check`) names a selector and the domains to sign for; each relay
signs with a key of its own, under the selector ``SELECTOR-HOST`` (one DNS name per relay's key), made
on the relay by ``opendkim-genkey`` and readable only by OpenDKIM: no part of this package reads the
private key, so it reaches no return, event or log. What the package does write is OpenDKIM's
tables (KeyTable, SigningTable, InternalHosts: the site's networks and the relay itself) and the
keywords of ``opendkim.conf`` that signing needs; every other line of that file stays as it was.
The public half, the ``SELECTOR.txt`` beside each key, is what :func:`installed` reads for
``sendmail.status`` and the report (:mod:`dns_records`).
"""

import ipaddress
import os
import re
import shutil
import tempfile

from salt.exceptions import CommandExecutionError, SaltInvocationError

from . import allowlist, errors, files, relays

KEYS = ("selector", "next_selector", "domains", "bits")
BITS = (1024, 2048, 3072, 4096)
DEFAULT_BITS = 2048
# A DNS label (RFC 1035), as selectors are: the relay's host name is added with a hyphen.
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
# What signing needs of opendkim.conf; the rest of the file (Socket, UserID, PidFile...) is the
# vendor's and the operator's. Oversigning From: nobody can add a second From that verifies.
SETTINGS = {
    "Mode": "sv",
    "Canonicalization": "relaxed/relaxed",
    "OversignHeaders": "From",
    "SubDomains": "no",
}
TABLES = {"KeyTable": "salt-keytable", "SigningTable": "salt-signingtable"}
INTERNAL_HOSTS = "salt-internalhosts"
# The keys made for the next selector (a rotation): published first, signing later.
NEXT = "salt-next-selectors"
MARK = "# saltext-sendmail: DKIM signing (sendmail:sites:SITE:dkim); these keywords are rewritten"


def check(value, masquerade_as=None, field="dkim"):
    """
    The site's ``dkim`` checked, with its defaults: ``selector`` (a DNS label), ``next_selector``
    (the key made and published before it signs: rotation), ``domains`` (default the site's
    ``masquerade_as``) and ``bits`` (default 2048).
    """
    value = allowlist.mapping_of(value, KEYS, field, "a mapping with selector")
    checked = {"selector": label(value.get("selector"), f"{field}:selector")}
    following = value.get("next_selector")
    checked["next_selector"] = None if following is None else label(following, f"{field}:next_selector")
    if checked["next_selector"] == checked["selector"]:
        raise SaltInvocationError(f"{field}:next_selector: the selector in use; name a new one")
    domains = value.get("domains")
    if domains is None:
        domains = [masquerade_as] if masquerade_as else []
    if not isinstance(domains, list) or not domains:
        raise SaltInvocationError(
            f"{field}:domains: name the domains to sign for (the default, masquerade_as, is not set)"
        )
    checked["domains"] = [allowlist.masquerade_domain(domain, f"{field}:domains") for domain in domains]
    checked["bits"] = bits(value.get("bits", DEFAULT_BITS), f"{field}:bits")
    return checked


def bits(value, field):
    """A key size OpenDKIM and the providers take (RFC 8301: 1024 at least; 2048 advised)."""
    if value not in BITS or isinstance(value, bool):
        raise SaltInvocationError(f"{field}: {value!r} is not one of {', '.join(map(str, BITS))}")
    return value


def label(value, field):
    """``value`` as a DNS label (lower case), or SaltInvocationError naming ``field``."""
    if not isinstance(value, str) or not _LABEL.fullmatch(value.lower()):
        raise SaltInvocationError(f"{field}: {value!r} is not a DNS label (letters, digits, -)")
    return value.lower()


def relay_selector(selector, host):
    """The selector of this relay's key: ``SELECTOR-HOST`` (its short host name)."""
    return label(f"{selector}-{host.split('.')[0]}", "dkim:selector and the relay's host name")


def key_files(lookup, domain, selector):
    """The private key and the TXT record opendkim-genkey writes for ``domain`` and ``selector``."""
    directory = os.path.join(lookup["dkim_keys_dir"], domain)
    return os.path.join(directory, f"{selector}.private"), os.path.join(directory, f"{selector}.txt")


def internal_hosts(relay_domains):
    """The hosts whose mail is signed: the relay itself and the site's networks, as CIDR."""
    hosts = ["127.0.0.1", "::1"]
    for network in relays.site_networks(relay_domains):
        if network[:5].lower() == "ipv6:":
            groups = network[5:].split(":")
            padded = ":".join(groups + ["0"] * (8 - len(groups)))
            hosts.append(str(ipaddress.ip_network(f"{padded}/{16 * len(groups)}", strict=False)))
        else:
            octets = network.split(".")
            padded = ".".join(octets + ["0"] * (4 - len(octets)))
            hosts.append(str(ipaddress.ip_network(f"{padded}/{8 * len(octets)}", strict=False)))
    return hosts


def tables(lookup, checked, selectors, relay_domains):
    """
    OpenDKIM's tables (their paths to their texts): sign each domain with this relay's key of
    ``selectors[0]``; the keys of ``selectors[1]`` (a rotation's next, or None) are listed apart.
    """
    selector, following = selectors
    keys, signing, upcoming = [], [], []
    for domain in checked["domains"]:
        private = key_files(lookup, domain, selector)[0]
        keys.append(f"{selector}._domainkey.{domain} {domain}:{selector}:{private}")
        signing.append(f"*@{domain} {selector}._domainkey.{domain}")
        if following:
            upcoming.append(f"{domain} {following}")
    directory = lookup["dkim_keys_dir"]
    return {
        os.path.join(directory, TABLES["KeyTable"]): "\n".join(keys) + "\n",
        os.path.join(directory, TABLES["SigningTable"]): "\n".join(signing) + "\n",
        os.path.join(directory, INTERNAL_HOSTS): "\n".join(internal_hosts(relay_domains)) + "\n",
        os.path.join(directory, NEXT): "".join(f"{line}\n" for line in upcoming),
    }


def managed(lookup):
    """The files the role writes for signing (rollback puts them back): the conf, the tables."""
    if not lookup.get("dkim_keys_dir") or not lookup.get("dkim_conf"):
        return []
    directory = lookup["dkim_keys_dir"]
    names = [*TABLES.values(), INTERNAL_HOSTS, NEXT]
    return [lookup["dkim_conf"]] + [os.path.join(directory, name) for name in names]


def conf_text(old_text, lookup):
    """
    ``opendkim.conf`` with the keywords signing needs set (each once, after the mark) and every
    other line as it was.
    """
    directory = lookup["dkim_keys_dir"]
    wanted = {
        **SETTINGS,
        "KeyTable": f"file:{os.path.join(directory, TABLES['KeyTable'])}",
        "SigningTable": f"refile:{os.path.join(directory, TABLES['SigningTable'])}",
        "InternalHosts": f"file:{os.path.join(directory, INTERNAL_HOSTS)}",
    }
    kept = [
        line
        for line in (old_text or "").splitlines()
        if line != MARK and (line.split() or [""])[0] not in wanted
    ]
    while kept and not kept[-1].strip():
        kept.pop()
    ours = [MARK] + [f"{keyword}\t{value}" for keyword, value in wanted.items()]
    return "\n".join([*kept, "", *ours] if kept else ours) + "\n"


def socket_of(conf, lookup):
    """
    The milter socket OpenDKIM listens on, as sendmail reaches it: its ``Socket`` keyword (else the
    platform's), an ``inet`` socket on ``localhost`` or on every address taken at the loopback
    address (EPEL's ``inet:8891@localhost``: a cf names an address, never a name to resolve).
    """
    found = lookup["dkim_socket"]
    for line in (conf or "").splitlines():
        words = line.split()
        if len(words) == 2 and words[0] == "Socket":
            found = words[1]
    kind, _, rest = found.partition(":")
    port, _, host = rest.partition("@")
    if kind in ("inet", "inet6") and host in ("", "localhost", "*"):
        return f"{kind}:{port}@{'127.0.0.1' if kind == 'inet' else '::1'}"
    return found


def record(txt_text):
    """The TXT record's value from opendkim-genkey's ``SELECTOR.txt`` (its quoted strings joined)."""
    value = "".join(re.findall(r'"([^"]*)"', txt_text or ""))
    return value if "p=" in value else None


def public_key(value):
    """The ``p=`` of a DKIM record (spaces dropped), or None."""
    for tag in (value or "").split(";"):
        name, _, data = tag.strip().partition("=")
        if name.strip() == "p":
            return re.sub(r"\s", "", data)
    return None


def strings(value, size=255):
    """A TXT value as DNS carries it: strings of at most ``size`` bytes each (RFC 7208, 6376)."""
    return [value[start : start + size] for start in range(0, len(value), size)] or [""]


def generate(lookup, run, domain, selector, bits):
    """
    Make the key of ``selector`` for ``domain`` with opendkim-genkey in a fresh directory beside the
    keys (mode 0700), give it to OpenDKIM's user, then rename it into place: a failure leaves no
    half-made key. Never replaces a key that exists.
    """
    private, txt = key_files(lookup, domain, selector)
    if os.path.exists(private):
        return False
    directory = os.path.dirname(private)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    work = tempfile.mkdtemp(prefix=".genkey-", dir=directory)
    try:
        made = run(
            [lookup["dkim_genkey"], "-b", str(bits), "-d", domain, "-s", selector, "-D", work],
            python_shell=False,
            output_loglevel="quiet",
        )
        if made["retcode"] != 0:
            raise CommandExecutionError(
                f"opendkim-genkey failed for {domain} ({selector}): {made['stderr'].strip()[:300]}"
            )
        user = lookup.get("dkim_user")
        for name in (f"{selector}.private", f"{selector}.txt"):
            path = os.path.join(work, name)
            if user:
                shutil.chown(path, user, user)
        for directory_path in (lookup["dkim_keys_dir"], directory):
            if user:
                shutil.chown(directory_path, user, user)
            os.chmod(directory_path, 0o700)
        os.chmod(os.path.join(work, f"{selector}.private"), 0o600)
        os.chmod(os.path.join(work, f"{selector}.txt"), 0o644)
        os.rename(os.path.join(work, f"{selector}.txt"), txt)
        os.rename(os.path.join(work, f"{selector}.private"), private)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return True


def installed(lookup):
    """
    The keys OpenDKIM signs with here, from the KeyTable this package wrote: each ``domain``,
    ``selector``, the record's ``name``, its ``value`` and ``strings`` (255 bytes each; None when the
    key's record file is missing), and the ``next`` keys (made for a rotation, not yet signing).
    """
    directory = lookup.get("dkim_keys_dir")
    if not directory:
        return None
    table = files.read_text(os.path.join(directory, TABLES["KeyTable"]))
    if table is None:
        return None
    keys = []
    for line in table.splitlines():
        name, _, spec = line.partition(" ")
        domain, _, rest = spec.partition(":")
        selector, _, private = rest.partition(":")
        if name and private:
            keys.append(entry(domain, selector, private))
    upcoming = []
    for line in (files.read_text(os.path.join(directory, NEXT)) or "").splitlines():
        domain, _, selector = line.partition(" ")
        if selector:
            upcoming.append(entry(domain, selector, key_files(lookup, domain, selector)[0]))
    return {
        "keys": keys,
        "next": upcoming,
        "socket": socket_of(files.read_text(lookup["dkim_conf"]), lookup),
    }


def entry(domain, selector, private):
    """One key's public facts: its record read from the ``.txt`` beside the private key."""
    value = record(files.read_text(os.path.splitext(private)[0] + ".txt"))
    return {
        "domain": domain,
        "selector": selector,
        "name": f"{selector}._domainkey.{domain}",
        "value": value,
        "strings": strings(value) if value else None,
    }


def apply(lookup, run, value, relay_domains, masquerade_as, host, test):
    """
    ``sendmail_dkim.setup``: the site's ``dkim`` checked, then the plan (the keys to make, the
    files to write) and, unless ``test``, the keys made and the files written (each old one kept as
    ``.bak``). Returns ``changed``, ``selector`` (this relay's), ``keys_made`` (the records' names),
    ``files`` (per path its diff) and ``milter`` (what the relay's cf names: OpenDKIM's socket, F=T).
    """
    checked = check(value, masquerade_as)
    for key in ("dkim_conf", "dkim_keys_dir", "dkim_genkey"):
        if not lookup.get(key):
            raise CommandExecutionError(f"DKIM signing is not supported here: lookup:{key} is not set")
    selectors = (
        relay_selector(checked["selector"], host),
        checked["next_selector"] and relay_selector(checked["next_selector"], host),
    )
    with errors.os_errors("could not set up DKIM signing"):
        missing = [
            (domain, selector)
            for domain in checked["domains"]
            for selector in selectors
            if selector and not os.path.exists(key_files(lookup, domain, selector)[0])
        ]
        old_conf = files.read_text(lookup["dkim_conf"])
        texts = tables(lookup, checked, selectors, relay_domains)
        texts[lookup["dkim_conf"]] = conf_text(old_conf, lookup)
        writes = {path: text for path, text in texts.items() if files.read_text(path) != text}
        # Imported here: status imports this module on every call, and build brings the whole
        # .mc chain into every status (benchmarks/status_profile.py times the imports).
        from . import build  # noqa: PLC0415

        result = {
            "changed": bool(missing or writes),
            "selector": selectors[0],
            "keys_made": [f"{selector}._domainkey.{domain}" for domain, selector in missing],
            "files": {
                path: {"diff": build.diff(files.read_text(path), text)} for path, text in writes.items()
            },
            "milter": {"name": "opendkim", "socket": socket_of(old_conf, lookup), "flags": "T"},
        }
        if test or not result["changed"]:
            return result
        if missing and not os.access(lookup["dkim_genkey"], os.X_OK):
            raise CommandExecutionError(
                f"{lookup['dkim_genkey']} is missing: install "
                f"{' '.join(lookup['dkim_pkgs']) or 'OpenDKIM'} (the formula's sendmail.package "
                "does for a relay whose site has dkim)"
            )
        os.makedirs(lookup["dkim_keys_dir"], mode=0o700, exist_ok=True)
        for domain, selector in missing:
            generate(lookup, run, domain, selector, checked["bits"])
        for path, text in writes.items():
            files.install(files.write_temp(path, text), path)
    return result


def drift(status, resolved):
    """
    The finding ``dkim-not-signing`` (high: a role run sets it right, so the drift reactor does)
    when the relay's pillar asks DKIM signing and its status shows no key of the pillar's
    selector, or no OpenDKIM milter in its cf; else none.
    """
    if resolved.get("role") != "server" or not resolved.get("dkim"):
        return []
    wanted = resolved["dkim"].get("selector")
    keys = (status.get("dkim") or {}).get("keys") or []
    signing = [key for key in keys if str(key.get("selector", "")).startswith(f"{wanted}-")]
    milter = any(item.get("name") == "opendkim" for item in status.get("milters") or [])
    if signing and milter:
        return []
    missing = "no key of selector " + str(wanted) if not signing else "no OpenDKIM milter in its cf"
    message = f"the site's pillar asks DKIM signing and this relay does not sign ({missing})"
    return [{"id": "dkim-not-signing", "severity": "high", "message": message}]
