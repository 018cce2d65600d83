"""The training loop of neuron-gan (``train.py``, ``pggan_train``): progressive WGAN-GP with drift, Adam,
epoch-based growth / fade / learning-rate schedules, checkpoints in the original layout.

Per epoch: advance the fade (both networks), grow if the epoch is in ``transit_sch`` (the data follow), then
for every batch ``n_critic`` critic steps on ``L_D + GP`` and one generator step on ``L_G``; per-epoch means
are kept as the original's ``Loss_*`` series; the learning rate is set for the next epoch. Every
``checkpointing_period`` epochs ``weights/GenDisc_{ID}.pth`` is written atomically (plus the optimiser and
random-generator states, so that ``--resume`` continues exactly) and a 4x4 sample grid of fixed latents is
saved as ``images/{ID}/Samples_{ID}_{epoch}.png``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from insilico_core.train import (
    MetricsLogger,
    autocast,
    capture_rng_state,
    progress,
    resolve_device,
    restore_rng_state,
    seed_everything,
    to_channels_last,
)
from torch.utils.data import DataLoader

from .checkpoints import LOSS_KEYS, load_checkpoint, save_checkpoint
from .config import TrainConfig
from .data import DeviceBatches, NeuronDataset
from .losses import critic_loss, g_wasserstein_loss, similarity_loss
from .models import DiscriminatorPG, GeneratorPG
from .sampling import sample_latent, save_sample_grid
from .schedule import adaptive_critic_steps, learning_rate_at

MONITORING_PERIOD = 10
ADAPTIVE_CRITIC_PERIOD = 100
FORMAT = "insilico-neurongan/1"


@dataclass
class TrainingState:
    """Everything the loop needs: networks, optimisers, per-epoch series and the last finished epoch."""

    G: GeneratorPG
    D: DiscriminatorPG
    optimizer_G: torch.optim.Optimizer
    optimizer_D: torch.optim.Optimizer
    losses: dict[str, np.ndarray]
    epoch: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def build_networks(config: TrainConfig) -> tuple[GeneratorPG, DiscriminatorPG]:
    """G and D at the first stage, from the config's feature lists and sizes."""
    G = GeneratorPG(
        config.N_gen_features,
        image_size_init=config.image_size_init,
        latent_dim=config.latent_dim,
        leaky_slope=config.LeakyReLU_leak,
        n_colors=config.N_colors,
    )
    D = DiscriminatorPG(
        config.N_dis_features,
        image_size_init=config.image_size_init,
        leaky_slope=config.LeakyReLU_leak,
        n_colors=config.N_colors,
    )
    return G, D


def build_optimizer(net: GeneratorPG | DiscriminatorPG, config: TrainConfig) -> torch.optim.Optimizer:
    """Adam(lr, betas=(beta1, 0.999)) or RMSprop(lr) over the parameters of all stages.

    Adam runs as one fused kernel per parameter on CPU and CUDA (same update rule; the generator's 16.7 M
    weight first layer makes the optimiser step a large part of an iteration at low resolution).
    """
    params = list(net.parameters_in_build_order())
    if config.RMSprop:
        return torch.optim.RMSprop(params, lr=config.learning_rate)
    fused = params[0].device.type in ("cpu", "cuda")
    return torch.optim.Adam(params, lr=config.learning_rate, betas=(config.beta1, 0.999), fused=fused)


def _grow_and_load(net: GeneratorPG | DiscriminatorPG, data: dict, state_key: str, attrs_key: str) -> None:
    attrs = data[attrs_key]
    alpha = attrs["alpha"]
    net.set_resolution(int(attrs["image_size"]), alpha.cpu() if isinstance(alpha, torch.Tensor) else alpha)
    net.load_state_dict(data[state_key], strict=True)


def _weights_file(config: TrainConfig, name: str) -> Path:
    path = Path(name)
    if path.is_file():
        return path
    in_weights = Path(config.weights_dir) / name
    if in_weights.is_file():
        return in_weights
    raise FileNotFoundError(f"weights_init file {name} not found (looked at {path} and {in_weights})")


def initial_state(config: TrainConfig, device: torch.device) -> TrainingState:
    """Fresh networks, or the state of ``weights/GenDisc_{ID}.pth`` (``resume``), or the weights of
    ``weights_init`` (the original loaded those from the wrong file, B2)."""
    G, D = build_networks(config)
    losses = {key: np.zeros(config.N_epochs, dtype=np.float64) for key in LOSS_KEYS}
    path = config.checkpoint_path
    data = None
    if config.resume and path.is_file():
        data = load_checkpoint(path)
    elif config.resume:
        print(f"no checkpoint {path} to resume from; starting a new run")
    elif path.is_file():
        raise ValueError(f"{path} already exists; pass --resume to continue that run or choose another --ID")
    elif config.weights_init:
        init = load_checkpoint(_weights_file(config, config.weights_init))
        _grow_and_load(G, init, "Generator_state", "Generator_attrs")
        _grow_and_load(D, init, "Discriminator_state", "Discriminator_attrs")
    if data is not None:
        _grow_and_load(G, data, "Generator_state", "Generator_attrs")
        _grow_and_load(D, data, "Discriminator_state", "Discriminator_attrs")
    G.to(device)
    D.to(device)
    if config.channels_last:
        to_channels_last(G)
        to_channels_last(D)
    state = TrainingState(G, D, build_optimizer(G, config), build_optimizer(D, config), losses)
    if data is not None:
        state.epoch = int(data["epoch"])
        for key in LOSS_KEYS:
            stored = np.asarray(data[key], dtype=np.float64)[: config.N_epochs]
            losses[key][: len(stored)] = stored
        if "optimizer_G_state" in data:
            state.optimizer_G.load_state_dict(data["optimizer_G_state"])
            state.optimizer_D.load_state_dict(data["optimizer_D_state"])
        state.extra["rng_state"] = data.get("rng_state")
    return state


def _set_lr(state: TrainingState, config: TrainConfig, epoch: int) -> None:
    lr = learning_rate_at(epoch, config.learning_rate, config.transit_sch, config.N_epochs)
    for optimizer in (state.optimizer_G, state.optimizer_D):
        for group in optimizer.param_groups:
            group["lr"] = lr


def _make_loader(dataset: NeuronDataset, config: TrainConfig, device: torch.device):
    if config.image_preprocessing == "device":
        return DeviceBatches(dataset, config.batch_size, device)
    return DataLoader(
        dataset,
        batch_size=config.batch_size,
        shuffle=True,
        num_workers=config.N_workers,
        pin_memory=config.pin_memory,
    )


def _save(state: TrainingState, config: TrainConfig, epoch: int, fixed_latents: torch.Tensor) -> None:
    extra = {
        "format": FORMAT,
        "optimizer_G_state": state.optimizer_G.state_dict(),
        "optimizer_D_state": state.optimizer_D.state_dict(),
        "rng_state": capture_rng_state(),
        "config": config.to_dict(),
    }
    losses = {key: series[:epoch] for key, series in state.losses.items()}
    save_checkpoint(config.checkpoint_path, state.G, state.D, epoch, config.learning_rate, losses, extra)
    if config.snapshot_period and epoch % config.snapshot_period == 0:
        snapshot = config.checkpoint_path.with_name(f"GenDisc_{config.ID}_{epoch / 1000:g}k.pth")
        save_checkpoint(snapshot, state.G, state.D, epoch, config.learning_rate, losses, extra)
    was_training = state.G.training
    state.G.eval()
    with torch.no_grad():
        samples = state.G(fixed_latents.to(next(state.G.parameters()).device)).float().cpu()
    state.G.train(was_training)
    grid = Path(config.samples_sub_dir) / f"Samples_{config.ID}_{epoch}.png"
    save_sample_grid(samples, grid, final_size=state.G.image_size_max, nrow=4)


def train(config: TrainConfig, show_progress: bool = True) -> TrainingState:
    """Run (or resume) training as configured; returns the final state. See the module docstring."""
    device = resolve_device("auto" if config.device == "default" else config.device)
    seed_everything(config.seed)
    for folder in (config.weights_dir, config.samples_sub_dir, config.logs_dir):
        Path(folder).mkdir(parents=True, exist_ok=True)
    dataset = NeuronDataset(
        config.dataset_dir,
        image_size=config.image_size,
        augmentations=True,
        translation=config.translation,
        seed=config.seed,
        min_images=config.batch_size,
    )
    state = initial_state(config, device)
    G, D = state.G, state.D
    if G.image_size != D.image_size:
        raise ValueError(f"generator ({G.image_size} px) and discriminator ({D.image_size} px) differ")
    dataset.set_image_size(G.image_size)
    loader = _make_loader(dataset, config, device)
    if state.extra.get("rng_state") is not None:
        restore_rng_state(state.extra["rng_state"])
    fixed_latents = sample_latent(16, config.latent_dim, seed=0)
    epoch_init = state.epoch + 1
    epoch_final = config.N_epochs + 1
    if config.N_epochs_session:
        epoch_final = min(epoch_final, epoch_init + config.N_epochs_session)
    _set_lr(state, config, epoch_init - 1)
    metrics = MetricsLogger(Path(config.logs_dir) / config.ID, tensorboard=False)
    metrics.drop_after(state.epoch)
    sim_lambda = config.sim_loss_lambda
    bar = progress(
        total=max(0, epoch_final - epoch_init),
        desc=f"neurongan {config.ID}",
        disable=not show_progress,
        unit="epoch",
    )
    start = time.time()
    for epoch in range(epoch_init, epoch_final):
        lr = state.optimizer_G.param_groups[0]["lr"]
        if G.fading and D.fading:
            G.advance_transition(config.alpha_step)
            D.advance_transition(config.alpha_step)
        elif G.fading != D.fading:
            raise RuntimeError(
                f"generator and discriminator fades are out of step (alpha {float(G.alpha)} "
                f"vs {float(D.alpha)})"
            )
        if epoch in config.transit_sch:
            G.increase_resolution()
            D.increase_resolution()
            dataset.set_image_size(G.image_size)
        n_critic = config.n_critic
        if config.adapt_critic and epoch - 1 > ADAPTIVE_CRITIC_PERIOD:
            n_critic = adaptive_critic_steps(
                state.losses["Loss_real"][: epoch - 1],
                state.losses["Loss_fake"][: epoch - 1],
                0,
                config.n_critic,
                ADAPTIVE_CRITIC_PERIOD,
            )
        if config.sim_loss_lambda_decay_rate > 0 and sim_lambda > 0:
            sim_lambda = (
                config.sim_loss_lambda * (1 - config.sim_loss_lambda_decay_rate) ** (epoch - 1)
                if sim_lambda > 1e-5
                else 0.0
            )
        stats = run_epoch(state, loader, config, device, n_critic, sim_lambda)
        stats = {name: value / len(dataset) for name, value in stats.items()}
        _set_lr(state, config, epoch)
        for key, name in zip(LOSS_KEYS, ("score_real", "score_fake", "G_loss", "D_loss"), strict=True):
            state.losses[key][epoch - 1] = stats[name]
        state.epoch = epoch
        metrics.log(epoch, lr=lr, alpha=float(G.alpha), resolution=G.image_size, **stats)
        if epoch % MONITORING_PERIOD == 0:
            seconds = (time.time() - start) / max(1, epoch - epoch_init)
            bar.write(monitoring_line(epoch, seconds, lr, G, stats))
        if epoch % config.checkpointing_period == 0:
            _save(state, config, epoch, fixed_latents)
        bar.update(1)
    bar.close()
    metrics.close()
    return state


@contextlib.contextmanager
def frozen(net: torch.nn.Module) -> Iterator[None]:
    """Switch off ``net``'s parameter gradients inside the block: the generator step needs gradients through
    the critic, not of it (the original computed and then discarded them)."""
    flags = [p.requires_grad for p in net.parameters()]
    net.requires_grad_(False)
    try:
        yield
    finally:
        for parameter, flag in zip(net.parameters(), flags, strict=True):
            parameter.requires_grad_(flag)


def run_epoch(
    state: TrainingState, loader, config: TrainConfig, device: torch.device, n_critic: int, sim_lambda: float
) -> dict[str, float]:
    """One pass over the data; returns batch-size-weighted sums of the monitored values."""
    G, D = state.G, state.D
    sums = dict.fromkeys(("score_real", "score_fake", "D_loss", "G_loss", "D_grad_pen", "G_sim_loss"), 0.0)
    memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
    for images in loader:
        real = images.to(device, non_blocking=True).contiguous(memory_format=memory_format)
        batch = real.shape[0]
        for _ in range(max(n_critic, 1)):  # n_critic = 0: the losses are computed for monitoring only
            with autocast(device, config.precision):
                d_loss, score_real, score_fake, penalty = critic_loss(
                    G, D, real, drift_epsilon=config.drift_epsilon, lam=config.grad_pen_lambda
                )
            if n_critic > 0:
                D.zero_grad(set_to_none=True)
                d_loss.backward()
                state.optimizer_D.step()
        G.zero_grad(set_to_none=True)
        with frozen(D), autocast(device, config.precision):
            z = sample_latent(batch, G.latent_dim, device=device)
            if sim_lambda > 0:
                fake = G(z)
                g_loss = -D(fake).mean()
                sim = similarity_loss(fake.float(), z, sim_lambda)
                g_loss = g_loss + sim
            else:
                g_loss = g_wasserstein_loss(G, D, z)
                sim = torch.zeros(())
        g_loss.backward()
        state.optimizer_G.step()
        for name, value in (
            ("score_real", score_real),
            ("score_fake", score_fake),
            ("D_loss", d_loss),
            ("G_loss", g_loss),
            ("D_grad_pen", penalty),
            ("G_sim_loss", sim),
        ):
            sums[name] += batch * float(value.detach())
    return sums


def monitoring_line(
    epoch: int, seconds_per_epoch: float, lr: float, G: GeneratorPG, stats: dict[str, float]
) -> str:
    """The original's every-10-epochs status line."""
    parts = [
        f"Epoch:{epoch}",
        f"time(s)/iter:{seconds_per_epoch:.1f}",
        f"lr:{lr:.4g}",
        f"alpha:{float(G.alpha): >5.3f}",
        f"Res:{G.image_size}x{G.image_size}",
        f"Loss_real (<D(x)>_x):{stats['score_real']: >#7.4g}",
        f"Loss_fake (<D(G(z))>):{stats['score_fake']: >#7.4g}",
        f"G_loss:{stats['G_loss']: >#7.4g}",
        f"D_loss:{stats['D_loss']: >#7.4g}",
    ]
    if stats["D_grad_pen"] != 0:
        parts.append(f"D_grad_pen:{stats['D_grad_pen']: >#7.4g}")
    if stats["G_sim_loss"] != 0:
        parts.append(f"G_sim_loss:{stats['G_sim_loss']: >#7.4g}")
    return ", ".join(parts)
