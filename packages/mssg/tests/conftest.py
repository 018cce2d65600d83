"""Fixtures shared by the MSSG test modules."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from mssg.train import TrainOptions, training_loop


@pytest.fixture
def train_tiny(tmp_path: Path, single_torch_thread) -> Callable[..., Path]:
    """``train_tiny(data, data_name, **overrides) -> run directory``: :func:`mssg.train.training_loop` on a
    tiny two-source StyleGAN2 MSSG (cbase 64, cmax 8, 2 mapping layers, batch 4, fp32, CPU) writing under
    ``tmp_path / "runs"``; ``overrides`` set or replace :class:`TrainOptions` fields (``kimg`` at least). It
    runs on one thread (the root conftest's ``single_torch_thread``)."""

    def train(data: list[str], data_name: list[str], **overrides) -> Path:
        tiny = dict(
            outdir=str(tmp_path / "runs"),
            cfg="stylegan2",
            data=data,
            data_name=data_name,
            sources=["source1", "source2"],
            gpus=1,
            batch=4,
            gamma=1.0,
            cbase=64,
            cmax=8,
            map_depth=2,
            device="cpu",
            fp32=True,
        )
        options = TrainOptions(**{**tiny, **overrides})
        return training_loop(options)

    return train
