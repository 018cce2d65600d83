"""Fixtures shared by the biogans tests."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="module")
def one_thread(single_torch_thread):
    """Every biogans test module runs on one torch thread (the root conftest's ``single_torch_thread``)."""
