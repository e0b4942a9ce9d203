"""
A sendmail.mc this package did not write (no "Managed by Salt (saltext-sendmail)" line): what the
server role's own .mc would drop from it. Each m4 construct (``FEATURE(`mailertable')``, a
``define``, ``MAILER``, ``INPUT_MAIL_FILTER``, ``LOCAL_RULESETS``...) is known by a key: the macro
and its first argument. The list holds the constructs that are neither the vendor's default (the
sendmail.mc Debian or Red Hat installs, which a server role is meant to replace) nor ones a role of
this package writes from a pillar key: exactly what replacing the file would lose without the
pillar naming it. ``sendmail.status`` reports it; the server role refuses to replace such a file
unless ``sendmail:replace_hand_made`` says so.
"""

import re

from . import files

MARKER = "Managed by Salt (saltext-sendmail)"
# A construct at the start of a line (m4 reads on after divert(-1) too): its macro and the text
# after the opening parenthesis.
_CONSTRUCT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*))?$")
_FIRST_ARG = re.compile(r"^\s*`?([^',)]*)'?")
_BLOCKLIST = re.compile(r"^\s*`?(enhdnsbl|dnsbl)'?\s*,\s*`?([^',)]*)")
# Macros a site writes in an .mc that are not plain text: what a replacement can drop.
MACROS = frozenset(
    {
        "FEATURE",
        "define",
        "undefine",
        "MAILER",
        "INPUT_MAIL_FILTER",
        "MAIL_FILTER",
        "include",
        "HACK",
        "SITECONFIG",
        "EXPOSED_USER",
        "EXPOSED_USER_FILE",
        "MASQUERADE_AS",
        "MASQUERADE_DOMAIN",
        "MASQUERADE_DOMAIN_FILE",
        "MASQUERADE_EXCEPTION",
        "GENERICS_DOMAIN",
        "GENERICS_DOMAIN_FILE",
        "VIRTUSER_DOMAIN",
        "VIRTUSER_DOMAIN_FILE",
        "RELAY_DOMAIN",
        "RELAY_DOMAIN_FILE",
        "LOCAL_DOMAIN",
        "LDAPROUTE_DOMAIN",
        "LDAPROUTE_DOMAIN_FILE",
        "LDAPROUTE_EQUIVALENT",
        "CANONIFY_DOMAIN",
        "CANONIFY_DOMAIN_FILE",
        "DAEMON_OPTIONS",
        "CLIENT_OPTIONS",
        "TRUST_AUTH_MECH",
        "MODIFY_MAILER_FLAGS",
        "LOCAL_USER",
        "LOCAL_NET_CONFIG",
    }
)
# Macros whose every use is one construct: their arguments are settings, or values a pillar key
# gives (the relay's domains, its masquerade, its AUTH mechanisms), not names of features.
_WHOLE = frozenset(
    {
        "DAEMON_OPTIONS",
        "CLIENT_OPTIONS",
        "LOCAL_NET_CONFIG",
        "MASQUERADE_AS",
        "VIRTUSER_DOMAIN",
        "RELAY_DOMAIN",
        "TRUST_AUTH_MECH",
    }
)


# What the server role's .mc holds without a site's relay features (mc.render, every other pillar
# key set: a unit test renders one and checks it), besides the cf.m4 it includes: what
# sendmail.status counts as the role's own. Anything else of a hand-made .mc (a mailertable, a
# milter, a blocklist...) the site's pillar must give for the role to keep it. Never a LOCAL_*
# section: the package writes its own only into files it marks, and a site's rules there are what a
# replacement would lose. A build compares with the very .mc it is about to write instead.
SERVER_KEYS = frozenset(
    {
        "undefine(esyscmd)",
        "DAEMON_OPTIONS",
        "MASQUERADE_AS",
        "VIRTUSER_DOMAIN",
        "RELAY_DOMAIN",
        "TRUST_AUTH_MECH",
        "MAILER(local)",
        "MAILER(smtp)",
        *(
            f"FEATURE({name})"
            for name in (
                "access_db",
                "conncontrol",
                "delay_checks",
                "greet_pause",
                "masquerade_envelope",
                "no_default_msa",
                "ratecontrol",
                "virtusertable",
            )
        ),
        *(
            f"define({name})"
            for name in (
                "ALIAS_FILE",
                "ESMTP_MAILER_ARGS",
                "HELP_FILE",
                "QUEUE_DIR",
                "RELAY_MAILER_ARGS",
                "SMART_HOST",
                "confAUTH_MECHANISMS",
                "confAUTH_OPTIONS",
                "confCACERT",
                "confCACERT_PATH",
                "confCONNECTION_RATE_THROTTLE",
                "confLOG_LEVEL",
                "confMAX_DAEMON_CHILDREN",
                "confMAX_MESSAGE_SIZE",
                "confMIN_FREE_BLOCKS",
                "confPID_FILE",
                "confPRIVACY_FLAGS",
                "confRECEIVED_HEADER",
                "confSERVER_CERT",
                "confSERVER_KEY",
                "confSMTP_LOGIN_MSG",
                "confTO_COMMAND",
                "confTO_QUEUERETURN",
                "confTO_QUEUEWARN",
            )
        ),
    }
)
# What the vendors install, by lookup ``mc_ostype`` (Debian's sendmail.mc from its package, 12
# and 13; Red Hat's default sendmail.mc): the server role replaces these on purpose.
VENDOR = {
    "debian": frozenset(
        {
            "define(_USE_ETC_MAIL_)",
            "undefine(confHOST_STATUS_DIRECTORY)",
            "FEATURE(no_default_msa)",
            "DAEMON_OPTIONS",
            "define(confPRIVACY_FLAGS)",
            "define(confCONNECTION_RATE_THROTTLE)",
            "define(confCONNECTION_RATE_WINDOW_SIZE)",
            "FEATURE(use_cw_file)",
            "FEATURE(access_db)",
            "FEATURE(greet_pause)",
            "FEATURE(delay_checks)",
            "define(confBAD_RCPT_THROTTLE)",
            "FEATURE(conncontrol)",
            "FEATURE(ratecontrol)",
            "include(/etc/mail/m4/dialup.m4)",
            "include(/etc/mail/m4/provider.m4)",
            "MAILER(local)",
            "MAILER(smtp)",
        }
    ),
    "linux": frozenset(
        {
            "define(confDEF_USER_ID)",
            "define(confTO_CONNECT)",
            "define(confTRY_NULL_MX_LIST)",
            "define(confDONT_PROBE_INTERFACES)",
            "define(PROCMAIL_MAILER_PATH)",
            "define(ALIAS_FILE)",
            "define(STATUS_FILE)",
            "define(UUCP_MAILER_MAX)",
            "define(confUSERDB_SPEC)",
            "define(confPRIVACY_FLAGS)",
            "define(confAUTH_OPTIONS)",
            "define(confTO_IDENT)",
            "undefine(UUCP_RELAY)",
            "undefine(BITNET_RELAY)",
            "FEATURE(no_default_msa)",
            "FEATURE(smrsh)",
            "FEATURE(redirect)",
            "FEATURE(always_add_domain)",
            "FEATURE(use_cw_file)",
            "FEATURE(use_ct_file)",
            "FEATURE(local_procmail)",
            "FEATURE(access_db)",
            "FEATURE(blocklist_recipients)",
            "FEATURE(blacklist_recipients)",
            "FEATURE(accept_unresolvable_domains)",
            "EXPOSED_USER(root)",
            "DAEMON_OPTIONS",
            "LOCAL_DOMAIN(localhost.localdomain)",
            "MAILER(smtp)",
            "MAILER(procmail)",
            # Red Hat's also reads mailertable and virtusertable: counted only when their maps
            # hold entries (see _vendor_map_in_use).
            "FEATURE(mailertable)",
            "FEATURE(virtusertable)",
        }
    ),
}
# Vendor FEATUREs that read a map a site fills: dropping one drops its entries.
_MAP_FEATURES = ("mailertable", "virtusertable", "genericstable", "domaintable", "access_db")


def constructs(text):
    """
    The constructs of an .mc text, in order: ``(key, line)`` with ``key`` the macro and its first
    argument (``FEATURE(mailertable)``), or the macro alone (``LOCAL_RULESETS``,
    ``DAEMON_OPTIONS``). Comments (``dnl``, ``#``) and plain text are skipped.
    """
    found = []
    for line in (text or "").splitlines():
        match = _CONSTRUCT.match(line)
        if not match:
            continue
        macro, rest = match.groups()
        if macro == "include" and rest is not None and rest.rstrip("')dnl ").endswith("/m4/cf.m4"):
            key = "include(cf.m4)"  # every .mc starts with it, wherever the vendor keeps it
        elif macro in MACROS and rest is not None:
            key = macro if macro in _WHOLE else f"{macro}({_FIRST_ARG.match(rest).group(1).strip()})"
            zone = _BLOCKLIST.match(rest)
            if macro == "FEATURE" and zone:  # one key per blocklist: FEATURE(enhdnsbl, ZONE)
                key = f"FEATURE({zone.group(1)}, {zone.group(2).strip()})"
        elif macro.startswith("LOCAL_") and macro not in MACROS:
            key = macro  # LOCAL_CONFIG, LOCAL_RULESETS, LOCAL_RULE_0...: a section of rules
        else:
            continue
        found.append((key, line.strip()))
    return found


def ours(text):
    """Whether this package wrote the .mc ``text``."""
    return MARKER in (text or "")


def map_entries(line):
    """
    ``{key: value}`` of the text map a FEATURE line names (``hash -o /etc/mail/mailertable.db``,
    its source beside it; Debian's access map without a path, /etc/mail/access), {} when unread.
    """
    paths = [word for word in re.split(r"[\s`',()]+", line) if word.startswith("/")]
    for path in paths:
        text = files.read_text(path[:-3] if path.endswith(".db") else path)
        if text is not None:
            return entries_of(text)
    return {}


def entries_of(text):
    """``{key: value}`` of a map's source text (comments and blank lines skipped)."""
    entries = {}
    for entry in text.splitlines():
        if entry.strip() and not entry.startswith("#"):
            key, _, value = entry.strip().partition("\t" if "\t" in entry else " ")
            entries[key.strip()] = value.strip()
    return entries


def _map_name(key):
    name = key[len("FEATURE(") : -1] if key.startswith("FEATURE(") else None
    return name if name in _MAP_FEATURES else None


def _vendor_map_in_use(key, line):
    return _map_name(key) is not None and len(map_entries(line)) > 0


# Access entries about loopback (Connect:127 RELAY, ClientRate:IPv6:::1 0...): every relay of this
# package lets loopback relay, unlimited, anyway.
_LOOPBACK = ("localhost", "localhost.localdomain", "127", "127.0.0.1", "IPv6:::1")


def _entries_lost(key, line, new_maps):
    """The entries of the old map ``line`` names that the new map (``new_maps``) lacks or changes."""
    name = _map_name(key)
    if name is None:
        return []
    new = {} if new_maps is None else new_maps.get(name) or {}
    old = map_entries(line)
    return sorted(k for k, v in old.items() if new.get(k) != v and k.partition(":")[2] not in _LOOPBACK)


def dropped(old_text, server_keys, ostype, new_maps=None):
    """
    What replacing the .mc ``old_text`` with the server role's drops: its constructs that are
    neither the vendor's (``ostype``: lookup ``mc_ostype``) nor among ``server_keys`` (the keys
    the package's server .mc can write: :data:`SERVER_KEYS`; or those of the .mc about to be
    written). With ``new_maps`` (map FEATURE name: the new map's entries), a map the new .mc
    keeps is listed with the old entries it would lose. Empty for a file this package wrote, or
    none at all. Each entry is the construct's first line as the file has it.
    """
    if not old_text or ours(old_text):
        return []
    vendor = VENDOR.get(ostype, frozenset())
    lost = []
    for key, line in constructs(old_text):
        if key == "include(cf.m4)" or (key in vendor and not _vendor_map_in_use(key, line)):
            continue
        lost_entries = _entries_lost(key, line, new_maps) if key in server_keys else []
        if key in server_keys and not lost_entries:
            continue
        if lost_entries:
            lost_entries = f" (entries the pillar does not give: {', '.join(lost_entries)})"
        shown = files.shown(line + (lost_entries or ""))  # for Salt's output: a Latin-1 byte as U+FFFD
        if shown not in lost:
            lost.append(shown)
    return lost


def for_host(mc_path, ostype, server_keys=SERVER_KEYS):
    """:func:`dropped` for the installed .mc at ``mc_path`` (none when it is missing)."""
    return dropped(files.read_text(mc_path) if mc_path else None, server_keys, ostype)
