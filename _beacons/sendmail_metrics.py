"""
The ``sendmail_metrics`` beacon: every ``interval`` seconds it rewrites this host's Prometheus
metrics (``sendmail.metrics``) in ``sendmail.prom`` of node_exporter's textfile directory,
atomically, from inside the salt-minion: no process is started per refresh. It never fires an
event. The ``sendmail.metrics`` state (the formula's ``sendmail.metrics`` SLS) adds it as pillar's
``sendmail:metrics`` asks and saves it in the minion's beacons.conf, so it survives a restart.

.. code-block:: yaml

    beacons:
      sendmail_metrics:
        - interval: 60
        - textfile_dir: /var/lib/prometheus/node-exporter

A refresh that fails (the directory gone, the disk full) leaves the last file whole; Salt logs
the error and fires it as the beacon's error event, and the file's
``sendmail_metrics_timestamp_seconds`` stops moving, which the SendmailMetricsStale alert sees.
"""

import salt.utils.beacons

__virtualname__ = "sendmail_metrics"


def __virtual__():
    return __virtualname__


def _settings(config):
    # Salt passes a beacon's configuration as a list of one-key mappings (or one mapping).
    return salt.utils.beacons.list_to_dict(config if isinstance(config, list) else [config])


def validate(config):
    """Refuse unknown settings, a bad ``textfile_dir`` and a missing or bad ``interval``."""
    # One place knows every setting, and how Salt passes them: the execution module's schema.
    problems = __salt__["sendmail.validate"](config, part="metrics_beacon")
    if problems:
        return False, "; ".join(problems)
    return True, "valid sendmail_metrics beacon configuration"


def beacon(config):
    """Write the metrics now (Salt spaces the calls by ``interval``); no event."""
    settings = _settings(config)
    # Salt calls beacon() without the interval it validated: then the module reads pillar's.
    __salt__["sendmail.metrics"](
        textfile_dir=settings["textfile_dir"], interval=settings.get("interval")
    )
    return []
