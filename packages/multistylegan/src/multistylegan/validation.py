"""FID / FVD / IS per domain of the EMA generator during training, with Multi-StyleGAN's definitions
(spec section 6), computed with the core's feature networks and streaming statistics.

Definitions kept from the original: real statistics from the first ``samples`` training sequences (the
shuffled, randomly flipped training loader), computed once and reused; fakes from z ~ N(0, I) without style
mixing and with random noise injection. FID and IS: ONE random time step per batch and domain, grey
replicated to 3 channels, per-sample min-max normalisation to [-0.998, 1], 299 x 299 (kornia, antialias),
torchvision's ImageNet Inception-v3 (``Mixed_7c`` pooled features for FID; the full classifier after the
original's double input normalisation for IS). FVD: the whole 3-frame clip, 224 x 224, I3D ``Mixed_5c``
features (1024-d). None of these numbers is comparable with standard FID / FVD.

One generation pass feeds all three metrics (the original generated a separate set for each). The weight
files are never downloaded: ``--inception_weights`` / ``--i3d_weights`` or the core's weights folders
(``insilico-core weights list``); without them validation is skipped with one message.
"""

from __future__ import annotations

import math
import os
from typing import Any

import torch
from insilico_core.metrics import (
    FrechetDistance,
    I3DFeatures,
    InceptionFeatures,
    InceptionScore,
    RunningMoments,
    load_i3d,
    load_inception,
)

from .losses import latent_noise

__all__ = ["DOMAINS", "ValidationMetrics", "validate"]

DOMAINS = ("bf", "gfp")


def _random_frame(sequences: torch.Tensor, domain: int) -> torch.Tensor:
    """``[B, 1, H, W]``: ``domain`` of ``[B, 2, T, H, W]`` at one time step drawn once for the batch."""
    index = int(torch.randint(0, sequences.shape[2], (1,)))
    return sequences[:, domain, index].unsqueeze(1)


class ValidationMetrics:
    """FID, FVD and IS per domain (BF, GFP) of a generator against a training loader.

    image_features: frames ``[N, 1, H, W]`` -> features ``[N, D]``, with ``.probabilities(frames)`` ->
    class probabilities (the core's ``InceptionFeatures``); clip_features: clips ``[N, 1, T, H, W]`` ->
    ``[N, D]`` (the core's ``I3DFeatures``). :meth:`from_weight_files` builds both as Multi-StyleGAN does.
    """

    def __init__(
        self,
        image_features: Any,
        clip_features: Any,
        samples: int = 5000,
        batch_size: int = 24,
        device: torch.device | str = "cpu",
    ) -> None:
        self.device = torch.device(device)
        self.samples = samples
        self.batch_size = batch_size
        self.image_features = image_features
        self.fid = {domain: FrechetDistance(image_features) for domain in DOMAINS}
        self.fvd = {domain: FrechetDistance(clip_features) for domain in DOMAINS}
        self.real_seen = 0

    @classmethod
    def from_weight_files(
        cls,
        inception_weights: str | os.PathLike | None,
        i3d_weights: str | os.PathLike | None,
        samples: int = 5000,
        batch_size: int = 24,
        device: torch.device | str = "cpu",
    ) -> ValidationMetrics:
        """torchvision's ImageNet Inception-v3 and piergiaj's I3D from their files (None: the core's weights
        folders); FileNotFoundError names a missing file, its checksum and where it is published."""
        inception = load_inception("torchvision", inception_weights).to(device)
        i3d = load_i3d(i3d_weights).to(device)
        return cls(
            InceptionFeatures(inception, "multistylegan"), I3DFeatures(i3d), samples, batch_size, device
        )

    def _real_statistics(self, loader: Any, prepare: Any) -> None:
        for batch in loader:
            if self.real_seen >= self.samples:
                break
            real = prepare(batch)[: self.samples - self.real_seen]
            for d, domain in enumerate(DOMAINS):
                self.fid[domain].update(real=_random_frame(real, d))
                self.fvd[domain].update(real=real[:, d : d + 1])
            self.real_seen += real.shape[0]

    @torch.no_grad()
    def evaluate(
        self, generator: torch.nn.Module, loader: Any, prepare: Any = lambda batch: batch
    ) -> dict[str, float]:
        """``{FID_bf, FID_gfp, FVD_bf, FVD_gfp, IS_bf, IS_gfp}``; ``prepare`` maps a loader batch to the
        generator's resolution and device."""
        if self.real_seen == 0:
            self._real_statistics(loader, lambda batch: prepare(batch).to(self.device))
        for metric in (*self.fid.values(), *self.fvd.values()):
            metric.fake_moments = RunningMoments()
        scores = {domain: InceptionScore(self.image_features.probabilities) for domain in DOMAINS}
        was_training = generator.training
        generator.eval()
        generated = 0
        for _ in range(math.ceil(self.samples / self.batch_size)):
            z = latent_noise(self.batch_size, generator.latent_dimensions, 0.0, self.device)
            fake = generator(z)[: self.samples - generated].float()
            for d, domain in enumerate(DOMAINS):
                self.fid[domain].update(fake=_random_frame(fake, d))
                self.fvd[domain].update(fake=fake[:, d : d + 1])
                scores[domain].update(fake=_random_frame(fake, d))
            generated += fake.shape[0]
        generator.train(was_training)
        results: dict[str, float] = {}
        for domain in DOMAINS:
            results[f"FID_{domain}"] = self.fid[domain].compute()
            results[f"FVD_{domain}"] = self.fvd[domain].compute()
            results[f"IS_{domain}"] = scores[domain].compute()
        return results


def validate(trainer: Any, options: Any) -> dict[str, float]:
    """The metrics of ``trainer.ema.module`` on the main process, or ``{}`` with one message when the
    feature-network weights are not available (training goes on)."""
    if not trainer.info.is_main:
        return {}
    if trainer.validation_skipped:
        return {}
    if trainer.validation_metrics is None:
        try:
            trainer.validation_metrics = ValidationMetrics.from_weight_files(
                options.inception_weights,
                options.i3d_weights,
                samples=options.metric_samples,
                batch_size=trainer.local_batch,
                device=trainer.device,
            )
        except FileNotFoundError as error:
            print(f"[multistylegan] FID/FVD/IS skipped: {error}")
            trainer.validation_skipped = True
            return {}
    return trainer.validation_metrics.evaluate(trainer.ema.module, trainer.loader, trainer._prepare_real)
