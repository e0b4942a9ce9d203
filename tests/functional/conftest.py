import copy
import pathlib
import types

import pytest
import salt.config
import salt.loader

from tests.support.mounts import Mounts
from tests.support.netns import NETWORK, bridge, linked_netns
from tests.support.tls_relay import (
    CLIENT,
    INSIDER,
    OUTSIDER,
    PASSWORD,
    RELAY,
    USER,
    make_ca,
    make_cert,
    sasl_users,
)

REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def base_opts(tmp_path_factory):
    """Minion opts for Salt's real loader, with our _modules/_states and grains computed once."""
    root = tmp_path_factory.mktemp("minion")
    opts = salt.config.minion_config(None)
    opts.update(
        id="functional.example.test",
        root_dir=str(root),
        cachedir=str(root / "cache"),
        extension_modules=str(root / "extmods"),
        pki_dir=str(root / "pki"),
        sock_dir=str(root / "sock"),
        log_file=str(root / "minion.log"),
        file_client="local",
        file_roots={"base": [str(root / "states")]},
        module_dirs=[str(REPO / "_modules")],
        utils_dirs=[str(REPO / "_utils")],
        states_dirs=[str(REPO / "_states")],
    )
    opts["grains"] = salt.loader.grains(opts)
    return opts


@pytest.fixture(scope="session")
def load(base_opts):
    """
    Load the execution modules with ``sendmail:lookup`` in the minion config (where config.get
    finds it first), the way a minion with that config would.
    """

    def loader(lookup):
        opts = copy.deepcopy(base_opts)
        opts["sendmail"] = {"lookup": lookup}
        # As a minion loads them: with the utilities, whose directories (_utils) Salt puts on
        # the path while a module loads.
        return salt.loader.minion_mods(opts, context={}, utils=salt.loader.utils(opts))

    return loader


class ModuleProxy:
    """``sendmail.status()`` style access to a loader's ``sendmail.*`` functions."""

    def __init__(self, mods):
        self._mods = mods

    def __getattr__(self, name):
        return self._mods[f"sendmail.{name}"]


@pytest.fixture
def set_lookup(load, request):
    """Reload the module pointed at other paths; returns the new module."""
    holder = {}

    def apply(lookup):
        holder["mods"] = load(lookup)
        return ModuleProxy(holder["mods"])

    return apply


@pytest.fixture
def sendmail(world, set_lookup):
    """The sendmail execution module as Salt's loader loads it, pointed at ``world``."""
    return set_lookup(world.lookup)


@pytest.fixture
def pki(tmp_path):
    directory = tmp_path / "pki"
    ca = make_ca(directory, "site-ca")
    cert, key = make_cert(directory, "site-ca", "relay.example.test", RELAY)
    return types.SimpleNamespace(
        ca=ca, cert=cert, key=key, rogue=make_ca(directory / "rogue", "rogue-ca")
    )


@pytest.fixture
def tls_relay(make_world, set_lookup, pki, tmp_path):
    """The relay (site network: 198.51.100.31) and three linked hosts: 31, 32 and 33."""
    bridge()
    world = make_world()
    module = set_lookup(world.lookup)
    # The certificate as a path, the key as PEM text (written 0600 root by credentials).
    hop = {
        "tls": {"cert": str(pki.cert), "key": pki.key.read_text(), "ca": str(pki.ca), "require": True},
        "auth": {"mechanisms": ["PLAIN", "LOGIN"]},
    }
    module.build_cf("server", relay_domains=["example.com", f"{NETWORK}.{INSIDER}"], **hop)
    module.credentials("server", **hop)
    with sasl_users(tmp_path / "sasl", {USER: PASSWORD}):
        world.serve_and_queue(RELAY)
        with (
            linked_netns(f"smt-tls{INSIDER}", INSIDER),
            linked_netns(f"smt-tls{OUTSIDER}", OUTSIDER),
            linked_netns(f"smt-tls{CLIENT}", CLIENT),
        ):
            yield types.SimpleNamespace(world=world, module=module, pki=pki)


@pytest.fixture
def mounts():
    """Mounts in the run's own mount namespace (tests.support.mounts), removed after the test."""
    made = Mounts()
    yield made
    made.remove()
