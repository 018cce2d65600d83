"""Inception-v3 feature networks for FID, KID and IS, in two published variants.

- ``'tf-fid'``: the TensorFlow FID network (``inception-2015-12-05``) as pytorch-fid ports it (weights file
  ``pt_inception-2015-12-05-6726825d.pth``): torchvision's layer layout and key names with 1008 classes, no
  auxiliary head, average pools that exclude padding in the A/C/E blocks and a max pool in the last E block
  (pytorch-fid's ``FIDInceptionA/C/E_1/E_2``). pytorch-fid, torch-fidelity, torchmetrics and StyleGAN's
  detector compute FID with these weights.
- ``'torchvision'``: torchvision's ImageNet Inception-v3 (``inception_v3_google-0cc3c7bd.pth``, 1000
  classes), which Multi-StyleGAN uses for its FID and IS.

Both share :class:`InceptionV3`; the preprocessing of each published metric lives in
:class:`InceptionFeatures`. Input images are ``[N, C, H, W]`` with C = 1 (repeated to 3) or 3.
"""

from __future__ import annotations

import os
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from ..legacy import load_torch_file
from .weights import resolve_weights

InceptionVariant = Literal["tf-fid", "torchvision"]
PoolKind = Literal["avg", "avg-exclude-pad", "max"]

WEIGHTS_NAMES: dict[str, str] = {"tf-fid": "inception-fid", "torchvision": "inception-torchvision"}


class BasicConv2d(nn.Module):
    """Convolution without bias, batch norm (eps 1e-3), ReLU: keys ``conv.weight`` and ``bn.*``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0) -> None:
        super().__init__()
        self.conv = nn.Conv2d(
            in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=False
        )
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


def _pool_3x3(x: torch.Tensor, kind: PoolKind) -> torch.Tensor:
    """The 3x3 stride-1 pool in front of a block's pool branch."""
    if kind == "max":
        return F.max_pool2d(x, kernel_size=3, stride=1, padding=1)
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=kind == "avg")


class InceptionA(nn.Module):
    def __init__(self, in_channels: int, pool_features: int, pool: PoolKind) -> None:
        super().__init__()
        self.pool = pool
        self.branch1x1 = BasicConv2d(in_channels, 64, 1)
        self.branch5x5_1 = BasicConv2d(in_channels, 48, 1)
        self.branch5x5_2 = BasicConv2d(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, padding=1)
        self.branch_pool = BasicConv2d(in_channels, pool_features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat(
            [
                self.branch1x1(x),
                self.branch5x5_2(self.branch5x5_1(x)),
                self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
                self.branch_pool(_pool_3x3(x, self.pool)),
            ],
            1,
        )


class InceptionB(nn.Module):
    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.branch3x3 = BasicConv2d(in_channels, 384, 3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat(
            [
                self.branch3x3(x),
                self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
                F.max_pool2d(x, kernel_size=3, stride=2),
            ],
            1,
        )


class InceptionC(nn.Module):
    def __init__(self, in_channels: int, channels_7x7: int, pool: PoolKind) -> None:
        super().__init__()
        c7 = channels_7x7
        self.pool = pool
        self.branch1x1 = BasicConv2d(in_channels, 192, 1)
        self.branch7x7_1 = BasicConv2d(in_channels, c7, 1)
        self.branch7x7_2 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(in_channels, c7, 1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, (1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(in_channels, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch7x7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        branch7x7dbl = x
        for layer in (self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4):
            branch7x7dbl = layer(branch7x7dbl)
        branch7x7dbl = self.branch7x7dbl_5(branch7x7dbl)
        return torch.cat(
            [self.branch1x1(x), branch7x7, branch7x7dbl, self.branch_pool(_pool_3x3(x, self.pool))], 1
        )


class InceptionD(nn.Module):
    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.branch3x3_1 = BasicConv2d(in_channels, 192, 1)
        self.branch3x3_2 = BasicConv2d(192, 320, 3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(in_channels, 192, 1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch7x7x3 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return torch.cat(
            [self.branch3x3_2(self.branch3x3_1(x)), branch7x7x3, F.max_pool2d(x, kernel_size=3, stride=2)], 1
        )


class InceptionE(nn.Module):
    def __init__(self, in_channels: int, pool: PoolKind) -> None:
        super().__init__()
        self.pool = pool
        self.branch1x1 = BasicConv2d(in_channels, 320, 1)
        self.branch3x3_1 = BasicConv2d(in_channels, 384, 1)
        self.branch3x3_2a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 448, 1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(in_channels, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch3x3 = self.branch3x3_1(x)
        branch3x3dbl = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        return torch.cat(
            [
                self.branch1x1(x),
                self.branch3x3_2a(branch3x3),
                self.branch3x3_2b(branch3x3),
                self.branch3x3dbl_3a(branch3x3dbl),
                self.branch3x3dbl_3b(branch3x3dbl),
                self.branch_pool(_pool_3x3(x, self.pool)),
            ],
            1,
        )


class InceptionV3(nn.Module):
    """Inception-v3 from ``Conv2d_1a_3x3`` to ``Mixed_7c`` plus ``fc``, with torchvision's key names.

    ``features(x)``: 2048-d global-average-pooled ``Mixed_7c`` output for inputs ``[N, 3, 299, 299]`` already
    scaled to the network's range ([-1, 1]); ``forward(x)``: class logits ``fc(features)``.
    """

    def __init__(self, variant: InceptionVariant = "tf-fid") -> None:
        super().__init__()
        if variant not in WEIGHTS_NAMES:
            raise ValueError(f"variant: expected 'tf-fid' or 'torchvision', got {variant!r}")
        self.variant = variant
        tf = variant == "tf-fid"
        pool: PoolKind = "avg-exclude-pad" if tf else "avg"
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, 3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, 1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, 3)
        self.Mixed_5b = InceptionA(192, 32, pool)
        self.Mixed_5c = InceptionA(256, 64, pool)
        self.Mixed_5d = InceptionA(288, 64, pool)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, 128, pool)
        self.Mixed_6c = InceptionC(768, 160, pool)
        self.Mixed_6d = InceptionC(768, 160, pool)
        self.Mixed_6e = InceptionC(768, 192, pool)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE(1280, pool)
        self.Mixed_7c = InceptionE(2048, "max" if tf else "avg")
        self.fc = nn.Linear(2048, 1008 if tf else 1000)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        for block in (
            self.Mixed_5b,
            self.Mixed_5c,
            self.Mixed_5d,
            self.Mixed_6a,
            self.Mixed_6b,
            self.Mixed_6c,
        ):
            x = block(x)
        for block in (self.Mixed_6d, self.Mixed_6e, self.Mixed_7a, self.Mixed_7b, self.Mixed_7c):
            x = block(x)
        return x.mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))


def load_inception(
    variant: InceptionVariant = "tf-fid", path: str | os.PathLike | None = None
) -> InceptionV3:
    """Inception-v3 of ``variant`` in eval mode with weights from ``path`` or the weights directories.

    Accepts the published files' key layouts (pytorch-fid's state dict; torchvision's, whose ``AuxLogits.*``
    keys are dropped since no metric uses the auxiliary head). Raises FileNotFoundError (see
    :func:`~insilico_core.metrics.weights.resolve_weights`) when the file is missing.
    """
    model = InceptionV3(variant)
    state = load_torch_file(resolve_weights(WEIGHTS_NAMES[variant], path))
    state = {key: value for key, value in state.items() if not key.startswith("AuxLogits.")}
    model.load_state_dict(state)
    return model.eval().requires_grad_(False)


def normalize_per_sample(x: torch.Tensor, floor: float = 1e-3) -> torch.Tensor:
    """Multi-StyleGAN's ``normalize_m1_1_batch``: per sample (x − min)/(max − min), clamp(floor), 2x − 1."""
    flat = x.flatten(start_dim=1)
    low = flat.min(dim=1).values.view(-1, *([1] * (x.dim() - 1)))
    high = flat.max(dim=1).values.view(-1, *([1] * (x.dim() - 1)))
    return ((x - low) / (high - low)).clamp(min=floor) * 2 - 1


def resize_antialiased(images: torch.Tensor, size: int) -> torch.Tensor:
    """kornia ``resize`` to ``size`` x ``size`` (bilinear, ``align_corners=False``, antialias), as
    Multi-StyleGAN; kornia is imported here because its import is slow and only these paths need it."""
    from kornia.geometry.transform import resize

    return resize(images, (size, size), interpolation="bilinear", antialias=True)


def _as_rgb(images: torch.Tensor) -> torch.Tensor:
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"images: expected [N, 1 or 3, H, W], got {tuple(images.shape)}")
    return images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images


class InceptionFeatures(nn.Module):
    """Images ``[N, 1|3, H, W]`` → Inception features ``[N, 2048]`` (or class probabilities), as published.

    ``preprocessing='pytorch-fid'`` (with the ``'tf-fid'`` network): images in [0, 1], bilinearly resized to
    299 × 299 (``align_corners=False``, as pytorch-fid) and scaled to [-1, 1].
    ``preprocessing='multistylegan'`` (with the ``'torchvision'`` network): images in any range, normalised
    per sample to [-0.998, 1] (:func:`normalize_per_sample`), resized to 299 with kornia (bilinear,
    antialias); torchvision's ``transform_input`` is bypassed for features, as Multi-StyleGAN does.
    """

    def __init__(self, network: InceptionV3, preprocessing: Literal["pytorch-fid", "multistylegan"]) -> None:
        super().__init__()
        if preprocessing not in ("pytorch-fid", "multistylegan"):
            raise ValueError(
                f"preprocessing: expected 'pytorch-fid' or 'multistylegan', got {preprocessing!r}"
            )
        self.network = network
        self.preprocessing = preprocessing

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """Network input ``[N, 3, 299, 299]`` in [-1, 1] from raw images."""
        images = _as_rgb(images).float()
        if self.preprocessing == "pytorch-fid":
            images = F.interpolate(images, size=(299, 299), mode="bilinear", align_corners=False)
            return images * 2 - 1
        return resize_antialiased(normalize_per_sample(images), 299)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.network.features(self.prepare(images))

    def probabilities(self, images: torch.Tensor) -> torch.Tensor:
        """Class probabilities ``[N, classes]`` for the Inception Score.

        ``'pytorch-fid'``: softmax of the unbiased logits ``features · fcᵀ`` over the 1008 TF classes (torch-
        fidelity's and torchmetrics' ``logits_unbiased``). ``'multistylegan'``: Multi-StyleGAN's IS input —
        resize to 299 first, then per-sample normalisation, then torchvision's ``transform_input`` on top (the
        original's double normalisation) and the full classifier with its bias, softmax over 1000 classes.
        """
        if self.preprocessing == "pytorch-fid":
            return torch.softmax(self(images) @ self.network.fc.weight.T, dim=1)
        images = resize_antialiased(_as_rgb(images).float(), 299)
        return torch.softmax(self.network(imagenet_transform_input(normalize_per_sample(images))), dim=1)


def imagenet_transform_input(x: torch.Tensor) -> torch.Tensor:
    """torchvision Inception-v3 ``transform_input``: [-1, 1] input re-scaled per channel to ImageNet stats."""
    mean = torch.tensor([0.485, 0.456, 0.406], device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225], device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    return x * (std / 0.5) + (mean - 0.5) / 0.5
