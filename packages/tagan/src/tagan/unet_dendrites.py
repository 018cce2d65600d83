"""The frozen F-actin segmenter of TAGAN_cycle: the small U-Net of the original ``models/UNet.py``, trained
in a separate FLClab project on fixed dendritic STED images and shipped as ``checkpoints/UNet_Dendrites``
(``params.net`` = bare state dict, ``params_trainer.pkl`` = the constructor arguments).

Input ``(N, in_channels, H, W)`` (H, W divisible by ``2**(depth-1)``); output ``(N, out_channels, H, W)``
sigmoid probabilities in [0, 1] (channel 0 rings, channel 1 fibers for UNet_Dendrites).
"""

from __future__ import annotations

import pickle
from pathlib import Path

import torch
from insilico_core.nn import UNetDecoderBlock
from torch import nn

from tagan.checkpoints import load_state_dict


class DoubleConvolver(nn.Module):
    """``conv`` = [Conv3x3 p1, BN, ReLU, Conv3x3 p1, BN, ReLU] (convolutions with bias)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class Contracter(nn.Module):
    """One contracting step: ``conv`` = [MaxPool2d(2), DoubleConvolver]."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv = nn.Sequential(nn.MaxPool2d(kernel_size=2), DoubleConvolver(in_channels, out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


def expander(in_channels: int, out_channels: int) -> UNetDecoderBlock:
    """One expanding step (the original ``Expander``): ``expand`` (ConvTranspose 2x2 s2), concatenation
    [upsampled, skip], ``conv`` (DoubleConvolver).

    The original centre-crops the skip with its row offset taken from the width difference and its column
    offset from the height difference. The up-sampled map is ``2 * floor(s / 2)`` for a skip of size ``s``,
    so both differences are 0 or 1 and every offset is 0: the core's centre crop gives the same result.
    """
    return UNetDecoderBlock(
        nn.ConvTranspose2d(in_channels, out_channels, kernel_size=2, stride=2),
        DoubleConvolver(in_channels, out_channels),
        up_name="expand",
        block_name="conv",
    )


class UNet(nn.Module):
    """U-Net with ``depth`` levels and ``2**(number_filter + i)`` filters at level i, sigmoid output.

    ``size`` (the training crop size) is stored as the original does; it does not change the network.
    """

    def __init__(
        self, in_channels: int, out_channels: int, number_filter: int = 4, depth: int = 4, size: int = 128
    ):
        super().__init__()
        self.size = size
        self.out_channels = out_channels
        self.input_conv = DoubleConvolver(in_channels, 2**number_filter)
        self.contracting_path = nn.ModuleList(
            Contracter(2 ** (number_filter + i), 2 ** (number_filter + i + 1)) for i in range(depth - 1)
        )
        self.expanding_path = nn.ModuleList(
            expander(2 ** (number_filter + i + 1), 2 ** (number_filter + i))
            for i in reversed(range(depth - 1))
        )
        self.output_conv = nn.Conv2d(2**number_filter, out_channels, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.input_conv(x)
        skips = [x]
        for i, contract in enumerate(self.contracting_path):
            x = contract(x)
            if i != len(self.contracting_path) - 1:
                skips.append(x)
        for i, expand in enumerate(self.expanding_path):
            x = expand(x, skips[-i - 1])
        return torch.sigmoid(self.output_conv(x))


UNET_ARGUMENTS = ("in_channels", "out_channels", "number_filter", "depth", "size")


class _PlainDataUnpickler(pickle.Unpickler):
    """Unpickles plain data only (dict, list, str, numbers, bool, None): any global is refused, so a
    ``params_trainer.pkl`` can never run code."""

    def find_class(self, module: str, name: str):
        raise pickle.UnpicklingError(
            f"refusing to load the global {module}.{name}: only plain data is expected"
        )


def read_trainer_params(path: str | Path) -> dict:
    """Read ``params_trainer.pkl`` (a pickled dict of plain values) without executing code."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} does not exist; UNet_Dendrites needs params_trainer.pkl beside params.net"
        )
    with path.open("rb") as handle:
        params = _PlainDataUnpickler(handle).load()
    if not isinstance(params, dict):
        raise ValueError(f"{path} holds a {type(params).__name__}, expected a dict of trainer parameters")
    missing = [key for key in UNET_ARGUMENTS if key not in params]
    if missing:
        raise ValueError(f"{path} lacks the U-Net arguments {', '.join(missing)}")
    return params


def load_unet_dendrites(folder: str | Path, device: str | torch.device = "cpu") -> UNet:
    """Build the UNet of ``folder/params_trainer.pkl`` and load ``folder/params.net`` into it (strict).

    Returned in train mode, as TAGAN_cycle uses it (never stepped, batch statistics).
    """
    folder = Path(folder)
    params = read_trainer_params(folder / "params_trainer.pkl")
    network = UNet(**{key: params[key] for key in UNET_ARGUMENTS})
    network.load_state_dict(load_state_dict(folder / "params.net"))
    return network.to(device)
