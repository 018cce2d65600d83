"""Fixtures shared by the biogans tests."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """The tests' tiny networks run faster on one thread (several times faster on a busy machine, where
    two threads spin-wait for each other); the previous setting is restored after each module."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
