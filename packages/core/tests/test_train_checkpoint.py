"""Atomic checkpoint writes, keep-last pruning, weights-only loading and RNG state capture."""

from __future__ import annotations

import os
import random

import numpy as np
import pytest
import torch
from insilico_core.train import (
    EMA,
    CheckpointManager,
    atomic_save,
    atomic_write_bytes,
    capture_rng_state,
    load_checkpoint,
    restore_rng_state,
)


def _files(directory):
    return sorted(p.name for p in directory.iterdir())


def test_atomic_save_round_trip_and_overwrite(tmp_path):
    path = tmp_path / "sub" / "state.pt"
    atomic_save({"w": torch.arange(4.0)}, path)
    atomic_save({"w": torch.arange(5.0)}, path)
    assert torch.equal(load_checkpoint(path)["w"], torch.arange(5.0))
    assert _files(path.parent) == ["state.pt"]


def test_failed_torch_save_mid_write_keeps_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "state.pt"
    atomic_save({"version": torch.tensor([1.0])}, path)
    before = path.read_bytes()
    real_save = torch.save

    def save_half_then_crash(obj, handle, *args, **kwargs):
        real_save(obj, handle, *args, **kwargs)
        handle.truncate(handle.tell() // 2)
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(torch, "save", save_half_then_crash)
    with pytest.raises(OSError, match="simulated"):
        atomic_save({"version": torch.tensor([2.0])}, path)
    assert path.read_bytes() == before
    assert torch.equal(load_checkpoint(path)["version"], torch.tensor([1.0]))
    assert _files(tmp_path) == ["state.pt"]


def test_failed_rename_keeps_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "state.pt"
    atomic_write_bytes(path, b"old complete content")

    def refuse(src, dst):
        raise PermissionError("rename refused (simulated)")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError):
        atomic_write_bytes(path, b"new content")
    with pytest.raises(PermissionError):
        atomic_save({"x": torch.zeros(3)}, path)
    assert path.read_bytes() == b"old complete content"
    assert _files(tmp_path) == ["state.pt"]


def test_atomic_files_get_ordinary_permissions(tmp_path):
    umask = os.umask(0)
    os.umask(umask)
    path = atomic_write_bytes(tmp_path / "a.bin", b"x")
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_manager_prunes_to_keep_last_and_finds_latest(tmp_path):
    manager = CheckpointManager(tmp_path, prefix="run", keep_last=3)
    assert manager.latest() is None
    assert manager.load_latest() is None
    (tmp_path / "unrelated.pt").write_bytes(b"not ours")
    for step in (5, 10, 15, 20, 100):
        manager.save(step, {"step": step})
    assert _files(tmp_path) == ["run_000000015.pt", "run_000000020.pt", "run_000000100.pt", "unrelated.pt"]
    assert manager.latest() == tmp_path / "run_000000100.pt"
    assert manager.load_latest()["step"] == 100
    keep_all = CheckpointManager(tmp_path, prefix="run", keep_last=None)
    keep_all.save(200, {"step": 200})
    assert [step for step, _ in keep_all.checkpoints()] == [15, 20, 100, 200]


def test_manager_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="keep_last"):
        CheckpointManager(tmp_path, keep_last=0)
    with pytest.raises(ValueError, match="prefix"):
        CheckpointManager(tmp_path, prefix="a/b")
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        load_checkpoint(tmp_path / "missing.pt")


def test_manager_removes_temporaries_of_a_killed_writer(tmp_path):
    stale = tmp_path / ".checkpoint_000000010.pt.abc123.tmp"
    stale.write_bytes(b"half a checkpoint")
    other = tmp_path / ".notes.tmp"
    other.write_bytes(b"someone else's")
    CheckpointManager(tmp_path)
    assert not stale.exists()
    assert other.exists()


def test_unreadable_newest_checkpoint_falls_back_to_previous(tmp_path):
    manager = CheckpointManager(tmp_path)
    manager.save(1, {"step": 1})
    manager.path_for(2).write_bytes(b"damaged in transit")
    with pytest.warns(UserWarning, match="could not read"):
        assert manager.load_latest()["step"] == 1


def test_full_training_state_loads_weights_only(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.randn(8, 3)).sum().backward()
    optimizer.step()
    ema = EMA(model, half_life_images=10_000, rampup=0.05)
    ema.update(model, batch_size=8)
    generator = torch.Generator().manual_seed(3)
    state = {
        "step": 7,
        "model": model.state_dict(),
        "ema": ema.state_dict(),
        "optimizer": optimizer.state_dict(),
        "augment": {"p": torch.tensor(0.2)},
        "rng": capture_rng_state({"data": generator}),
        "meta": {"package": "insilico-core", "config": {"lr": 1e-3, "sizes": [3, 4, 1]}},
    }
    path = atomic_save(state, tmp_path / "full.pt")
    loaded = torch.load(path, weights_only=True)
    assert loaded["step"] == 7 and loaded["meta"] == state["meta"]
    restored = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 1))
    restored.load_state_dict(loaded["model"])
    for a, b in zip(restored.state_dict().values(), model.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    new_optimizer = torch.optim.Adam(restored.parameters(), lr=1e-3)
    new_optimizer.load_state_dict(loaded["optimizer"])
    assert loaded["ema"]["images_seen"] == 8


def test_rng_state_restores_every_generator_after_a_weights_only_round_trip(tmp_path):
    random.seed(1)
    np.random.seed(2)
    torch.manual_seed(3)
    np.random.standard_normal()  # leaves a cached Gaussian in numpy's legacy state
    generator = torch.Generator().manual_seed(4)
    path = atomic_save(capture_rng_state({"data": generator}), tmp_path / "rng.pt")

    def draw():
        return (
            [random.random() for _ in range(3)],
            np.random.standard_normal(3).tolist(),
            torch.rand(3).tolist(),
            torch.rand(3, generator=generator).tolist(),
        )

    expected = draw()
    draw()  # move every generator on
    restore_rng_state(torch.load(path, weights_only=True), {"data": generator})
    assert draw() == expected


def test_restore_rng_state_names_a_missing_generator():
    state = capture_rng_state()
    with pytest.raises(KeyError, match="noise"):
        restore_rng_state(state, {"noise": torch.Generator()})
