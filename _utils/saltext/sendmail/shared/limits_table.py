"""
The limits a site's pillar may set (``sendmail:sites:<site>:limits``), each in one row: its default
and how sendmail reads it. A server gets every limit; a client only the queue timeouts. The value
checks (allowlist.py), the schema, the .mc (mc.py), the built cf read back (build.py) and the access
map (flood.py) all read these rows.
"""

# A server's limits, sized for a relay: 25 MiB messages (the size most providers accept), at most
# 10 new connections a second and 40 concurrent SMTP children (sendmail's own defaults:
# unlimited); new mail refused (452, the sender retries) below 25600 free blocks of the queue's
# disk (100 MiB of 4 KiB; sendmail's default is 100 blocks); per outside address at most 10
# connections at once and 30 a minute (the excess gets 421), a 1000 ms greet pause; idle
# connections closed after 300 s (sendmail's default: an hour). The site's networks are exempt.
# Each row has its ``doc`` (the pillar reference) and is written one way: "cf" (the .mc macro, the
# cf option it becomes, the unit after the number), "access" (an access map key, flood.py) or
# "feature" (an .mc FEATURE, flood.py).
SERVER = {
    "max_message_size": {
        "doc": "bytes of the largest message accepted",
        "default": 26214400,
        "cf": ("confMAX_MESSAGE_SIZE", "MaxMessageSize", ""),
    },
    "connection_rate_throttle": {
        "doc": "new connections accepted a second",
        "default": 10,
        "cf": ("confCONNECTION_RATE_THROTTLE", "ConnectionRateThrottle", ""),
    },
    "max_daemon_children": {
        "doc": "SMTP children at once",
        "default": 40,
        "cf": ("confMAX_DAEMON_CHILDREN", "MaxDaemonChildren", ""),
    },
    "min_free_blocks": {
        "doc": "free blocks of the queue's disk below which new mail gets 452",
        "default": 25600,
        "cf": ("confMIN_FREE_BLOCKS", "MinFreeBlocks", ""),
    },
    "client_connections": {
        "doc": "connections at once per outside address (the excess gets 421)",
        "default": 10,
        "access": "ClientConn",
    },
    "client_rate": {
        "doc": "connections a minute per outside address (the excess gets 421)",
        "default": 30,
        "access": "ClientRate",
    },
    "greet_pause": {
        "doc": "milliseconds a client must wait for the greeting",
        "default": 1000,
        "feature": "greet_pause",
    },
    "idle_timeout": {
        "doc": "seconds before an idle connection is closed",
        "default": 300,
        "cf": ("confTO_COMMAND", "Timeout.command", "s"),
    },
}

# How long mail may wait in any host's queues, before its sender is warned and before it bounces:
# sendmail durations, unset by default (sendmail's own 4h and 5d).
QUEUE = {
    "queue_warn": {
        "doc": "how long mail waits before its sender is warned (sendmail: 4h)",
        "default": None,
        "cf": ("confTO_QUEUEWARN", "Timeout.queuewarn", ""),
    },
    "queue_return": {
        "doc": "how long mail waits before it bounces (sendmail: 5d)",
        "default": None,
        "cf": ("confTO_QUEUERETURN", "Timeout.queuereturn", ""),
    },
}

SERVER_DEFAULTS = {name: row["default"] for name, row in SERVER.items()}
QUEUE_DEFAULTS = {name: row["default"] for name, row in QUEUE.items()}
# name: access map key of the limits that are access map entries.
ACCESS_ENTRIES = {name: row["access"] for name, row in SERVER.items() if "access" in row}


def cf_options(rows):
    """``{name: (macro, option, unit)}`` of the limits among ``rows`` that are cf options."""
    return {name: row["cf"] for name, row in rows.items() if "cf" in row}
