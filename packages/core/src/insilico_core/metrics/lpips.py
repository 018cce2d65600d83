"""LPIPS v0.1 (Zhang et al. 2018): learned perceptual distance on AlexNet, VGG16 or SqueezeNet 1.1 features.

d(x, y) = Σ_layers mean_{h,w} w_lᵀ (φ̂_l(x) − φ̂_l(y))², where φ̂_l are the backbone activations after the
ImageNet scaling layer ((x − shift) / scale, shift (−.030, −.088, −.188), scale (.458, .448, .450)), each
normalised to unit length along channels (φ / (‖φ‖₂ + 1e-10)), and w_l ≥ 0 the learned linear heads.

Keys follow the published files: the backbone ``features.{i}.*`` as torchvision's ``alexnet`` / ``vgg16`` /
``squeezenet1_1`` (the ``classifier.*`` part of those files is dropped), the heads ``lin{k}.model.1.weight``
``[1, C_k, 1, 1]`` as the ``lpips`` package's ``weights/v0.1/{alex,vgg,squeeze}.pth``. Taps (the ends of the
lpips package's feature slices): AlexNet relu1..relu5 (after features 1, 4, 7, 9, 11), VGG16 relu1_2,
relu2_2, relu3_3, relu4_3, relu5_3 (after features 3, 8, 15, 22, 29), SqueezeNet 1.1 the first ReLU and the
Fire modules after features 4, 7, 9, 10, 11, 12 (seven taps, seven heads; the ``net_type='squeeze'`` of
torchmetrics' LearnedPerceptualImagePatchSimilarity, which MSSG reports).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from ..legacy import load_torch_file
from .checks import check_image_pair
from .weights import resolve_weights

LpipsNet = Literal["alex", "vgg", "squeeze"]

_VGG16_WIDTHS = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512)


def _alexnet_features() -> nn.Sequential:
    """torchvision AlexNet ``features[:12]`` (the last max pool is not needed)."""
    return nn.Sequential(
        nn.Conv2d(3, 64, 11, stride=4, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(3, stride=2),
        nn.Conv2d(64, 192, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(3, stride=2),
        nn.Conv2d(192, 384, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(384, 256, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(256, 256, 3, padding=1),
        nn.ReLU(),
    )


def _vgg16_features() -> nn.Sequential:
    """torchvision VGG16 ``features[:30]`` (3x3 convolutions with ReLU, 2x2 max pools)."""
    layers: list[nn.Module] = []
    channels = 3
    for width in _VGG16_WIDTHS:
        if width == "M":
            layers.append(nn.MaxPool2d(2, stride=2))
        else:
            layers += [nn.Conv2d(channels, width, 3, padding=1), nn.ReLU()]
            channels = width
    return nn.Sequential(*layers)


class Fire(nn.Module):
    """SqueezeNet Fire module: 1x1 squeeze to ``squeeze_channels``, then 1x1 and 3x3 expands, concatenated.

    ``[N, C_in, H, W]`` -> ``[N, 2 * expand_channels, H, W]``; every convolution is followed by a ReLU.
    Attribute names are torchvision's (``squeeze``, ``expand1x1``, ``expand3x3``), so its keys load as is.
    """

    def __init__(self, in_channels: int, squeeze_channels: int, expand_channels: int) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(in_channels, squeeze_channels, 1)
        self.expand1x1 = nn.Conv2d(squeeze_channels, expand_channels, 1)
        self.expand3x3 = nn.Conv2d(squeeze_channels, expand_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.squeeze(x))
        return torch.cat([torch.relu(self.expand1x1(x)), torch.relu(self.expand3x3(x))], dim=1)


def _squeezenet1_1_features() -> nn.Sequential:
    """torchvision SqueezeNet 1.1 ``features`` (all 13 layers; max pools round up, ``ceil_mode=True``)."""
    return nn.Sequential(
        nn.Conv2d(3, 64, 3, stride=2),
        nn.ReLU(),
        nn.MaxPool2d(3, stride=2, ceil_mode=True),
        Fire(64, 16, 64),
        Fire(128, 16, 64),
        nn.MaxPool2d(3, stride=2, ceil_mode=True),
        Fire(128, 32, 128),
        Fire(256, 32, 128),
        nn.MaxPool2d(3, stride=2, ceil_mode=True),
        Fire(256, 48, 192),
        Fire(384, 48, 192),
        Fire(384, 64, 256),
        Fire(512, 64, 256),
    )


@dataclass(frozen=True)
class Backbone:
    """One LPIPS trunk: its layers, the feature indices whose outputs are compared (one head each), the
    channels there, and the registry names of its torchvision weights and of its lpips v0.1 heads."""

    build: Callable[[], nn.Sequential]
    taps: tuple[int, ...]
    channels: tuple[int, ...]
    backbone_weights: str
    heads_weights: str


BACKBONES: dict[str, Backbone] = {
    "alex": Backbone(
        _alexnet_features, (1, 4, 7, 9, 11), (64, 192, 384, 256, 256), "alexnet-torchvision", "lpips-alex"
    ),
    "vgg": Backbone(
        _vgg16_features, (3, 8, 15, 22, 29), (64, 128, 256, 512, 512), "vgg16-torchvision", "lpips-vgg"
    ),
    "squeeze": Backbone(
        _squeezenet1_1_features,
        (1, 4, 7, 9, 10, 11, 12),
        (64, 128, 256, 384, 384, 512, 512),
        "squeezenet1_1-torchvision",
        "lpips-squeeze",
    ),
}


class LinearHead(nn.Module):
    """1x1 convolution to one channel without bias; ``model.0`` is the (inactive in eval) dropout of lpips."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.model = nn.Sequential(nn.Dropout(), nn.Conv2d(channels, 1, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class LPIPS(nn.Module):
    """LPIPS v0.1 distance; ``forward(x, y)`` on images ``[N, 3, H, W]`` in [-1, 1] returns ``[N]``."""

    def __init__(self, net: LpipsNet = "alex") -> None:
        super().__init__()
        if net not in BACKBONES:
            raise ValueError(f"net: expected one of {', '.join(map(repr, BACKBONES))}, got {net!r}")
        self.net = net
        self.features = BACKBONES[net].build()
        for k, channels in enumerate(BACKBONES[net].channels):
            self.add_module(f"lin{k}", LinearHead(channels))
        self.register_buffer(
            "shift", torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1), persistent=False
        )
        self.register_buffer("scale", torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1), persistent=False)

    def activations(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Channel-normalised activations at the backbone's taps (five, seven for ``'squeeze'``)."""
        x = (x - self.shift) / self.scale
        taps = set(BACKBONES[self.net].taps)
        outputs = []
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in taps:
                outputs.append(x / (x.square().sum(dim=1, keepdim=True).sqrt() + 1e-10))
        return outputs

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        total = 0
        for k, (fx, fy) in enumerate(zip(self.activations(x), self.activations(y), strict=True)):
            total = total + getattr(self, f"lin{k}")((fx - fy).square()).mean(dim=(2, 3))
        return total.view(-1)


def load_lpips(
    net: LpipsNet = "alex",
    backbone_path: str | os.PathLike | None = None,
    heads_path: str | os.PathLike | None = None,
) -> LPIPS:
    """LPIPS in eval mode: torchvision backbone plus lpips v0.1 heads, from paths or the weights dirs."""
    model = LPIPS(net)
    backbone = load_torch_file(resolve_weights(BACKBONES[model.net].backbone_weights, backbone_path))
    heads = load_torch_file(resolve_weights(BACKBONES[model.net].heads_weights, heads_path))
    state = {key: value for key, value in backbone.items() if key.startswith("features.")}
    state.update(heads)
    model.load_state_dict(state)
    return model.eval().requires_grad_(False)


def lpips(
    x: torch.Tensor, y: torch.Tensor, net: LpipsNet | LPIPS = "alex", normalize: bool = False
) -> torch.Tensor:
    """Per-image LPIPS ``[N]`` of image batches ``[N, 1|3, H, W]`` (grey is repeated to 3 channels).

    ``net``: ``'alex'`` / ``'vgg'`` / ``'squeeze'`` (weights resolved with :func:`load_lpips`) or a loaded
    :class:`LPIPS`. Inputs in [-1, 1], or in [0, 1] with ``normalize=True`` (lpips' and torchmetrics' flag).
    """
    check_image_pair(x, y)
    if x.shape[1] not in (1, 3):
        raise ValueError(f"expected 1 or 3 channels, got {x.shape[1]}")
    model = net if isinstance(net, LPIPS) else load_lpips(net)
    x, y = x.expand(-1, 3, -1, -1).float(), y.expand(-1, 3, -1, -1).float()
    if normalize:
        x, y = x * 2 - 1, y * 2 - 1
    with torch.no_grad():
        return model(x.to(model.shift.device), y.to(model.shift.device))
