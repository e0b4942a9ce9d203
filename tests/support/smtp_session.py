"""
One SMTP session from inside a network namespace (another "host" of the test network), with
Python's smtplib: ``session(netns, server, steps)`` returns ``[step, code, text]`` for each step.

Steps: ``[command, argument]`` sent as they are, except ``DATA`` (the argument is the message),
``STARTTLS`` (the argument is the CA file the server's certificate must verify against; EHLO is
sent again after it, recorded as ``EHLO-TLS``) and ``AUTH`` (the argument is ``[user, password]``,
logged in with the best mechanism both sides have).
"""

import json
import subprocess
import sys

CLIENT = r"""
import json, smtplib, ssl, sys
server, helo, steps = json.loads(sys.argv[1])
smtp = smtplib.SMTP(local_hostname=helo, timeout=20)
def text(raw):
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
code, reply = smtp.connect(server, 25)
smtp._host = server  # what STARTTLS checks the certificate's names against (connect does not set it)
said = [["connect", code, text(reply)]]
code, reply = smtp.ehlo()  # the relay wants a greeting before MAIL (goaway: needmailhelo)
said.append(["EHLO", code, text(reply)])
for command, argument in steps:
    if command == "DATA":
        code, reply = smtp.data(argument)
    elif command == "STARTTLS":
        code, reply = smtp.starttls(context=ssl.create_default_context(cafile=argument))
        said.append(["STARTTLS", code, text(reply)])
        command, argument, (code, reply) = "EHLO-TLS", "", smtp.ehlo()
    elif command == "AUTH":
        try:
            code, reply = smtp.login(*argument)
        except smtplib.SMTPAuthenticationError as err:
            code, reply = err.smtp_code, err.smtp_error
        except smtplib.SMTPNotSupportedError as err:
            code, reply = 0, str(err)
        argument = ""  # never recorded
    else:
        code, reply = smtp.docmd(command, argument)
    said.append([f"{command} {argument}".strip()[:40], code, text(reply)])
smtp.quit()
print(json.dumps(said))
"""


def session(netns, server, steps):
    """Run one session from ``netns`` (named smt-*NN*: the client says EHLO hostNN.example.test)."""
    argument = json.dumps([server, f"host{netns[-2:]}.example.test", steps])
    proc = subprocess.run(
        ["ip", "netns", "exec", netns, sys.executable, "-c", CLIENT, argument],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)
