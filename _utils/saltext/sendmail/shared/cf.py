"""
sendmail.cf and submit.cf as sendmail reads them: macros, options, mailers, the lines readcf() would
stop on, and what they say about where mail goes (the relay facts of a status report).
"""

import re

from . import files, relays

# First characters of the lines readcf() accepts; anything else is "unknown configuration line".
_LINE_COMMANDS = frozenset("#\t CDEFHKLMOPQRSTVX")


def parse(text):
    """
    Read a cf: macros (``D`` lines), options (``O`` lines; ``all_options`` keeps a repeated one as a
    list), headers (``H`` lines, continuation lines joined), mailers' ``A=`` argv, the macros
    defined twice, and the problems readcf() would stop on.
    """
    macros, options, mailers, headers, problems, repeated = {}, {}, {}, {}, [], set()
    current_mailer = current_header = None
    for number, line in enumerate(text.splitlines(), 1):
        if not line:
            continue
        head = line[0]
        if head not in _LINE_COMMANDS:
            problems.append(f"line {number}: unknown configuration line {line[:40]!r}")
            continue
        if head in "\t ":
            if current_mailer is not None:
                mailers[current_mailer] += " " + line.strip()
            elif current_header is not None:
                headers[current_header] += " " + line.strip()
            continue
        current_mailer = current_header = None
        if head == "D" and len(line) > 1:
            if line[1] == "{":
                name, _, value = line[2:].partition("}")
            else:
                name, value = line[1], line[2:]
            if name in macros:
                repeated.add(name)
            macros[name] = value
        elif head == "O":
            name, _, value = line[1:].strip().partition("=")
            options.setdefault(name.strip(), []).append(value.strip())
        elif head == "H":
            # "H?P?Return-Path: <$g>": optional ?flags? then the name.
            name, _, value = re.sub(r"^H(\?[^?]*\?)?", "", line).partition(":")
            headers[name.strip()] = value.strip()
            current_header = name.strip()
        elif head == "M":
            name = line[1:].split(",", 1)[0].strip()
            mailers[name] = line
            current_mailer = name
    if "local" not in mailers:
        problems.append("No local mailer defined")
    mailer_args = {}
    for name, definition in mailers.items():
        match = re.search(r"\bA=(.*?)\s*(?:,\s*[A-Z]=|$)", definition)
        mailer_args[name] = match.group(1).split() if match else []
    return {
        "macros": macros,
        "options": {name: values[-1] for name, values in options.items()},
        "all_options": options,
        "mailer_args": mailer_args,
        "headers": headers,
        "repeated_macros": sorted(repeated),
        "problems": problems,
    }


def load(path):
    """Parse one cf file; a missing, unreadable or empty file gives a result with its problem."""
    text = files.read_text(path)
    parsed = parse(text or "")
    if text is None:
        parsed["problems"] = ["missing or unreadable"]
    elif not text.strip():
        parsed["problems"] = ["empty"]
    parsed["path"] = path
    parsed["exists"] = text is not None
    return parsed


def load_both(lookup):
    """sendmail.cf and submit.cf, keyed by their lookup names."""
    return {name: load(lookup[name]) for name in ("sendmail_cf", "submit_cf")}


def relay_port(mailer_args, default=25):
    """The port in a mailer's ``A=TCP $h 587`` argv, else ``default``."""
    if len(mailer_args) >= 3 and mailer_args[0] == "TCP" and mailer_args[2].isdigit():
        return int(mailer_args[2])
    return default


def relay_facts(cfs, hostnames):
    """Where each cf sends mail: the MTA's smart host and mail hub, the MSP's host and port."""
    mta_cf, msp_cf = cfs["sendmail_cf"], cfs["submit_cf"]
    msp_host = msp_cf["macros"].get("MTAHost") or None
    return {
        "mta": mta_cf["macros"].get("S") or None,
        "mail_hub": mta_cf["macros"].get("H") or None,
        "msp": msp_host,
        "msp_port": relay_port(msp_cf["mailer_args"].get("relay", [])),
        "msp_local": msp_cf["exists"] and relays.is_local(relays.split(msp_host)[1], hostnames),
    }


def relay_configured(relay, msp_split):
    """Whether mail leaves through a relay: the MSP's (8.12 and later) or the MTA's smart host."""
    return not relay["msp_local"] if msp_split else bool(relay["mta"])


# The service names sendmail's DaemonPortOptions accept for the mail ports.
_PORT_NAMES = {"smtp": 25, "submission": 587, "smtps": 465}


def daemon_listeners(parsed):
    """
    The sockets each ``DaemonPortOptions`` line of a parsed cf asks for, by daemon name:
    ``{"MTA-v4": [{"address": "127.0.0.1", "port": 25}]}``. No ``Addr=`` means every address of
    the family (0.0.0.0 or ::); no ``Port=`` means 25.
    """
    found = {}
    for value in parsed["all_options"].get("DaemonPortOptions", []):
        fields = dict(item.strip().partition("=")[::2] for item in value.split(",") if "=" in item)
        family = fields.get("Family", "inet").strip()
        port = fields.get("Port", "smtp").strip()
        port = int(port) if port.isdigit() else _PORT_NAMES.get(port, port)
        address = fields.get("Addr", "").strip() or ("::" if family == "inet6" else "0.0.0.0")  # noqa: S104
        name = fields.get("Name", "").strip() or "Daemon0"
        found.setdefault(name, []).append({"address": address, "port": port})
    return found
