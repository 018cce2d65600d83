"""A run killed with SIGKILL resumes from its last checkpoint and ends where an uninterrupted run ends.

This file is also the training program (``python test_train_resume.py --run-dir DIR ...``). Its loop draws
from every source of randomness a real run has: the data order of a DataLoader (ResumableSampler, reshuffled
every epoch of 20 samples), input noise from its own ``torch.Generator``, an intensity jitter from numpy's
global generator, a flip augmentation from Python's ``random``, dropout from torch's global generator; it
trains with Adam, keeps an EMA and logs metrics. Nothing but the files in the run folder carries state from
the killed process to the resumed run.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import insilico_core
import numpy as np
import pytest
import torch
from insilico_core.train import (
    EMA,
    CheckpointManager,
    MetricsLogger,
    ResumableSampler,
    atomic_save,
    load_checkpoint,
    progress,
    restore_training_state,
    resume_latest,
    save_training_state,
    seed_everything,
    seeded_loader_kwargs,
    training_state,
)
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

STEPS = 24
CHECKPOINT_EVERY = 5
HANG_AFTER = 13  # the killed run has checkpoints of steps 5 and 10 and has trained 3 steps past the last
BATCH = 8


def train_mlp(run_dir: Path, hang_after: int | None = None) -> None:
    """Train for ``STEPS`` steps (resuming from ``run_dir`` if it holds checkpoints), then write final.pt.

    With ``hang_after`` the run announces that step in ``run_dir / 'hanging'`` and waits there to be killed.
    """
    noise = seed_everything(7)
    inputs = torch.randn(20, 6, generator=torch.Generator().manual_seed(99))
    dataset = TensorDataset(inputs, inputs[:, :2].sum(dim=1, keepdim=True).tanh())
    model = nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    ema = EMA(model, half_life_images=40, rampup=0.5)
    manager = CheckpointManager(run_dir / "checkpoints", keep_last=2)
    objects = {"model": model, "optimizer": optimizer, "ema": ema}
    generators = {"noise": noise}
    start = resume_latest(manager, objects, generators=generators)
    (run_dir / f"started_at_{start}").touch()
    metrics = MetricsLogger(run_dir, enabled=True)
    metrics.drop_after(start)
    sampler = ResumableSampler(dataset, shuffle=True, seed=11, start=start * BATCH)
    batches = iter(DataLoader(dataset, batch_size=BATCH, sampler=sampler, **seeded_loader_kwargs(7)))
    for step in progress(range(start, STEPS), total=STEPS, initial=start, desc="train"):
        x, y = next(batches)
        x = x * torch.from_numpy(np.random.uniform(0.9, 1.1, size=(BATCH, 1))).float()
        x = x + 0.05 * torch.randn(x.shape, generator=noise)
        if random.random() < 0.5:
            x = x.flip(1)
        loss = nn.functional.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        ema.update(model, batch_size=BATCH)
        metrics.log(step + 1, loss=loss)
        if (step + 1) % CHECKPOINT_EVERY == 0:
            save_training_state(manager, step + 1, objects, generators=generators)
        if hang_after is not None and step + 1 == hang_after:
            (run_dir / "hanging").touch()
            time.sleep(600)
    atomic_save(
        {"model": model.state_dict(), "ema": ema.state_dict(), "optimizer": optimizer.state_dict()},
        run_dir / "final.pt",
    )


def _run_script(run_dir: Path, *extra: str) -> subprocess.Popen:
    env = dict(os.environ)
    source_root = str(Path(insilico_core.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [source_root, env.get("PYTHONPATH")]))
    command = [sys.executable, __file__, "--run-dir", str(run_dir), *extra]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _assert_same_tensors(actual, expected, path="state"):
    if isinstance(expected, torch.Tensor):
        torch.testing.assert_close(actual, expected, rtol=0, atol=1e-6, msg=f"{path} differs")
    elif isinstance(expected, dict):
        assert actual.keys() == expected.keys(), path
        for key in expected:
            _assert_same_tensors(actual[key], expected[key], f"{path}.{key}")
    elif isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected), path
        for index, (a, e) in enumerate(zip(actual, expected, strict=True)):
            _assert_same_tensors(a, e, f"{path}[{index}]")
    else:
        assert actual == expected, path


def _logged_losses(run_dir: Path) -> list[tuple[int, float]]:
    with (run_dir / "metrics.csv").open(newline="") as handle:
        return [(int(row["step"]), float(row["loss"])) for row in csv.DictReader(handle)]


@pytest.mark.slow
def test_sigkilled_run_resumes_to_the_uninterrupted_result(tmp_path):
    killed_dir = tmp_path / "killed"
    killed_dir.mkdir()
    process = _run_script(killed_dir, "--hang-after", str(HANG_AFTER))
    try:
        deadline = time.monotonic() + 120
        while not (killed_dir / "hanging").exists():
            assert process.poll() is None, process.stdout.read()
            assert time.monotonic() < deadline, "the training script never reached the kill point"
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
        process.stdout.close()
    manager = CheckpointManager(killed_dir / "checkpoints", keep_last=2)
    assert [step for step, _ in manager.checkpoints()] == [5, 10]
    assert not (killed_dir / "final.pt").exists()

    # restart: the same training function, in this process (whose random generators are in another state)
    random.seed(12345)
    train_mlp(killed_dir)
    assert (killed_dir / "started_at_10").exists()

    reference_dir = tmp_path / "reference"
    reference_dir.mkdir()
    train_mlp(reference_dir)
    assert (reference_dir / "started_at_0").exists()
    _assert_same_tensors(
        load_checkpoint(killed_dir / "final.pt"), load_checkpoint(reference_dir / "final.pt")
    )


def test_training_state_round_trip_restores_objects_and_random_streams(tmp_path):
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.randn(4, 3)).sum().backward()
    optimizer.step()
    data = torch.Generator().manual_seed(5)
    state = training_state(
        11,
        {"model": nn.DataParallel(model), "optimizer": optimizer},
        generators={"data": data},
        meta={"package": "test"},
    )
    assert set(state["state"]["model"]) == {"weight", "bias"}  # saved unwrapped
    path = atomic_save(state, tmp_path / "state.pt")
    expected = (torch.rand(3, generator=data), torch.rand(3), np.random.rand(), random.random())

    other = nn.Linear(3, 2)
    other_optimizer = torch.optim.SGD(other.parameters(), lr=0.1, momentum=0.9)
    step = restore_training_state(
        torch.load(path, weights_only=True),
        {"model": other, "optimizer": other_optimizer},
        generators={"data": data},
    )
    assert step == 11
    assert torch.equal(other.weight, model.weight)
    torch.testing.assert_close(
        other_optimizer.state_dict()["state"][0]["momentum_buffer"],
        optimizer.state_dict()["state"][0]["momentum_buffer"],
    )
    again = (torch.rand(3, generator=data), torch.rand(3), np.random.rand(), random.random())
    assert torch.equal(again[0], expected[0]) and torch.equal(again[1], expected[1])
    assert again[2:] == expected[2:]
    with pytest.raises(KeyError, match="scaler"):
        restore_training_state(state, {"scaler": torch.amp.GradScaler("cpu", enabled=False)})
    two_process_state = {**state, "rng": state["rng"] * 2}
    with pytest.warns(UserWarning, match="written by 2 process"):
        restore_training_state(two_process_state, {"model": other})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--hang-after", type=int, default=None)
    arguments = parser.parse_args()
    train_mlp(arguments.run_dir, hang_after=arguments.hang_after)
