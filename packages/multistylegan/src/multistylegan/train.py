"""Multi-StyleGAN training: the original's schedule, losses and regularisers (spec section 5).

One iteration, in the original's order: discriminator step (with wrong-order real sequences as fakes in the
last quarter of the epochs), lazy R1 every 16 iterations, CutMix augmentation + consistency steps with a
probability growing over the epochs, generator step with top-k, lazy path-length regularisation every 16
iterations, EMA of the generator. ADA wraps the discriminator unless ``no_ada``.

Runs on one CPU or GPU, or on several GPUs / processes with ``torchrun`` (DDP; ``--batch_size`` is the
global batch, split over the processes like the original's DataParallel). Checkpoints are written in the
original layout (:mod:`multistylegan.checkpoints`) and resuming keeps the EMA generator (the original
re-copied the raw generator on every resume).
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from insilico_core.train import (
    EMA,
    MetricsLogger,
    barrier,
    distributed_sampler,
    init_distributed,
    progress,
    save_image_grid,
    seed_everything,
    seeded_loader_kwargs,
    shutdown_distributed,
    unwrap_model,
    wrap_ddp,
)
from torch.utils.data import DataLoader

from . import __version__
from .augment import AdaptiveDiscriminatorAugmentation
from .checkpoints import (
    DISCRIMINATOR_PREFIXES,
    GENERATOR_PREFIXES,
    discriminator_config_from_state_dict,
    generator_config_from_state_dict,
    load_checkpoint,
    save_checkpoint,
    unwrap_state_dict,
)
from .config import HYPERPARAMETERS, discriminator_config, generator_config
from .data import TFLMDatasetGAN
from .images import save_sequence_pngs
from .losses import (
    PathLengthRegularization,
    TopK,
    cut_mix_logistic_loss,
    cut_mix_map,
    discriminator_logistic_loss,
    generator_logistic_loss,
    latent_noise,
    r1_penalty,
    wrong_order_permutation,
)
from .models import Discriminator, Generator
from .validation import validate

__all__ = ["TrainOptions", "Trainer", "train"]


@dataclass
class TrainOptions:
    """Flags of ``multistylegan-train``: the original script's (same names and defaults) and ours."""

    cuda_devices: str = "0, 1, 2, 3"
    batch_size: int = 24
    data_parallel: bool = False
    epochs: int = 100
    lr_generator: float = 2e-4
    lr_discriminator: float = 6e-4
    path_to_data: str = "./60x_10BF_200GFP_200RFP20_3Z_10min"
    load_checkpoint: str = ""
    resume_training: bool = False
    no_top_k: bool = False
    no_ada: bool = False
    # ours
    device: str = "auto"
    seed: int = 0
    out: str = "experiments"
    generator_channels: int | None = None
    discriminator_channels: int | None = None
    resolution: int | None = None
    save_every: int = 5
    validate_every: int = 10
    num_workers: int | None = None
    metric_samples: int = 5000
    inception_weights: str | None = None
    i3d_weights: str | None = None
    max_iterations: int | None = None
    cache_hdf5: str | None = None


class Trainer:
    """Builds the networks, optimisers, data and schedules from :class:`TrainOptions` and runs the epochs.

    Attributes after construction: ``generator`` / ``discriminator`` (possibly DDP- and ADA-wrapped),
    ``ema`` (core EMA, ``ema.module`` is the EMA generator), ``generator_optimizer``,
    ``discriminator_optimizer``, ``path_length_regularization``, ``run_dir``, ``epoch`` (next epoch to run)
    and ``step`` (iterations done).
    """

    def __init__(self, options: TrainOptions) -> None:
        self.options = options
        self.hyperparameters = dict(HYPERPARAMETERS)
        self.info = init_distributed(options.device)
        self.device = self.info.device
        if options.batch_size % self.info.world_size:
            raise ValueError(
                f"--batch_size {options.batch_size} must be divisible by the {self.info.world_size} processes"
            )
        self.local_batch = options.batch_size // self.info.world_size
        seed_everything(options.seed)

        self.dataset = TFLMDatasetGAN(options.path_to_data, no_rfp=True)
        if options.cache_hdf5:
            if self.info.is_main:
                self.dataset.with_hdf5_cache(options.cache_hdf5)
            barrier(self.info)
            self.dataset = self.dataset.with_hdf5_cache(options.cache_hdf5)
        checkpoint = self._read_checkpoint(options.load_checkpoint) if options.load_checkpoint else None
        data_size = self.dataset[0].shape[-1]
        if checkpoint is not None:
            # A resumed run keeps the networks of its checkpoint, whatever the width flags say
            self.generator_config, self.discriminator_config = _configs_of(checkpoint)
        else:
            resolution = options.resolution or data_size
            self.generator_config = generator_config(
                channels=options.generator_channels, resolution=resolution
            )
            self.discriminator_config = discriminator_config(channels=options.discriminator_channels)
        resolution = 4 * 2 ** (len(self.generator_config["channels"]) - 1)
        if resolution > data_size:
            raise ValueError(
                f"the generator's resolution {resolution} is larger than the data ({data_size} px)"
            )
        generator = Generator(config=self.generator_config).to(self.device)
        discriminator = Discriminator(config=self.discriminator_config, no_rfp=True).to(self.device)
        if self.info.is_main:
            print(f"Generator parameters: {sum(p.numel() for p in generator.parameters())}")
            print(f"Discriminator parameters: {sum(p.numel() for p in discriminator.parameters())}")
        # The GFP main convolutions never reach the output (original wiring): freeze them so DDP does not wait
        # for their gradients; they receive none in the original either.
        generator.main_convolutions_2.requires_grad_(False)
        self.generator_optimizer = torch.optim.Adam(
            generator.get_parameters(lr_main=options.lr_generator, lr_style=options.lr_generator / 100),
            betas=self.hyperparameters["betas"],
        )
        self.discriminator_optimizer = torch.optim.Adam(
            discriminator.parameters(), lr=options.lr_discriminator, betas=self.hyperparameters["betas"]
        )
        self.path_length_regularization = PathLengthRegularization().to(self.device)
        self.ema = EMA(generator, beta=0.999, copy_buffers=False)
        self.epoch = 0
        self.step = 0
        self.ada_state: dict[str, Any] | None = None
        if checkpoint is not None:
            self._load(checkpoint, generator, discriminator)
        self.generator = wrap_ddp(generator, self.info)
        # The CutMix steps train on the pixel-wise output only: the scalar head gets no gradient there
        discriminator = wrap_ddp(discriminator, self.info, find_unused_parameters=True)
        self.discriminator = (
            discriminator if options.no_ada else AdaptiveDiscriminatorAugmentation(discriminator)
        )
        if self.ada_state is not None and not options.no_ada:
            self.discriminator.controller.load_state_dict(self.ada_state)

        sampler = distributed_sampler(
            self.dataset, self.info, shuffle=True, seed=options.seed, drop_last=True
        )
        workers = options.num_workers if options.num_workers is not None else min(self.local_batch, 4)
        self.loader = DataLoader(
            self.dataset,
            batch_size=self.local_batch,
            sampler=sampler,
            drop_last=True,
            num_workers=workers,
            pin_memory=self.device.type == "cuda",
            persistent_workers=workers > 0,
            **seeded_loader_kwargs(options.seed, self.info.rank),
        )
        if len(self.loader) == 0:
            raise ValueError(
                f"{len(self.dataset)} sequences in {options.path_to_data} do not fill one batch of "
                f"{options.batch_size}; lower --batch_size"
            )
        self.iterations_per_epoch = len(self.loader)
        self.latent_dimensions = generator.latent_dimensions
        # Different noise on every process (the weights were made identical above and DDP keeps them so)
        seed_everything(options.seed + 7919 * (self.info.rank + 1) + self.step)
        self.validation_latents = [
            z.to(self.device) for z in torch.randn(2, 15, self.latent_dimensions).unbind(0)
        ]
        # Decisions that add a discriminator step (CutMix) must agree on every process, or DDP waits forever
        self.schedule_random = random.Random(options.seed + self.step)
        self.best_fvd = math.inf
        # FID/FVD/IS networks and real statistics, built at the first validation (None: not yet or skipped)
        self.validation_metrics = None
        self.validation_skipped = False
        self.run_dir = Path(options.out) / time.strftime("%d_%m_%Y__%H_%M_%S")
        self.logger = MetricsLogger(self.run_dir / "metrics", tensorboard=False)
        if self.info.is_main:
            for folder in ("models", "plots", "hyperparameters"):
                (self.run_dir / folder).mkdir(parents=True, exist_ok=True)
            record = {key: [str(value)] for key, value in self.hyperparameters.items()}
            record.update(
                {f"option_{key}": [str(value)] for key, value in dataclasses.asdict(options).items()}
            )
            (self.run_dir / "hyperparameters" / "hyperparameter.txt").write_text(json.dumps(record))

    # ------------------------------------------------------------------ checkpoints
    @staticmethod
    def _read_checkpoint(path: str) -> dict[str, Any]:
        checkpoint = load_checkpoint(path, map_location="cpu")
        missing = [key for key in ("generator", "generator_ema", "discriminator") if key not in checkpoint]
        if missing:
            raise ValueError(f"{path} cannot resume training: it lacks {', '.join(missing)}")
        return checkpoint

    def _load(self, checkpoint: dict[str, Any], generator: Generator, discriminator: Discriminator) -> None:
        generator.load_state_dict(unwrap_state_dict(checkpoint["generator"], GENERATOR_PREFIXES))
        self.ema.module.load_state_dict(unwrap_state_dict(checkpoint["generator_ema"], GENERATOR_PREFIXES))
        discriminator.load_state_dict(unwrap_state_dict(checkpoint["discriminator"], DISCRIMINATOR_PREFIXES))
        if "generator_optimizer" in checkpoint:
            self.generator_optimizer.load_state_dict(checkpoint["generator_optimizer"])
        if "discriminator_optimizer" in checkpoint:
            self.discriminator_optimizer.load_state_dict(checkpoint["discriminator_optimizer"])
        self.path_length_regularization.load_state_dict(checkpoint.get("path_length_regularization", {}))
        meta = checkpoint.get("meta", {})
        self.epoch = int(meta.get("epoch", 0))
        self.step = int(meta.get("step", 0))
        self.ada_state = meta.get("ada")

    def save(self, name: str) -> Path | None:
        """Write ``<run>/models/<name>`` in the original layout (main process only)."""
        if not self.info.is_main:
            return None
        discriminator = self.discriminator if self.options.no_ada else self.discriminator.discriminator
        meta = {
            "package": "multistylegan",
            "version": __version__,
            "generator_config": self.generator_config,
            "discriminator_config": self.discriminator_config,
            "epoch": self.epoch,
            "step": self.step,
            "seed": self.options.seed,
        }
        if not self.options.no_ada:
            meta["ada"] = self.discriminator.controller.state_dict()
        return save_checkpoint(
            self.run_dir / "models" / name,
            generator_ema=self.ema.module,
            generator=unwrap_model(self.generator),
            generator_optimizer=self.generator_optimizer,
            discriminator=unwrap_model(discriminator),
            discriminator_optimizer=self.discriminator_optimizer,
            path_length_regularization=self.path_length_regularization,
            meta=meta,
        )

    # ------------------------------------------------------------------ one iteration
    def _noise(self, batch_size: int) -> torch.Tensor | list[torch.Tensor]:
        return latent_noise(
            batch_size, self.latent_dimensions, self.hyperparameters["p_mixed_noise"], self.device
        )

    def _clip_and_step(self, module: torch.nn.Module, optimizer: torch.optim.Optimizer) -> None:
        torch.nn.utils.clip_grad_norm_(module.parameters(), max_norm=5.0)
        optimizer.step()

    def _zero_grads(self) -> None:
        self.discriminator_optimizer.zero_grad(set_to_none=True)
        self.generator_optimizer.zero_grad(set_to_none=True)

    def training_iteration(self, real: torch.Tensor, top_k: TopK | None) -> dict[str, float]:
        """One iteration on a real batch ``[B, 2, 3, H, W]``; returns the logged losses."""
        h = self.hyperparameters
        epochs = self.options.epochs
        resume = self.options.resume_training
        self.step += 1
        logged: dict[str, float] = {}

        # Discriminator: real vs generated (+ real sequences in a wrong time order from 3/4 of the epochs on)
        self._zero_grads()
        with torch.no_grad():
            fake = self.generator(self._noise(real.shape[0]))
        if self.epoch >= h["wrong_order_start"] * epochs or resume:
            count = max(1, int(h["batch_factor_wrong_order"] * real.shape[0]))
            fake = torch.cat([fake, real[:count][:, :, wrong_order_permutation(real.shape[2])]], dim=0)
        real_scalar, real_pixel = self.discriminator(real, is_real=True, is_cut_mix=False)
        fake_scalar, fake_pixel = self.discriminator(fake, is_real=False, is_cut_mix=False)
        loss_real, loss_fake = discriminator_logistic_loss(real_scalar, fake_scalar)
        loss_real_pixel, loss_fake_pixel = discriminator_logistic_loss(real_pixel, fake_pixel)
        (loss_real + loss_fake + loss_real_pixel + loss_fake_pixel).backward()
        self._clip_and_step(self.discriminator, self.discriminator_optimizer)
        logged.update(
            loss_discriminator_real=loss_real.item(),
            loss_discriminator_fake=loss_fake.item(),
            loss_discriminator_real_pixel_wise=loss_real_pixel.item(),
            loss_discriminator_fake_pixel_wise=loss_fake_pixel.item(),
        )

        # Lazy R1 on the real batch (no augmentation)
        if self.step % h["lazy_discriminator_regularization"] == 0:
            self._zero_grads()
            real = real.detach().requires_grad_(True)
            real_scalar, real_pixel = self.discriminator(real, is_real=False, is_cut_mix=True)
            penalty = r1_penalty(real_scalar, real_pixel, real)
            (h["w_discriminator_regularization_r1"] * penalty).backward()
            self._clip_and_step(self.discriminator, self.discriminator_optimizer)
            logged["loss_discriminator_regularization"] = penalty.item()

        # CutMix augmentation and consistency regularisation of the pixel-wise output
        draw = self.schedule_random.random
        if draw() <= 0.5 / epochs * self.epoch or (resume and draw() <= 0.5):
            real_plain, fake_plain = real.detach(), fake[: real.shape[0]].detach()
            self._zero_grads()
            mask = cut_mix_map(real.shape[-2], real.shape[-1], self.device)
            _, prediction = self.discriminator(real_plain * mask + fake_plain * (1.0 - mask), is_cut_mix=True)
            mix_real, mix_fake = cut_mix_logistic_loss(prediction, mask)
            (h["w_discriminator_regularization"] * (mix_real + mix_fake)).backward()
            self._clip_and_step(self.discriminator, self.discriminator_optimizer)
            logged["loss_cut_mix_augmentation"] = (mix_real + mix_fake).item()

            self.discriminator_optimizer.zero_grad(set_to_none=True)
            mask = cut_mix_map(real.shape[-2], real.shape[-1], self.device)
            target = real_pixel.detach() * mask + fake_pixel[: real.shape[0]].detach() * (1.0 - mask)
            _, prediction = self.discriminator(real_plain * mask + fake_plain * (1.0 - mask), is_cut_mix=True)
            consistency = F.mse_loss(prediction, target)
            (h["w_discriminator_regularization"] * consistency).backward()
            self._clip_and_step(self.discriminator, self.discriminator_optimizer)
            logged["loss_cut_mix_regularization"] = consistency.item()

        # Generator, on its top-k best-scored samples when top-k is on
        self._zero_grads()
        fake = self.generator(self._noise(real.shape[0]))
        fake_scalar, fake_pixel = self.discriminator(fake, is_real=False, is_cut_mix=False)
        if top_k is not None:
            fake_scalar, indices = top_k(fake_scalar)
            fake_pixel = fake_pixel[indices]
        loss_generator = generator_logistic_loss(fake_scalar)
        loss_generator_pixel = generator_logistic_loss(fake_pixel)
        (loss_generator + loss_generator_pixel).backward()
        self._clip_and_step(self.generator, self.generator_optimizer)
        logged.update(
            loss_generator=loss_generator.item(), loss_generator_pixel_wise=loss_generator_pixel.item()
        )

        # Lazy path-length regularisation on half a batch
        if self.step % h["lazy_generator_regularization"] == 0:
            self._zero_grads()
            batch = max(1, int(h["batch_size_shrink_path_length_regularization"] * real.shape[0]))
            grads = self.generator(self._noise(batch), return_path_length_grads=True)
            penalty, path_length = self.path_length_regularization(grads)
            (h["w_generator_regularization"] * penalty).backward()
            self._clip_and_step(self.generator, self.generator_optimizer)
            logged.update(path_length=path_length.item(), loss_path_length_regularization=penalty.item())

        self.ema.update(self.generator)
        if not self.options.no_ada:
            logged["ada_p"] = self.discriminator.p
        return logged

    # ------------------------------------------------------------------ epochs
    def _prepare_real(self, batch: torch.Tensor) -> torch.Tensor:
        real = batch.to(self.device, non_blocking=True)
        resolution = unwrap_model(self.generator).resolution
        if real.shape[-1] != resolution:
            flat = real.flatten(0, 2).unsqueeze(1)
            flat = F.interpolate(flat, size=(resolution, resolution), mode="area")
            real = flat.view(*real.shape[:3], resolution, resolution)
        return real

    @torch.no_grad()
    def save_plots(self) -> None:
        """The original's per-epoch PNGs of the 15 validation latents (EMA and raw generator, fixed and random
        noise) in ``<run>/plots``, plus one overview grid ``grid_ema_<epoch>.png``."""
        if not self.info.is_main:
            return
        plots = self.run_dir / "plots"
        generator = unwrap_model(self.generator)
        generator.eval()
        for label, network in (("prediction_ema", self.ema.module), ("prediction", generator)):
            for suffix, randomize in (("", False), ("_rand", True)):
                images = network(self.validation_latents, randomize_noise=randomize)
                for index, sequence in enumerate(images):
                    save_sequence_pngs(sequence, plots, f"{label}{suffix}_{self.epoch}", index)
                if label == "prediction_ema" and not randomize:
                    frames = images.flatten(1, 2).reshape(-1, 1, *images.shape[-2:])
                    save_image_grid(
                        frames, plots / f"grid_ema_{self.epoch}.png", nrow=6, value_range=(0.0, 1.0)
                    )
        generator.train()

    def train_epoch(self, bar: Any, top_k: TopK | None) -> None:
        self.loader.sampler.set_epoch(self.epoch)
        unwrap_model(self.generator).train()
        self.discriminator.train()
        for batch in self.loader:
            logged = self.training_iteration(self._prepare_real(batch), top_k)
            self.logger.log(self.step, epoch=self.epoch, **logged)
            bar.update(1)
            loss_d = sum(
                logged[k] for k in logged if k.startswith("loss_discriminator_") and "regular" not in k
            )
            loss_g = logged["loss_generator"] + logged["loss_generator_pixel_wise"]
            bar.set_description(f"Loss D={loss_d:.3f}, Loss G={loss_g:.3f}, Best FVD={self.best_fvd:.3f}")
            if self.options.max_iterations is not None and self.step >= self.options.max_iterations:
                break

    def run(self) -> Path:
        """Train until ``epochs``; returns the run folder."""
        options = self.options
        total = options.epochs * self.iterations_per_epoch
        top_k = None
        if not options.no_top_k:
            if options.resume_training:
                top_k = TopK(starting_iteration=0, final_iteration=1)
            else:
                top_k = TopK(
                    int(self.hyperparameters["top_k_start"] * total),
                    int(self.hyperparameters["top_k_finish"] * total),
                    iterations=self.step,
                )
        bar = progress(total=total, initial=min(self.step, total), desc="Training", unit="it")
        try:
            while self.epoch < options.epochs:
                self.train_epoch(bar, top_k)
                self.epoch += 1
                self.save_plots()
                if self.epoch % options.validate_every == 0:
                    scores = validate(self, options)
                    if scores:
                        self.logger.log(self.step, epoch=self.epoch, **scores)
                        self.best_fvd = min(self.best_fvd, scores.get("FVD_bf", math.inf))
                stop = options.max_iterations is not None and self.step >= options.max_iterations
                if self.epoch % options.save_every == 0 or self.epoch == options.epochs or stop:
                    self.save(f"checkpoint_{self.epoch}.pt")
                if stop:
                    break
        finally:
            bar.close()
            self.logger.close()
        return self.run_dir


def _configs_of(checkpoint: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(generator config, discriminator config) of a checkpoint: from our ``meta`` entry, else from the
    shapes of the weights (original files)."""
    meta = checkpoint.get("meta", {})
    if "generator_config" in meta and "discriminator_config" in meta:
        return meta["generator_config"], meta["discriminator_config"]
    generator_state = unwrap_state_dict(checkpoint["generator"], GENERATOR_PREFIXES)
    discriminator_state = unwrap_state_dict(checkpoint["discriminator"], DISCRIMINATOR_PREFIXES)
    discriminator_config_, planes = discriminator_config_from_state_dict(discriminator_state)
    if planes != 6:
        raise ValueError(
            f"training uses BF + GFP (6 input planes); the checkpoint's discriminator takes {planes}"
        )
    return generator_config_from_state_dict(generator_state), discriminator_config_


def train(options: TrainOptions) -> Path:
    """Run a whole training from ``options``; returns the run folder (checkpoints in ``<run>/models``)."""
    trainer = Trainer(options)
    try:
        return trainer.run()
    finally:
        shutdown_distributed(trainer.info)
