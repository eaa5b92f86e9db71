"""Connecting with the standard-library Python client of samples/python."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "samples", "python"))

import taskwire  # noqa: E402


def connect(cfg, name, role):
    return taskwire.connect(
        cfg["host"],
        cfg["port"],
        authkey_file=cfg["keyFile"],
        name=name,
        role=role,
        reconnect=False,
    )
