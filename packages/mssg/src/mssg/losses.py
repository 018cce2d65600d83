"""MSSG losses: StyleGAN2's (non-saturating, lazy R1, path length, style mixing) + covariate heads (spec §5).

The discriminator returns ``o [N, 1 + c_dim]``: ``o[:, 0]`` the real/fake logit, ``o[:, 1:]`` predictions of
``c``. Auxiliary terms per covariate kind (columns from the covariate layout instead of MSSG's width-based
dispatch): continuous columns together -> MSE; binary columns together -> BCE on sigmoid; each one-hot group
-> cross-entropy against its argmax; real multi-source runs add the source flag column (0 = source1,
1 = source2) as its own BCE-on-sigmoid term (``loss_real_ms.py``). They are weighted by the current lambda
(:func:`lambda_schedule`) and applied to real images in the D step and to generated images (against their
conditioning) in the G step.

The adversarial loss is MSSG's ``BCE(sigmoid(logit), target)`` (log clamped at -100) by default
(``loss_impl='bce_sigmoid'``) or stock StyleGAN's softplus form (``'softplus'``); both are the
non-saturating loss.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from insilico_core import ops
from torch import nn

from mssg.augmentation import AdaController
from mssg.covariates import Covariate

LOSS_IMPLS = ("bce_sigmoid", "softplus")


def lambda_schedule(kimg: float, lambda_: float, lambda_step: int) -> float:
    """MSSG's warm-up of the auxiliary weight: 0 while kimg <= lambda_step, then min(lambda_, e^(k - 11)) for
    k = floor(kimg / lambda_step) in 1..9, and lambda_ from k = 10 on."""
    if kimg <= lambda_step:
        return 0.0
    k = int(kimg // lambda_step)
    if k >= 10:
        return float(lambda_)
    return float(min(lambda_, math.exp(k - 11)))


@dataclass(frozen=True)
class AuxLayout:
    """Column indices of ``c`` by kind: continuous, binary, the one-hot groups, and (real multi-source) the
    source flag."""

    continuous: tuple[int, ...]
    binary: tuple[int, ...]
    onehots: tuple[tuple[int, ...], ...]
    source: int | None = None

    @classmethod
    def from_covariates(cls, covariates: tuple[Covariate, ...], source_flag: bool = False) -> AuxLayout:
        """Layout of ``covariates`` in order; ``source_flag`` appends the source column after them."""
        continuous, binary, onehots, col = [], [], [], 0
        for cov in covariates:
            if cov.classes:
                onehots.append(tuple(range(col, col + cov.classes)))
            elif cov.binary:
                binary.append(col)
            else:
                continuous.append(col)
            col += cov.width
        return cls(tuple(continuous), tuple(binary), tuple(onehots), col if source_flag else None)


def aux_loss(pred: torch.Tensor, c: torch.Tensor, layout: AuxLayout) -> torch.Tensor:
    """Covariate prediction loss ``[]`` of ``pred = o[:, 1:]`` against ``c`` (both ``[N, c_dim]``)."""
    loss = pred.new_zeros([])
    if layout.continuous:
        idx = list(layout.continuous)
        loss = loss + F.mse_loss(pred[:, idx], c[:, idx])
    if layout.binary:
        idx = list(layout.binary)
        loss = loss + F.binary_cross_entropy(torch.sigmoid(pred[:, idx]), c[:, idx].clamp(0, 1))
    for group in layout.onehots:
        idx = list(group)
        loss = loss + F.cross_entropy(pred[:, idx], c[:, idx].argmax(dim=1))
    if layout.source is not None:
        col = layout.source
        loss = loss + F.binary_cross_entropy(torch.sigmoid(pred[:, col]), c[:, col])
    return loss


def adversarial_loss(logits: torch.Tensor, real: bool, impl: str) -> torch.Tensor:
    """Per-sample non-saturating loss ``[N]`` of logits ``[N]`` towards real (True) or fake (False)."""
    if impl == "softplus":
        return F.softplus(-logits) if real else F.softplus(logits)
    target = torch.full_like(logits, 1.0 if real else 0.0)
    return F.binary_cross_entropy(torch.sigmoid(logits), target, reduction="none")


class MSSGLoss:
    """Phase-wise losses of one training step (StyleGAN2-ADA ``StyleGAN2Loss`` + MSSG covariate heads).

    Args:
        G, D: generator and discriminator (possibly DDP-wrapped; ``G.mapping`` / ``G.synthesis`` reached
        through
            ``.module`` then).
        layout: where the covariate kinds sit in ``c``.
        r1_gamma, style_mixing_prob, pl_weight, pl_batch_shrink, pl_decay: stock StyleGAN2 settings.
        blur_init_sigma, blur_fade_kimg: StyleGAN3-R's blur of D inputs.
        loss_impl: 'bce_sigmoid' (MSSG) or 'softplus' (stock).
    """

    def __init__(
        self,
        G: nn.Module,
        D: nn.Module,
        layout: AuxLayout,
        r1_gamma: float = 10.0,
        style_mixing_prob: float = 0.0,
        pl_weight: float = 0.0,
        pl_batch_shrink: int = 2,
        pl_decay: float = 0.01,
        blur_init_sigma: float = 0.0,
        blur_fade_kimg: float = 0.0,
        loss_impl: str = "bce_sigmoid",
        augment_pipe: nn.Module | None = None,
        ada: AdaController | None = None,
    ) -> None:
        if loss_impl not in LOSS_IMPLS:
            raise ValueError(f"loss_impl must be one of {', '.join(LOSS_IMPLS)}, got {loss_impl!r}")
        self.G, self.D, self.layout = G, D, layout
        self.r1_gamma = r1_gamma
        self.style_mixing_prob = style_mixing_prob
        self.pl_weight = pl_weight
        self.pl_batch_shrink = pl_batch_shrink
        self.pl_decay = pl_decay
        self.blur_init_sigma = blur_init_sigma
        self.blur_fade_kimg = blur_fade_kimg
        self.loss_impl = loss_impl
        self.pl_mean = torch.zeros([])
        self.aux_weight = 0.0
        self.augment_pipe = augment_pipe
        self.ada = ada

    def _inner(self, module: nn.Module) -> nn.Module:
        return getattr(module, "module", module)

    def run_G(
        self, z: torch.Tensor, c: torch.Tensor, update_emas: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        G = self._inner(self.G)
        ws = G.mapping(z, c, update_emas=update_emas)
        if self.style_mixing_prob > 0:
            cutoff = torch.empty([], dtype=torch.int64).random_(1, ws.shape[1])
            if float(torch.rand([])) >= self.style_mixing_prob:
                cutoff = torch.tensor(ws.shape[1])
            mixed = G.mapping(torch.randn_like(z), c, update_emas=False)
            ws = torch.cat([ws[:, :cutoff], mixed[:, cutoff:]], dim=1)
        return G.synthesis(ws, update_emas=update_emas), ws

    def run_D(self, img: torch.Tensor, c: torch.Tensor, blur_sigma: float = 0.0, update_emas: bool = False):
        blur_size = int(np.floor(blur_sigma * 3))
        if blur_size > 0:
            f = (
                torch.arange(-blur_size, blur_size + 1, device=img.device)
                .div(blur_sigma)
                .square()
                .neg()
                .exp2()
            )
            img = ops.filter2d(img, f / f.sum())
        if self.augment_pipe is not None:
            img = self.augment_pipe(img)
        return self.D(img, c, update_emas=update_emas)

    def accumulate_gradients(
        self,
        phase: str,
        real_img: torch.Tensor,
        real_c: torch.Tensor,
        gen_z: torch.Tensor,
        gen_c: torch.Tensor,
        gain: float,
        cur_nimg: int,
    ) -> dict[str, float]:
        """Backpropagate one phase ('Gmain', 'Greg', 'Gboth', 'Dmain', 'Dreg', 'Dboth') for one chunk."""
        stats: dict[str, float] = {}
        blur_sigma = 0.0
        if self.blur_fade_kimg > 0:
            blur_sigma = max(1 - cur_nimg / (self.blur_fade_kimg * 1e3), 0) * self.blur_init_sigma
        do_Gmain = phase in ("Gmain", "Gboth")
        do_Dmain = phase in ("Dmain", "Dboth")
        do_Gpl = phase in ("Greg", "Gboth") and self.pl_weight != 0
        do_Dr1 = phase in ("Dreg", "Dboth") and self.r1_gamma != 0

        if do_Gmain:
            gen_img, _ = self.run_G(gen_z, gen_c)
            out = self.run_D(gen_img, gen_c, blur_sigma)
            loss = adversarial_loss(out[:, 0], True, self.loss_impl).mean()
            stats["Loss/G/loss"] = float(loss.detach())
            if self.aux_weight > 0:
                aux = aux_loss(out[:, 1:], gen_c, self.layout)
                stats["Loss/G/aux"] = float(aux.detach())
                loss = loss + self.aux_weight * aux
            loss.mul(gain).backward()

        if do_Gpl:
            batch = max(gen_z.shape[0] // self.pl_batch_shrink, 1)
            gen_img, gen_ws = self.run_G(gen_z[:batch], gen_c[:batch])
            pl_noise = torch.randn_like(gen_img) / np.sqrt(gen_img.shape[2] * gen_img.shape[3])
            (pl_grads,) = torch.autograd.grad((gen_img * pl_noise).sum(), gen_ws, create_graph=True)
            pl_lengths = pl_grads.square().sum(2).mean(1).sqrt()
            self.pl_mean = self.pl_mean.to(pl_lengths.device)
            pl_mean = self.pl_mean.lerp(pl_lengths.mean(), self.pl_decay)
            self.pl_mean.copy_(pl_mean.detach())
            penalty = (pl_lengths - pl_mean).square()
            stats["Loss/pl_penalty"] = float(penalty.detach().mean())
            (penalty * self.pl_weight).mean().mul(gain).backward()

        if do_Dmain:
            gen_img, _ = self.run_G(gen_z, gen_c, update_emas=True)
            out = self.run_D(gen_img.detach(), gen_c, blur_sigma, update_emas=True)
            loss_fake = adversarial_loss(out[:, 0], False, self.loss_impl).mean()
            loss_fake.mul(gain).backward()
            stats["Loss/D/fake"] = float(loss_fake.detach())

        if do_Dmain or do_Dr1:
            real = real_img.detach().requires_grad_(do_Dr1)
            out = self.run_D(real, real_c, blur_sigma)
            if self.ada is not None:
                self.ada.record(out[:, 0])
            loss = real.new_zeros([])
            if do_Dmain:
                loss_real = adversarial_loss(out[:, 0], True, self.loss_impl).mean()
                stats["Loss/D/real"] = float(loss_real.detach())
                loss = loss + loss_real
                if self.aux_weight > 0:
                    aux = aux_loss(out[:, 1:], real_c, self.layout)
                    stats["Loss/D/aux"] = float(aux.detach())
                    loss = loss + self.aux_weight * aux
            if do_Dr1:
                (r1_grads,) = torch.autograd.grad(out[:, 0].sum(), real, create_graph=True)
                penalty = r1_grads.square().sum([1, 2, 3])
                stats["Loss/r1_penalty"] = float(penalty.detach().mean())
                loss = loss + (penalty * (self.r1_gamma / 2)).mean()
            loss.mul(gain).backward()
        return stats
