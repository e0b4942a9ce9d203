"""
The beacons a minion's beacons.conf holds: what it runs after a restart. ``beacons.list`` answers
from the minion's memory, which also holds a beacon added by a run that was killed before its
``beacons.save``; this file tells the two apart.
"""

import os

import salt.utils.files
import salt.utils.yaml


def path(opts):
    """Where ``beacons.save`` writes (salt/modules/beacons.py): the minion's include directory."""
    # Salt has no call that returns this path or reads the file back: its save computes it inline.
    return os.path.join(
        os.path.dirname(opts["conf_file"]), os.path.dirname(opts["default_include"]), "beacons.conf"
    )


def saved(opts, name):
    """
    The beacon ``name`` as the minion's beacons.conf holds it, a list of one-key mappings as
    ``beacons.save`` writes it; None when the file or the beacon is missing, or not in that form.
    """
    try:
        with salt.utils.files.fopen(path(opts)) as handle:
            data = salt.utils.yaml.safe_load(handle)
    except (OSError, salt.utils.yaml.YAMLError):
        return None
    beacons = data.get("beacons") if isinstance(data, dict) else None
    found = beacons.get(name) if isinstance(beacons, dict) else None
    if isinstance(found, list) and all(isinstance(item, dict) for item in found):
        return found
    return None
