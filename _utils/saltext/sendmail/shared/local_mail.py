"""
Where mail to a local name goes: the site's aliases on its relays (``NAME@DOMAIN`` through a
virtusertable, the relay's own ``NAME`` through the aliases file), and, for status, the address
root's mail becomes on this host and the host it is handed to.

Not Salt's ``aliases`` module: it rewrites the aliases file in place one entry per call and runs
newaliases after each, so a bad entry cannot be refused before the live file changes, nor rolled
back with the cfs. Here the whole new file is built by sendmail into a scratch map first.
"""

import os

from salt.exceptions import SaltInvocationError

from . import allowlist, errors, files, hash_maps, platform, relay_maps, steps

VIRTUSER_NAME = "salt-virtusers"
DEFAULT_ALIASES = "/etc/aliases"


def virtuser_map(lookup):
    """The virtusertable (without ``.db``): ``virtuser_map``, else salt-virtusers beside sendmail.cf."""
    return platform.beside_cf(lookup, "virtuser_map", VIRTUSER_NAME)


def aliases_file(lookup):
    """
    The aliases file a server's cf names (``aliases_file`` in the lookup: the vendor's, which the
    server .mc defines) as ``(the file to edit, the path sendmail is given)``: Debian's
    /etc/mail/aliases is a link to /etc/aliases, which is the file to edit. Taken from the lookup,
    never from the installed cf, so that what a rollback may restore does not change with the cf.
    """
    path = lookup.get("aliases_file") or DEFAULT_ALIASES
    return os.path.realpath(path), path


def managed(lookup):
    """The files :func:`install` writes: the aliases file (through its links), the virtusertable."""
    return [aliases_file(lookup)[0], virtuser_map(lookup)]


def _entry_name(line):
    """The name an aliases line starts an entry for, or None (blank, comment or continuation)."""
    if line[:1] in ("", "#", " ", "\t") or ":" not in line:
        return None
    return line.partition(":")[0].strip().lower()


def parse_aliases(text):
    """``{name: targets text}`` of an aliases file (continuation lines joined; comments skipped)."""
    found, current = {}, None
    for line in (text or "").splitlines():
        if line[:1] in (" ", "\t") and current is not None:
            found[current] += " " + line.strip()
            continue
        current = _entry_name(line)
        if current is not None:
            found[current] = line.partition(":")[2].strip()
    return found


def aliases_text(text, wanted):
    """
    ``text`` (an aliases file) with each name of ``wanted`` (``{name: [targets]}``) set: its line
    replaced where it is (continuation lines with it), appended otherwise. Every other line stays,
    and a file that already says it all is returned as it is.
    """
    current = parse_aliases(text)
    if all(current.get(name) == ", ".join(targets) for name, targets in wanted.items()):
        return text or ""
    lines, skipping, placed = [], False, set()
    # Split on newlines only: every other byte of a line the site does not name stays as it was.
    for line in text.removesuffix("\n").split("\n") if text else ():
        if skipping and line[:1] in (" ", "\t"):
            continue
        skipping = False
        name = _entry_name(line)
        if name in wanted:
            if name not in placed:
                lines.append(f"{name}: {', '.join(wanted[name])}")
                placed.add(name)
            skipping = True
            continue
        lines.append(line)
    added = {name: targets for name, targets in wanted.items() if name not in placed}
    lines.extend(f"{name}: {', '.join(targets)}" for name, targets in added.items())
    return "\n".join(lines) + "\n" if lines else ""


def virtuser_text(wanted, domain, virtusers=None):
    """
    The virtusertable source: ``NAME@DOMAIN<TAB>target`` per alias name (a list goes to its
    first), and the site's own ``virtusers`` entries (:mod:`relay_maps`), sorted. An entry of
    both is refused, naming it.
    """
    entries = dict(virtusers or {})
    for name, targets in wanted.items() if domain else ():
        key = f"{name}@{domain}"
        if key in entries:
            raise SaltInvocationError(
                f"virtusertable:{key}: the alias {name} of {domain} sets it too: keep one of them"
            )
        entries[key] = targets[0]
    return "".join(f"{key}\t{value}\n" for key, value in sorted(entries.items()))


def apply(lookup, names, domain, run, test, virtusers=None):
    """
    ``sendmail.aliases``: the values checked, :func:`plan`, then :func:`install` unless ``test``:
    ``changed``, ``files`` and ``in_place`` (the files written in place: mount points of their own).
    """
    wanted = allowlist.aliases(names, "aliases", domain)
    domain = None if domain is None else allowlist.masquerade_domain(domain, "domain")
    virtusers = relay_maps.entries(virtusers, "virtusertable", "virtusertable")
    planned, in_place = steps.plan_then_write(
        "could not set the aliases",
        lambda: plan(lookup, wanted, domain, virtusers),
        lambda planned: planned["writes"],
        lambda planned: install(lookup, planned["writes"], run),
        test,
    )
    return {"changed": bool(planned["writes"]), "files": planned["files"], "in_place": in_place or []}


def plan(lookup, wanted, domain, virtusers=None):
    """
    What setting the site's aliases changes: ``writes`` (path: new text) and ``files`` (per path,
    per name, ``old`` and ``new`` targets). Entries the site does not name are kept.
    """
    real_aliases, _ = aliases_file(lookup)
    texts = {
        real_aliases: aliases_text(files.read_text(real_aliases), wanted),
        virtuser_map(lookup): virtuser_text(wanted, domain, virtusers),
    }
    writes, changed = {}, {}
    for path, new in texts.items():
        old = files.read_text(path)
        if (old or "") == new and (new == "" or old is not None):
            continue
        writes[path] = new
        before, after = parse_aliases(old), parse_aliases(new)
        if path != real_aliases:
            before, after = _virtusers(old), _virtusers(new)
        changed[path] = {
            name: {"old": files.shown(before.get(name)), "new": after.get(name)}
            for name in sorted(set(before) | set(after))
            if before.get(name) != after.get(name)
        }
    return {"writes": writes, "files": changed}


def _virtusers(text):
    return dict(line.split("\t", 1) for line in (text or "").splitlines() if "\t" in line)


def install(lookup, writes, run):
    """
    Write the planned files once sendmail took every one of them: the aliases file built into a
    scratch map beside it (``sendmail -bi`` with that AliasFile), the virtusertable built by
    makemap beside it. Only then is each renamed into place (the old one kept as ``.bak``) with
    its map; a refusal leaves every live file as it was. Returns the paths written in place
    (mount points of their own, see :func:`files.install`).
    """
    real_aliases, alias_option = aliases_file(lookup)
    temps, in_place = {}, []
    try:
        for path, text in writes.items():
            temps[path] = files.write_temp(path, text)
            if path == real_aliases:
                _newaliases(lookup, run, temps[path])
            else:
                hash_maps.build(lookup, run, temps[path], text, live=path)
        for path, tmp in temps.items():
            if path != real_aliases:
                files.install(tmp + ".db", path + ".db", backup=False)
            if files.install(tmp, path):
                in_place.append(path)
    finally:
        for tmp in temps.values():
            files.discard(tmp, tmp + ".db")
    if real_aliases in writes:
        _newaliases(lookup, run, alias_option)
    return in_place


def rebuild(lookup, paths, run):
    """Rebuild the live map of each of ``paths`` that is the aliases file or the virtusertable."""
    real_aliases, alias_option = aliases_file(lookup)
    for path in paths:
        if path == real_aliases:
            _newaliases(lookup, run, alias_option)
        elif path == virtuser_map(lookup):
            hash_maps.build(lookup, run, path, files.read_text(path) or "")


def _newaliases(lookup, run, alias_path):
    errors.run_checked(
        run,
        [lookup["sendmail_bin"], "-C", lookup["sendmail_cf"], "-bi", f"-OAliasFile={alias_path}"],
        "newaliases",
        timeout=int(lookup["validate_timeout"]),
    )


def root_route(report, cfs, aliases_now):
    """
    Where root's mail goes from this host (``report``: the status so far): ``address`` (what a
    bare ``root`` becomes), ``handed_to`` (the relay, or ``this host``), ``masquerade`` (the
    domain it leaves from, if any), ``alias`` (this host's aliases entry for root, when it
    delivers itself; ``aliases_now`` is the aliases file's text) and ``returns_here``: the
    address names this host, yet another host gets it, so it comes back to this one.
    """
    relay_facts = report["relay"]
    hostname = report["hostname"]
    if report["msp_split"] and cfs["submit_cf"]["exists"]:
        relay, local = relay_facts["msp"], relay_facts["msp_local"]
        masquerade = None if local else cfs["submit_cf"]["macros"].get("M") or None
        address = f"root@{masquerade or hostname}"
    elif relay_facts["mail_hub"] or relay_facts["mta"]:
        # A nullclient (before 8.12): a local name goes to the hub as the hub's own (nullclient.m4).
        relay, local = relay_facts["mail_hub"] or relay_facts["mta"], False
        masquerade = cfs["sendmail_cf"]["macros"].get("M") or None
        address = (
            f"root@{relay_facts['mail_hub']}"
            if relay_facts["mail_hub"]
            else f"root@{masquerade or hostname}"
        )
    else:
        relay, local, masquerade, address = None, True, None, f"root@{hostname}"
    if local:
        masquerade = cfs["sendmail_cf"]["macros"].get("M") or None
    return {
        "address": address,
        "handed_to": "this host" if local else relay,
        "masquerade": masquerade,
        "alias": parse_aliases(aliases_now).get("root") if local else None,
        "returns_here": not local and address == f"root@{hostname}",
    }
