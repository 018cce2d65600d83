"""Latent model files: one versioned JSON per fitted model, written atomically next to the checkpoints.

Every model's ``to_dict()`` holds ``kind`` (which class reads it back, see :func:`mssg.latent.
load_latent_model`), ``version`` (:data:`LATENT_MODEL_VERSION`; files written before versioning have none and
read as version 1) and all fitted parameters as plain JSON numbers and lists.
"""

from __future__ import annotations

import json
from pathlib import Path

from insilico_core.train import atomic_write_bytes

LATENT_MODEL_VERSION = 1


def write_model_json(data: dict, path: str | Path) -> Path:
    """Write a model's ``to_dict()`` as indented JSON (temporary file, fsync, rename)."""
    return atomic_write_bytes(path, json.dumps(data, indent=1).encode())


def read_model_json(path_or_dict: str | Path | dict) -> dict:
    """The dict of a model file (or a dict already read), with its version checked."""
    if isinstance(path_or_dict, dict):
        data, where = dict(path_or_dict), "latent model dict"
    else:
        path = Path(path_or_dict)
        if not path.is_file():
            raise FileNotFoundError(f"latent model file {path} does not exist")
        data, where = json.loads(path.read_text()), str(path)
    version = int(data.pop("version", 1))
    if version > LATENT_MODEL_VERSION:
        raise ValueError(
            f"{where}: latent model format version {version} is newer than this mssg reads "
            f"({LATENT_MODEL_VERSION}); update mssg"
        )
    return data
