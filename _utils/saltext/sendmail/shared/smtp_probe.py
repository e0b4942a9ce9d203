"""
A relay seen from outside, as its clients see it: does it answer SMTP (a greeting, then NOOP), does
it accept a message for the site's domain (MAIL and RCPT, then RSET: nothing is sent), and how long
it did not answer while something was done to it. smtplib, the standard library's client.
"""

import smtplib
import threading
import time

# Seconds between two looks at a relay's greeting while it is watched.
WATCH_EVERY = 0.5


def _smtp(address, port, timeout, talk):
    """
    ``talk(smtp)`` -> (ok, what to say) over one SMTP connection to ``address`` (connecting reads
    the greeting); (False, why) when it fails.
    """
    try:
        with smtplib.SMTP(address, port, timeout=timeout) as smtp:
            return talk(smtp)
    except (OSError, smtplib.SMTPException) as err:
        return False, f"{address}:{port} does not answer SMTP ({err})"


def greets(address, port=25, timeout=5):
    """Whether ``address`` answers SMTP (a greeting, then NOOP); and what to say of it."""
    return _smtp(
        address, port, timeout, lambda smtp: (smtp.noop()[0] == 250, f"answers SMTP on {address}:{port}")
    )


def accepts(address, domain, port=25, timeout=10):
    """
    Whether the relay at ``address`` accepts a message for ``postmaster@domain`` (MAIL and RCPT,
    then RSET: nothing is sent). Returns (accepted, what it said).
    """

    def talk(smtp):
        smtp.ehlo_or_helo_if_needed()
        code, text = smtp.mail("<>")
        if code == 250:
            code, text = smtp.rcpt(f"<postmaster@{domain}>")
        smtp.rset()
        said = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
        verb = "accepts" if code == 250 else "refuses"
        return code == 250, f"{verb} a message for postmaster@{domain} ({code} {said})"

    return _smtp(address, port, timeout, talk)


class Watch:
    """
    Looks at a relay's greeting every ``every`` seconds (default WATCH_EVERY; within the relay's
    per-address rate limit, or it would refuse the watcher and look down); ``down`` sums the
    time it did not answer.
    """

    def __init__(self, address, port, every=WATCH_EVERY):
        self.address, self.port, self.every = address, port, every
        self.down = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            started = time.monotonic()
            answered, _ = greets(self.address, self.port, timeout=2)
            self._stop.wait(max(self.every - (time.monotonic() - started), 0))
            if not answered:
                self.down += time.monotonic() - started

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
