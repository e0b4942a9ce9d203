"""Loading the fleet view's files (runner, outputter, beacon) by path, as Salt's loader would."""

import importlib.util
import pathlib

REPO = pathlib.Path(__file__).resolve().parents[2]


def load(relative):
    spec = importlib.util.spec_from_file_location(relative.replace("/", "_")[:-3], REPO / relative)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
