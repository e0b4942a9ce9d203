"""
The vendors' daemon switches: Debian's /etc/mail/sendmail.conf, Red Hat's /etc/sysconfig/sendmail,
Solaris' /etc/default/sendmail and FreeBSD's rc.conf. Read as sh would read them, and edited in place
(comments, order and every other line kept), with the values each role needs.
"""

import re
import shlex

from salt.exceptions import CommandExecutionError, SaltInvocationError

from . import allowlist, errors, files, platform, service_manager, steps

# How each vendor's file writes a value.
STYLES = {"debian": '{key}="{value}";', "redhat": "{key}={value}"}
_DEFAULT_STYLE = '{key}="{value}"'
# The keys status reports per kind of file (FreeBSD: every sendmail* key; unknown kinds: all).
_REPORTED = {
    "debian": (
        *("DAEMON_MODE", "DAEMON_PARMS", "QUEUE_MODE", "QUEUE_INTERVAL"),
        *("MSP_MODE", "MSP_INTERVAL", "HANDS_OFF"),
    ),
    "redhat": ("DAEMON", "QUEUE", "SMQUEUE"),
    "solaris": ("MODE", "QUEUEINTERVAL", "QUEUEOPTION", "CLIENTQUEUEINTERVAL", "CLIENTOPTIONS"),
}


def parse_shell_vars(text):
    """
    Read ``KEY="value"`` assignments the way sh would for the plain files vendors use, expanding
    ``${KEY}`` from earlier assignments. Commands, conditionals and functions are not run: they
    are skipped.
    """
    values = {}
    pattern = re.compile(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)")
    for text_line in text.splitlines():
        match = pattern.fullmatch(text_line)
        if not match:
            continue
        name, rest = match.groups()
        try:
            words = shlex.split(rest.rstrip().rstrip(";"), comments=True)
        except ValueError:
            continue
        value = words[0] if words else ""
        values[name] = re.sub(
            r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda ref: values.get(ref.group(1), ""), value
        )
    return values


def set_shell_vars(text, values, style=_DEFAULT_STYLE):
    """
    ``text`` with each ``KEY=...`` assignment of ``values`` replaced in place (every uncommented
    occurrence, so that no later line overrides it) and the missing ones appended. Comments, order
    and every other line stay as they are. Values must already be checked (no quotes or newlines).
    """
    lines = text.splitlines() if text else []
    seen = set()
    for number, text_line in enumerate(lines):
        match = re.match(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=", text_line)
        if match and match.group(1) in values:
            key = match.group(1)
            lines[number] = style.format(key=key, value=values[key])
            seen.add(key)
    lines.extend(style.format(key=key, value=value) for key, value in values.items() if key not in seen)
    return "\n".join(lines) + "\n"


def role_values(kind, role, queue_interval, msp_interval, msp_runner):
    """
    The variables a vendor switch file must hold for ``role``. A client's MTA is off (its queue, if
    not empty, is run by cron); the MSP queue keeps the vendor's runner unless ``msp_runner`` is
    ``cron``. FreeBSD's ``NONE`` is never used: it stops the MSP runner too.
    """
    client = role == "client"
    msp_daemon = msp_runner == "daemon"
    if kind == "debian":
        values = {"DAEMON_MODE": "None" if client else "Daemon"}
        values["QUEUE_MODE"] = "None" if client else "Daemon"
        if not client:
            values["QUEUE_INTERVAL"] = queue_interval
        values["MSP_MODE"] = "Daemon" if msp_daemon else "None"
        values["MSP_INTERVAL"] = msp_interval
        return values
    if kind == "redhat":
        # The init scripts honour these; the systemd units do not (see service_manager.actions).
        return {"DAEMON": "no" if client else "yes", "QUEUE": queue_interval, "SMQUEUE": msp_interval}
    if kind == "solaris":
        return {
            "MODE": "" if client else "-bd",
            "QUEUEINTERVAL": queue_interval,
            "CLIENTQUEUEINTERVAL": msp_interval,
        }
    if kind == "freebsd":
        return {
            "sendmail_enable": "NO" if client else "YES",
            "sendmail_submit_enable": "NO",
            "sendmail_outbound_enable": "NO",
            "sendmail_flags": f"-L sm-mta -bd -q{queue_interval}",
            "sendmail_msp_queue_enable": "YES" if msp_daemon else "NO",
            "sendmail_msp_queue_flags": f"-L sm-msp-queue -Ac -q{msp_interval}",
        }
    raise SaltInvocationError(f"no daemon switch is known for {kind!r} files")


def differs(kind, key, current, wanted):
    """Whether ``current`` must become ``wanted`` (Debian's modes, FreeBSD's YES/NO: any case)."""
    if current is None:
        return True
    if kind == "debian" and key.endswith("_MODE"):
        return current.lower() != wanted.lower()
    if kind == "freebsd" and key.endswith("_enable"):
        return current.upper() != wanted.upper()
    return current != wanted


def _read(file_list):
    """The texts of a switch's files and the values sh would end with after reading them in order."""
    texts = {path: files.read_text(path) for path in file_list}
    return texts, parse_shell_vars("\n".join(text for text in texts.values() if text))


def facts(lookup):
    """The vendor daemon switches found on this host, per kind of switch file."""
    found = {}
    for kind, file_list in platform.switch_files(lookup).items():
        texts, values = _read(file_list)
        entry = {"files": [path for path, text in texts.items() if text is not None]}
        if kind in _REPORTED:
            entry.update({key: values.get(key) for key in _REPORTED[kind]})
        if kind == "redhat":
            # Red Hat's units ignore DAEMON=no: whether they start at boot is the real switch.
            entry["units"] = {
                unit: service_manager.unit_enabled(lookup["systemd_dir"], unit)
                for unit in ("sendmail.service", "sm-client.service")
            }
        elif kind == "freebsd":
            entry.update({key: value for key, value in values.items() if key.startswith("sendmail")})
        else:
            entry.update(values)
        found[kind] = entry
    return found


def run(lookup, role, intervals, msp_runner, run_cmd, test):
    """
    ``sendmail.switch``: check the values, :func:`plan`, then :func:`apply` unless ``test``.
    ``intervals`` are the queue's and the MSP's. Returns ``role``, ``changed`` and ``files``.
    """
    allowlist.role(role)
    allowlist.msp_runner(msp_runner)
    queue_interval, msp_interval = intervals
    allowlist.interval(queue_interval, "queue_interval")
    allowlist.interval(msp_interval, "msp_interval")
    edits, _ = steps.plan_then_write(
        f"could not set the {role} switch",
        lambda: plan(lookup, role, queue_interval, msp_interval, msp_runner),
        lambda edits: edits,
        lambda edits: apply(lookup, edits, role, run_cmd),
        test,
    )
    changes = {e["path"]: e["changes"] for e in edits}
    return {"role": role, "changed": bool(edits), "files": files.shown_data(changes)}


def plan(lookup, role, queue_interval, msp_interval, msp_runner):
    """For each switch file to edit: its path, old text, new text and the changed values."""
    edits = []
    for kind, file_list in platform.switch_files(lookup).items():
        wanted = role_values(kind, role, queue_interval, msp_interval, msp_runner)
        texts, current = _read(file_list)
        if kind == "debian" and (current.get("HANDS_OFF") or "no").lower() not in ("no", "0", ""):
            raise CommandExecutionError(
                f"{file_list[0]} says HANDS_OFF: its owner runs sendmail by hand; not changing it"
            )
        changed = {
            key: {"old": current.get(key), "new": value}
            for key, value in wanted.items()
            if differs(kind, key, current.get(key), value)
        }
        if not changed:
            continue
        # FreeBSD's /etc/defaults/rc.conf is the vendor's: edit the files that set a key, else the
        # first file after it (rc.conf).
        writable = file_list[1:] if kind == "freebsd" else file_list
        for path in writable:
            text = texts[path]
            primary = path == writable[0]
            keys = [key for key in changed if primary or key in parse_shell_vars(text or "")]
            if not keys or (text is None and not primary):
                continue
            new_text = set_shell_vars(
                text or "", {key: wanted[key] for key in keys}, STYLES.get(kind, _DEFAULT_STYLE)
            )
            edits.append(
                {
                    "kind": kind,
                    "path": path,
                    "old": text,
                    "new": new_text,
                    "changes": {key: changed[key] for key in keys},
                }
            )
    return edits


def apply_command(lookup, written):
    """
    The command that applies a written switch file, or None: Debian's update_conf, which rewrites
    /etc/cron.d/sendmail from sendmail.conf.
    """
    debian = platform.switch_files(lookup).get("debian", [])
    if lookup["debian_update_conf"] and any(path in written for path in debian):
        return [lookup["debian_update_conf"]]
    return None


def write(lookup, texts, run):
    """Replace files (path: text, or None to remove), then apply a switch file among them."""
    files.replace_all(texts)
    command = apply_command(lookup, texts)
    if command:
        errors.run_checked(run, command, "Debian's update_conf")


def apply(lookup, edits, role, run):
    """
    Write the ``edits`` of :func:`plan`, atomically each, then run the vendor's tool; if any of it
    fails, the old files are written back (and the tool run again) before the error is raised.
    """
    try:
        with errors.os_errors(f"could not set the {role} switch"):
            write(lookup, {edit["path"]: edit["new"] for edit in edits}, run)
    except CommandExecutionError as err:
        try:
            with errors.os_errors("could not put the old switch files back"):
                write(lookup, {edit["path"]: edit["old"] for edit in edits}, run)
        except CommandExecutionError as undo_err:
            raise CommandExecutionError(f"{err}; {undo_err}") from err
        raise CommandExecutionError(f"{err} (the old switch files are back)") from err
