"""Training of BioGANs models (``--mode train``, ``GAN_base.train``).

Per generator iteration i: :func:`critic_steps` critic steps and one generator step
(:func:`train_iteration`); a log line in the original's format; the authors' checkpoint files
``netG_iter_{i+1}.pth`` / ``netD_iter_{i+1}.pth`` (original layout, readable by the original code) at
iterations 10, 100, 1000, 2000, 3000, 5000, 10k, 30k, 50k, 100k, 300k, 500k and every ``save_iter``; with them
a resumable checkpoint of ours (optimisers, iteration, RNG states: the original could not resume); sample
grids of the fixed noise (G in eval mode) whenever a checkpoint is written or every ``image_iter``
iterations.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from insilico_core.train import (
    CheckpointManager,
    MetricsLogger,
    capture_rng_state,
    progress,
    restore_rng_state,
)
from torch import nn

from .checkpoints import export_original_checkpoint
from .samples import save_sample_grids
from .train_step import critic_steps, latent_noise, train_iteration

__all__ = [
    "CHECKPOINT_ITERATIONS",
    "TrainConfig",
    "critic_steps",
    "latent_noise",
    "make_optimizers",
    "train",
    "train_iteration",
]

#: iterations (1-based) at which the original always saved the models
CHECKPOINT_ITERATIONS = (10, 100, 1000, 2000, 3000, 5000, 10000, 30000, 50000, 100000, 300000, 500000)


def make_optimizers(
    G: nn.Module, D: nn.Module, optimizer: str, lrD: float, lrG: float, beta1: float, beta2: float
) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
    """(optD, optG): Adam(lr, (beta1, beta2)) or RMSprop(lr) for each network, torch defaults otherwise."""
    name = optimizer.casefold()
    if name == "adam":
        return (
            torch.optim.Adam(D.parameters(), lr=lrD, betas=(beta1, beta2)),
            torch.optim.Adam(G.parameters(), lr=lrG, betas=(beta1, beta2)),
        )
    if name == "rmsprop":
        return torch.optim.RMSprop(D.parameters(), lr=lrD), torch.optim.RMSprop(G.parameters(), lr=lrG)
    raise ValueError(f"--optimizer: expected adam or rmsprop, got {optimizer!r}")


@dataclass
class TrainConfig:
    """The flags the training loop reads (names as main.py's)."""

    GAN_algorithm: str
    num_iter: int
    num_disc_iters: int = 1
    wgan_clamp_lower: float = -0.01
    wgan_clamp_upper: float = 0.01
    wgangp_lambda: float = 10.0
    experiment: str = "samples"
    save_iter: int | None = None
    image_iter: int = 500
    prefix_fake_samples: str = "fake_samples"
    prefix_real_samples: str = "real_samples"
    precision: str = "fp32"
    resume: bool = False


def _save_checkpoints(G, D, optG, optD, experiment: Path, manager: CheckpointManager, iteration: int) -> None:
    """The authors' ``netG_iter_<i>.pth`` / ``netD_iter_<i>.pth`` and our resumable ``resume_<i>.pt``
    (networks, optimisers, iteration, RNG states)."""
    export_original_checkpoint(G, experiment / f"netG_iter_{iteration}.pth")
    export_original_checkpoint(D, experiment / f"netD_iter_{iteration}.pth")
    state: dict[str, Any] = {
        "netG": G.state_dict(),
        "netD": D.state_dict(),
        "optimizerG": optG.state_dict(),
        "optimizerD": optD.state_dict(),
        "meta": {"package": "biogans", "iteration": iteration},
        "rng": capture_rng_state(),
    }
    manager.save(iteration, state)


def train(
    G: nn.Module,
    D: nn.Module,
    optG: torch.optim.Optimizer,
    optD: torch.optim.Optimizer,
    real_stream,
    fixed_noise: torch.Tensor,
    config: TrainConfig,
    class_names: list[str],
) -> int:
    """Run the training loop; returns the number of generator iterations done.

    ``real_stream``: a :class:`biogans.data.BatchStream` (endless) of real batches on the training device.
    ``fixed_noise``: ``[N, nz, 1, 1]`` for the sample grids. With ``config.resume`` the newest
    ``resume_*.pt`` of ``config.experiment`` restores G, D, optimisers, RNG states and the iteration.
    """
    experiment = Path(config.experiment)
    experiment.mkdir(parents=True, exist_ok=True)
    manager = CheckpointManager(experiment, prefix="resume", keep_last=1)
    start = 0
    if config.resume:
        state = manager.load_latest()
        if state is None:
            raise FileNotFoundError(f"--resume: no resume_*.pt checkpoint in {experiment}")
        G.load_state_dict(state["netG"])
        D.load_state_dict(state["netD"])
        optG.load_state_dict(state["optimizerG"])
        optD.load_state_dict(state["optimizerD"])
        restore_rng_state(state["rng"])
        start = int(state["meta"]["iteration"])
    logger = MetricsLogger(experiment)
    batches = iter(real_stream)
    clamp = (config.wgan_clamp_lower, config.wgan_clamp_upper)
    t_start = time.time()
    bar = progress(range(start, config.num_iter), total=config.num_iter, initial=start, desc="train")
    for i_iter in bar:
        t_iter = time.time()
        steps = critic_steps(config.GAN_algorithm, i_iter, config.num_disc_iters)
        err_d, err_g = train_iteration(
            G,
            D,
            optG,
            optD,
            itertools.islice(batches, steps),
            None,
            config.GAN_algorithm,
            clamp=clamp,
            wgangp_lambda=config.wgangp_lambda,
            precision=config.precision,
        )
        now = time.time()
        bar.write(
            f"[{i_iter}/{config.num_iter}][epoch {real_stream.epoch}] Loss_D: {err_d:f}; Loss_G: {err_g:f}; "
            f"Batch time: {now - t_iter:f}s; Full time: {(now - t_start) / 3600:f}h"
        )
        logger.log(i_iter + 1, loss_D=err_d, loss_G=err_g, epoch=real_stream.epoch)
        done = i_iter + 1
        save = (
            config.save_iter is not None and done % config.save_iter == 0
        ) or done in CHECKPOINT_ITERATIONS
        if save:
            _save_checkpoints(G, D, optG, optD, experiment, manager, done)
        if save or done % config.image_iter == 0:
            _save_samples(G, real_stream.last, fixed_noise, experiment, config, class_names, done)
    _save_samples(G, real_stream.last, fixed_noise, experiment, config, class_names, config.num_iter)
    if config.save_iter is not None:
        _save_checkpoints(G, D, optG, optD, experiment, manager, config.num_iter)
    return config.num_iter


def _save_samples(
    G, real, fixed_noise, experiment: Path, config: TrainConfig, class_names, iteration
) -> None:
    if real is not None:
        save_sample_grids(real, experiment / config.prefix_real_samples, class_names)
    G.eval()
    with torch.no_grad():
        fake = G(fixed_noise)
    save_sample_grids(fake, experiment / f"{config.prefix_fake_samples}_{iteration}", class_names)
