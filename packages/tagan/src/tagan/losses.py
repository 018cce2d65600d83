"""Objectives and learning-rate schedules of TA-GAN (as in the original networks.py).

GAN losses take discriminator logits of any shape (PatchGAN maps ``(N, 1, h, w)``):
vanilla = binary cross-entropy with logits against 1 (real) / 0 (fake); lsgan = mean squared error against
the same targets; wgangp = ``-mean`` (real) / ``mean`` (fake).
"""

from __future__ import annotations

import argparse

import torch
from torch import nn
from torch.optim import lr_scheduler

GAN_MODES = ("vanilla", "lsgan", "wgangp")
LR_POLICIES = ("linear", "step", "plateau", "cosine")


class GANLoss(nn.Module):
    """GAN objective for ``--gan_mode``; ``loss(prediction, target_is_real)`` is a scalar tensor."""

    def __init__(self, gan_mode: str, target_real_label: float = 1.0, target_fake_label: float = 0.0):
        super().__init__()
        if gan_mode not in GAN_MODES:
            raise ValueError(f"--gan_mode {gan_mode!r} is unknown; expected one of {', '.join(GAN_MODES)}")
        self.gan_mode = gan_mode
        self.register_buffer("real_label", torch.tensor(target_real_label))
        self.register_buffer("fake_label", torch.tensor(target_fake_label))
        self.loss = {"vanilla": nn.BCEWithLogitsLoss(), "lsgan": nn.MSELoss(), "wgangp": None}[gan_mode]

    def forward(self, prediction: torch.Tensor, target_is_real: bool) -> torch.Tensor:
        if self.gan_mode == "wgangp":
            return -prediction.mean() if target_is_real else prediction.mean()
        target = (self.real_label if target_is_real else self.fake_label).to(prediction.dtype)
        return self.loss(prediction, target.expand_as(prediction))


def linear_decay_factor(epochs_done: int, epoch_count: int, niter: int, niter_decay: int) -> float:
    """Learning-rate factor of the 'linear' policy: 1 for ``niter`` epochs, then linearly towards 0 over
    ``niter_decay`` epochs: ``1 - max(0, e + epoch_count - niter) / (niter_decay + 1)``."""
    return 1.0 - max(0, epochs_done + epoch_count - niter) / float(niter_decay + 1)


def build_scheduler(optimizer: torch.optim.Optimizer, opt: argparse.Namespace):
    """The scheduler for ``--lr_policy``, stepped once at the end of each epoch."""
    if opt.lr_policy == "linear":
        return lr_scheduler.LambdaLR(
            optimizer, lambda e: linear_decay_factor(e, opt.epoch_count, opt.niter, opt.niter_decay)
        )
    if opt.lr_policy == "step":
        return lr_scheduler.StepLR(optimizer, step_size=opt.lr_decay_iters, gamma=0.1)
    if opt.lr_policy == "plateau":
        return lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=0.2, threshold=0.01, patience=5)
    if opt.lr_policy == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=opt.niter, eta_min=0)
    raise ValueError(f"--lr_policy {opt.lr_policy!r} is unknown; expected one of {', '.join(LR_POLICIES)}")
