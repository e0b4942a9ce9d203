"""
The engine of a role run (``sendmail.client``, ``sendmail.server``, ``sendmail.role``): decide,
then act. Every step is an execution-module function called through the ``salt`` mapping the
state passes in (its loader mapping: ``sendmail.check_role``, ``build_cf``, ``flush``,
``cron_runner``, ``switch``, ``services``), each returning plain data that :class:`Steps` turns
into the state's changes and comment. Each step first runs with ``test=True``: every value is
checked and the whole change is known before anything is written, and test mode stops there.
The host's lock and the run's journal (:mod:`transaction`) are held here, by the run itself.
"""

import logging
import os

from salt.exceptions import CommandExecutionError, SaltInvocationError

from . import service_manager, transaction

log = logging.getLogger(__name__)
# The errors a step raises on purpose: their message says it all.
EXPECTED = (CommandExecutionError, SaltInvocationError)


def cause(err):
    """
    What went wrong, for a state's comment: a step's own error as it reads; anything else with
    its type (a ``KeyError('x')`` reads ``KeyError: 'x'``) and its traceback in the minion log.
    """
    if isinstance(err, EXPECTED):
        return str(err)
    log.error("sendmail role run: unexpected %s", type(err).__name__, exc_info=err)
    return f"{type(err).__name__}: {err} (traceback in the minion log)"


def left_alone(salt):
    """
    None when the MTA here is sendmail; else the comment of a run that leaves the host as it is
    (postfix, exim or another MTA answers as the sendmail binary: not ours to change).
    """
    found = salt["sendmail.version"]()
    if found["provider"] in ("sendmail", "none"):
        return None
    what = found["provider"] if found["provider"] != "other" else f"not sendmail ({found['binary']})"
    return f"the MTA here is {what}: left alone, nothing changed"


def builds(role, msp_split, args):
    """The configurations a role installs, as ``sendmail.build_cf`` arguments."""
    relay, port = args["relay"], args["port"]
    if role == "server":
        return [
            {
                "kind": "server",
                "relay": relay,
                "port": port,
                "relay_domains": args["relay_domains"],
                "limits": args["limits"],
                "tls": args["tls"],
                "auth": args["auth"],
                "masquerade_as": args["masquerade_as"],
                "replace_hand_made": args["replace_hand_made"],
                "features": args["features"],
            },
            # The MSP hands mail to the local MTA again (sendmail's default).
            {"kind": "msp", "relay": "[127.0.0.1]"},
        ]
    # What a client's configurations share: the hop, its domain, its queue timeouts.
    hop = {key: args[key] for key in ("tls", "auth", "masquerade_as", "limits")}
    nullclient = {"kind": "nullclient", "relay": relay, "port": port, **hop}
    if not msp_split:
        return [nullclient]
    # sendmail.cf too: what stays in the MTA queue then goes to the relay as well.
    return [{"kind": "msp", "relay": relay, "port": port, **hop}, nullclient]


def apply(salt, opts, name, role, **args):
    """
    A role run's state return. Decide, then act: every step runs first with ``test=True``,
    which checks every value, tries every build (m4 into memory) and predicts every change
    without writing anything. Test mode, a refusal and the common highstate case (nothing to
    change) end there, in one pass. Only then do the same steps run for real, in the same order;
    if any of them fails, the files read before the first one are put back and the daemons
    brought back to what ran before.
    """
    ret = {"name": name, "result": True, "changes": {}, "comment": ""}
    skipped = left_alone(salt)
    if skipped:
        ret["comment"] = skipped
        return ret
    test = bool(opts.get("test"))
    # One run at a time on a host; test mode writes nothing and takes no lock.
    run = None
    if not test:
        holder = f"pid {os.getpid()}, job {opts.get('jid') or 'salt-call'}"
        run = transaction.Run(salt["sendmail.lookup"](), holder)
    completed = False
    try:
        interrupted = run.lock() if run else None
        facts, predicted = predict(salt, role, args)
        if not predicted.changes:
            ret["comment"] = f"sendmail already plays the {role} role"
            if interrupted:
                ret["comment"] += f"; {interrupted}: nothing was left to do, its record is cleared"
            completed = True
            return ret
        if test:
            ret.update(result=None, changes=predicted.changes, comment="; ".join(predicted.said))
            return ret
        # Written before the first change: what a failure, or the run after a kill, puts back.
        journal = run.begin(role, facts["running"])
        steps = Steps(salt, test=False)
        if interrupted:
            steps.said.append(f"{interrupted}: rolled forward")
            steps.services_touched = True  # the killed run may have stopped or started daemons
        try:
            run_steps(steps, role, args, facts)
        # Any failure at all, foreseen or not, must leave the previous configuration in place.
        except Exception as err:
            ret["result"] = False
            steps.said.append(cause(err))
            completed, done = put_back(salt, steps, journal["files"], journal["running"])
            steps.said.append(done)
        else:
            completed = True
            _refresh_grains(salt, steps)
        ret.update(changes=steps.changes, comment="; ".join(steps.said))
    except Exception as err:
        said = cause(err)
        ret.update(
            result=False, comment=said if "nothing changed" in said else f"nothing changed: {said}"
        )
    finally:
        if run:
            run.finish(completed)
    return ret


def _refresh_grains(salt, steps):
    """
    The sendmail grain says what the host plays, so that -G targeting follows the change;
    refresh_grains also refreshes pillar, which sends them to the master. A failure here is said,
    not fatal: the host plays its role.
    """
    if "saltutil.refresh_grains" not in salt:
        return
    try:
        salt["saltutil.refresh_grains"]()
    except Exception as err:
        steps.said.append(f"the sendmail grain was not refreshed: {cause(err)}")


def predict(salt, role, args):
    """
    Every step with ``test=True``: the values checked, the builds tried, the change known. Returns
    the facts the real run needs and the predicted :class:`Steps`. Raises on a refusal.
    """
    problems = salt["sendmail.check_role"](
        role,
        relay=args["relay"],
        msp_runner=args["msp_runner"],
        queue_interval=args["queue_interval"],
        msp_interval=args["msp_interval"],
    )
    if problems:
        raise CommandExecutionError(f"refused, nothing changed: {'; '.join(problems)}")
    version = salt["sendmail.version"]()
    if version["provider"] != "sendmail":
        raise CommandExecutionError(
            f"no MTA is installed at {version['binary']}: install sendmail first (the formula's "
            "sendmail.package); nothing changed"
        )
    daemons = salt["sendmail.services"](role, args["msp_runner"], test=True)
    facts = {
        "msp_split": version["msp_split"],
        # The daemons as they run before anything changes (and as a failure brings them back).
        "running": daemons["running"],
        # What runs the MSP queue here: cron where the vendor's MSP unit needs the MTA.
        "msp_runner": daemons["msp_runner"],
        "mta_queued": salt["sendmail.queue"]("mta")["count"] if role == "client" else 0,
    }
    predicted = Steps(salt, test=True)
    run_steps(predicted, role, args, facts)
    return facts, predicted


def run_steps(steps, role, args, facts):
    """The steps of ``role``, in order: configurations, queue runners, vendor switch, daemons."""
    restart = False  # the daemons read a new cf or credential only when they start
    if role == "server" and args.get("dkim"):
        # OpenDKIM first: the cf names its socket (flag T: mail waits while it is not up).
        milter = steps.dkim(args["dkim"], args["relay_domains"], args["masquerade_as"])
        args = {**args, "features": with_milter(args["features"], milter)}
    for build in builds(role, facts["msp_split"], args):
        restart |= steps.build(**build)
    # After the cfs (they name these files optionally, -o), before the daemons that read them.
    restart |= steps.credentials(role, args["tls"], args["auth"])
    if role == "server":
        # After the cf (its virtusertable line names the map): the site's aliases.
        steps.aliases(
            args["aliases"], args["masquerade_as"], (args["features"] or {}).get("virtusertable")
        )
    msp_runner = facts["msp_runner"]
    msp_cron = args["msp_interval"] if msp_runner == "cron" and facts["msp_split"] else None
    steps.cron_runner("msp", msp_cron)
    if role == "client":
        keep_mta_queue(steps, args, facts, restart)
    steps.switch(role, args["queue_interval"], args["msp_interval"], msp_runner)
    steps.services(role, msp_runner, restart, facts["running"])
    if role == "server":
        # The daemon runs the MTA queue now: a cron entry left by the client role goes.
        steps.cron_runner("mta", None)


def with_milter(features, milter):
    """The relay's features with the DKIM ``milter`` first, unless the pillar names it already."""
    features = dict(features or {})
    listed = list(features.get("milters") or [])
    if not any(isinstance(item, dict) and item.get("name") == milter["name"] for item in listed):
        features["milters"] = [milter, *listed]
    return features


def keep_mta_queue(steps, args, facts, restart):
    """
    A client's MTA queue: flushed to the relay before the MTA stops (or once sendmail.cf points at
    the relay), then run by cron as long as anything is left. Before 8.12 every message goes through
    it, so its cron entry always stays.
    """
    queued = facts["mta_queued"]
    if queued and (facts["running"]["mta"] or restart):
        if steps.test:
            steps.note(
                "mta-queue",
                f"{queued} queued",
                f"flushed to the relay; what is left stays under a cron runner every "
                f"{args['queue_interval']}",
                f"would flush {queued} queued messages to the relay",
            )
            # How many stay (and so whether cron must run them) is known only after the flush.
            return
        flushed = steps.salt["sendmail.flush"]("mta", timeout=args["flush_timeout"])["mta"]
        left = len(flushed["remaining"])
        steps.note(
            "mta-queue",
            f"{queued} queued",
            f"{queued - left} sent to the relay, {left} queued",
            f"flushed the MTA queue: {queued - left} sent, {left} left under a cron runner",
        )
        queued = left
    keep = queued or not facts["msp_split"]
    steps.cron_runner("mta", args["queue_interval"] if keep else None)


def put_back(salt, steps, saved, running):
    """
    After a failed step: every managed file gets its text from before the first step back (the
    module rewrites only those that differ) and, when the services were touched, the daemons are
    brought back to what ran before. What can go back goes back: the files even when the daemons
    then fail. Returns whether it all went back, and what was done and what was not. (Flushed
    mail stays delivered; a cron runner set for a queue that holds mail stays: both are safe.)
    """
    try:
        restored = salt["sendmail.restore"](saved)
    except Exception as err:  # reported: the state has failed already
        return False, f"could not put the previous files back: {cause(err)}"
    said = [f"put the previous files back ({', '.join(restored['restored']) or 'none had changed'})"]
    complete = True
    for path in saved:
        if path not in restored["not_restored"]:
            steps.changes.pop(path, None)
    if restored["not_restored"]:
        complete = False
        left = "; ".join(f"{path}: {why}" for path, why in sorted(restored["not_restored"].items()))
        said.append(f"could not put back {left}")
    if steps.services_touched:
        old_role, old_runner = service_manager.role_of(running)
        try:
            salt["sendmail.services"](old_role, old_runner, restart=True)
            said.append("restarted the daemons as they ran before")
        except Exception as err:  # the files are back; said, the journal kept
            complete = False
            said.append(f"could not restart the daemons as they ran before: {cause(err)}")
    return complete, "; ".join(said)


class Steps:
    """
    Runs the execution-module steps with one test flag and turns what each returns (plain data)
    into the state's changes and comments.
    """

    def __init__(self, salt, test):
        self.salt, self.test = salt, test
        self.changes, self.said = {}, []
        self.services_touched = False

    def _verb(self, done, predicted):
        return predicted if self.test else done

    def build(self, **build):
        """Returns whether the cf changed: the daemons read it when they start. The access map and
        the help file alone need no restart: each SMTP connection opens them anew."""
        result = self.salt["sendmail.build_cf"](**build, test=self.test)
        cf_changed = result["cf"] in result["files"]
        if cf_changed:
            relay = f" relaying to {result['relay']}" if result["relay"] else ""
            self.said.append(
                f"{self._verb('installed', 'would install')} a {result['kind']} configuration"
                f"{relay} in {result['cf']}"
            )
        elif result["changed"]:
            self.said.append(
                f"{self._verb('wrote', 'would write')} {', '.join(sorted(result['files']))} (read by"
                " each connection: the daemons go on)"
            )
        if result["changed"]:
            self.changes.update(result["files"])
            self._said_in_place(result)
        if result.get("dropped"):  # a hand-made sendmail.mc, replaced as the pillar allows
            self.note(
                "hand-made-mc",
                result["dropped"],
                None,
                f"{self._verb('dropped', 'would drop')} from the hand-made .mc (sendmail:replace_"
                f"hand_made): {'; '.join(result['dropped'])}",
            )
        return cf_changed

    def _said_in_place(self, result):
        for path in result.get("in_place") or ():
            self.said.append(
                f"wrote {path} in place, after its .bak: it is a mount point of its own, which a "
                "rename cannot replace"
            )

    def credentials(self, role, tls, auth):
        result = self.salt["sendmail.credentials"](role, tls=tls, auth=auth, test=self.test)
        if result["changed"]:
            self.changes.update(result["files"])  # masked by the module
            self.said.append(f"{self._verb('wrote', 'would write')} {', '.join(result['files'])}")
        return result["changed"]

    def aliases(self, names, domain, virtusers=None):
        result = self.salt["sendmail.aliases"](names, domain=domain, test=self.test, virtusers=virtusers)
        if result["changed"]:
            self.changes.update(result["files"])
            self.said.append(f"{self._verb('set', 'would set')} aliases in {', '.join(result['files'])}")
            self._said_in_place(result)

    def dkim(self, dkim, relay_domains, masquerade_as):
        """OpenDKIM's keys, tables and configuration; returns the milter the relay's cf names."""
        result = self.salt["sendmail_dkim.setup"](
            dkim, relay_domains=relay_domains, masquerade_as=masquerade_as, test=self.test
        )
        if result["keys_made"]:
            self.note(
                "dkim-keys",
                None,
                result["keys_made"],
                f"{self._verb('made', 'would make')} the DKIM keys of {', '.join(result['keys_made'])}"
                " (publish their records: sendmail_dkim.keys)",
            )
        if result["files"]:
            self.changes.update(result["files"])
            written = ", ".join(sorted(result["files"]))
            self.said.append(f"{self._verb('wrote', 'would write')} {written}")
        if result.get("service"):
            self.said.append(f"{result['service']} OpenDKIM")
        return result["milter"]

    def cron_runner(self, queue, interval):
        result = self.salt["sendmail.cron_runner"](queue, interval, test=self.test)
        if result["changed"]:
            self.changes[f"cron:{result['identifier']}"] = {"old": result["old"], "new": result["new"]}
            verb = self._verb("removed", "would remove") if result["new"] is None else None
            verb = verb or self._verb("set", "would set")
            self.said.append(f"{verb} cron entry {result['identifier']}")

    def switch(self, role, queue_interval, msp_interval, msp_runner):
        result = self.salt["sendmail.switch"](
            role,
            queue_interval=queue_interval,
            msp_interval=msp_interval,
            msp_runner=msp_runner,
            test=self.test,
        )
        if result["changed"]:
            self.changes.update(result["files"])
            self.said.append(
                f"{self._verb('set', 'would set')} the {role} switch in {', '.join(result['files'])}"
            )

    def services(self, role, msp_runner, restart, running):
        self.services_touched = not self.test
        result = self.salt["sendmail.services"](role, msp_runner, restart=restart, test=self.test)
        if result["changed"]:
            self.changes["services"] = {
                "old": {"running": running, "enabled": result["enabled"]},
                "new": {"running": result["wanted"], "actions": result["actions"]},
            }
            self.said.append(f"{self._verb('ran', 'would run')} {', '.join(result['actions'])}")
        for daemon in result.get("ended", []):
            self.said.append(
                f"stopped pid {daemon['pid']} ({daemon['title']}), an MTA outside the service"
            )

    def note(self, key, old, new, comment):
        self.changes[key] = {"old": old, "new": new}
        self.said.append(comment)
