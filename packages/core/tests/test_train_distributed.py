"""Data-parallel training under torchrun equals single-process training on the combined batch.

This file is also the training program: ``python -m torch.distributed.run --standalone --nproc_per_node 2
test_train_distributed.py --out result.pt`` runs :func:`train_tiny` in two gloo processes on the CPU, and the
test compares their final weights with the same function run in this (single) process.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import insilico_core
import pytest
import torch
from insilico_core.train import (
    CheckpointManager,
    DistributedInfo,
    all_reduce_mean,
    atomic_save,
    distributed_sampler,
    init_distributed,
    load_checkpoint,
    save_training_state,
    shutdown_distributed,
    unwrap_model,
    wrap_ddp,
)
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

GLOBAL_BATCH = 8
EPOCHS = 2


def train_tiny(out: Path) -> None:
    """Train a small MLP for two epochs of 32 samples with the global batch split over all processes."""
    info = init_distributed("cpu")
    torch.manual_seed(0)
    model = wrap_ddp(nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1)), info)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    data = torch.Generator().manual_seed(1)
    x = torch.randn(32, 4, generator=data)
    y = x.sum(dim=1, keepdim=True).sin() + 0.1 * torch.randn(32, 1, generator=data)
    dataset = TensorDataset(x, y)
    sampler = distributed_sampler(dataset, info, shuffle=True, seed=3)
    loader = DataLoader(dataset, batch_size=GLOBAL_BATCH // info.world_size, sampler=sampler)
    losses = []
    for epoch in range(EPOCHS):
        sampler.set_epoch(epoch)
        for inputs, targets in loader:
            loss = nn.functional.mse_loss(model(inputs), targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(all_reduce_mean(loss.detach(), info))
    if info.is_main:
        result = {"model": unwrap_model(model).state_dict(), "losses": torch.stack(losses)}
        atomic_save({**result, "world": info.world_size}, out)
    torch.manual_seed(100 + info.rank)  # every process has its own random stream to checkpoint
    manager = CheckpointManager(out.parent / f"checkpoints_{info.world_size}")
    save_training_state(manager, len(losses), {"model": model, "optimizer": optimizer}, info=info)
    shutdown_distributed(info)


def _subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    source_root = str(Path(insilico_core.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [source_root, env.get("PYTHONPATH")]))
    env["OMP_NUM_THREADS"] = "1"
    for name in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    return env


def test_single_process_info_touches_nothing(monkeypatch):
    for name in ("RANK", "LOCAL_RANK", "WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    info = init_distributed("cpu")
    assert info == DistributedInfo(
        rank=0, local_rank=0, world_size=1, device=torch.device("cpu"), backend=None
    )
    assert info.is_main and not info.is_distributed
    model = nn.Linear(2, 2)
    assert wrap_ddp(model, info) is model and unwrap_model(model) is model
    value = torch.tensor([1.0, 3.0])
    assert torch.equal(all_reduce_mean(value, info), value)
    assert list(distributed_sampler(range(5), info, shuffle=False)) == [0, 1, 2, 3, 4]


def test_bad_environment_is_reported(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "two")
    with pytest.raises(ValueError, match="WORLD_SIZE"):
        init_distributed("cpu")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "5")
    with pytest.raises(ValueError, match="RANK=5"):
        init_distributed("cpu")


@pytest.mark.slow
def test_two_gloo_processes_equal_one_process_on_the_combined_batch(tmp_path, monkeypatch):
    out = tmp_path / "ddp.pt"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    command += [__file__, "--out", str(out)]
    result = subprocess.run(command, env=_subprocess_env(), capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    distributed = load_checkpoint(out)
    assert distributed["world"] == 2

    for name in ("RANK", "LOCAL_RANK", "WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    train_tiny(tmp_path / "single.pt")
    single = load_checkpoint(tmp_path / "single.pt")
    assert single["world"] == 1
    assert len(single["losses"]) == EPOCHS * 32 // GLOBAL_BATCH
    torch.testing.assert_close(distributed["losses"], single["losses"], rtol=0, atol=1e-5)
    checkpoint = CheckpointManager(tmp_path / "checkpoints_2").load_latest()
    assert checkpoint["step"] == len(single["losses"])
    assert checkpoint["state"]["model"].keys() == single["model"].keys()  # saved without DDP's "module."
    rank_streams = [state["torch"] for state in checkpoint["rng"]]
    assert len(rank_streams) == 2 and not torch.equal(*rank_streams)  # both ranks' RNG states were gathered
    torch.manual_seed(0)
    initial = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1)).state_dict()
    for key, value in single["model"].items():
        torch.testing.assert_close(distributed["model"][key], value, rtol=0, atol=1e-5)
        assert not torch.allclose(value, initial[key])  # training moved every tensor


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    train_tiny(parser.parse_args().out)
