"""
pytest-salt-factories' event listener, whose server thread cannot keep pytest from exiting.

Its server thread is not a daemon thread, and it can outlive stop(): the autouse
``_restart_event_listener`` restarts a server that stopped (``Thread-3`` in a py-spy dump of a run
that hung after its summary line, both in a whole run of Salt 3008's line and in a run of
tests/unit), and the restarted loop can wait forever (on the old server of a closed loop, or on a
running flag set again after stop() cleared it). Python waits for every non-daemon thread before
it exits, so pytest hung after printing its summary. Here the server thread is started from a
daemon thread, whose daemon status it inherits: stop() still stops it, and a stray one no longer
holds the process.
"""

import threading

from saltfactories.plugins.event_listener import EventListener


class Listener(EventListener):
    def start_server(self):
        starter = threading.Thread(
            target=super().start_server, name="event-listener-starter", daemon=True
        )
        starter.start()
        starter.join()
