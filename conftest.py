"""Repository-wide pytest configuration.

``single_torch_thread`` runs a test module on one torch thread (restored afterwards): the tests' tiny
networks run faster so, several times faster on a busy machine where two threads spin-wait for each other.

Tests marked ``shared_data`` read the real sample files in ``../shared/data`` (or ``$INSILICO_SHARED_DATA``)
through the ``shared_data`` fixture and are skipped cleanly where that folder is absent: users and fresh
clones do not have it, and nothing in the project itself depends on it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parent


def _shared_data_dir() -> Path:
    env = os.environ.get("INSILICO_SHARED_DATA")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path of the real sample data folder; skips the test when it is absent."""
    path = _shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"sample data folder {path} is absent (set INSILICO_SHARED_DATA to use another)")
    return path


@pytest.fixture(scope="module")
def single_torch_thread():
    """One torch thread for the module that uses it; the previous setting comes back afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _shared_data_dir().is_dir():
        return
    skip = pytest.mark.skip(reason=f"sample data folder {_shared_data_dir()} is absent")
    for item in items:
        if "shared_data" in item.keywords:
            item.add_marker(skip)
