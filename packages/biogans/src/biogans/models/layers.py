"""Building blocks of the BioGANs networks: original-named sequential containers and red-first
separable convolutions.

PyTorch 0.2 allowed dots in module names and the original code used them (``initial.100-512.convt``);
current PyTorch forbids them. :class:`OriginallyNamedSequential` registers each layer under its original
name with the dots replaced by underscores and remembers the original name, so the checkpoint code can map
state-dict keys both ways without guessing.
"""

from __future__ import annotations

import torch
from torch import nn


class OriginallyNamedSequential(nn.Sequential):
    """``nn.Sequential`` of ``(original_name, layer)`` pairs.

    The child is registered as ``original_name.replace('.', '_')``; ``original_names`` maps that registered
    name back to the original (dotted) one.
    """

    def __init__(self, named_layers: list[tuple[str, nn.Module]]) -> None:
        super().__init__()
        self.original_names: dict[str, str] = {}
        for original_name, layer in named_layers:
            name = original_name.replace(".", "_")
            if name in self.original_names:
                raise ValueError(f"duplicate layer name {original_name!r}")
            self.add_module(name, layer)
            self.original_names[name] = original_name


class RedFirstSeparableConv(nn.Module):
    """The "green-on-red" separable (transposed) convolution of the paper's separable generator.

    Input channels ``[0, int(in·r))`` are the red features. Output = concat of
    ``half``: conv(red inputs -> int(out·r) red outputs) and ``all``: conv(all inputs -> out - int(out·r)
    green outputs), red first, so red outputs never see green inputs. Convolutions are bias-free.
    Parameters are named ``convt_half`` / ``convt_all`` (transposed) or ``conv_half`` / ``conv_all`` as in
    the original.

    Args:
        in_channels, out_channels: total channel counts.
        kernel_size, stride, padding: as for ``nn.Conv2d`` / ``nn.ConvTranspose2d``.
        red_portion: r, the fraction of channels in the red tower (int() truncation of the counts).
        transposed: ``nn.ConvTranspose2d`` (generator pyramid) or ``nn.Conv2d`` (extra layers).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int,
        padding: int,
        red_portion: float = 0.5,
        transposed: bool = True,
    ) -> None:
        super().__init__()
        if not 0.0 <= red_portion <= 1.0:
            raise ValueError(f"red_portion must lie in [0, 1], got {red_portion}")
        self.in_channels_red = int(in_channels * red_portion)
        self.out_channels_red = int(out_channels * red_portion)
        layer = nn.ConvTranspose2d if transposed else nn.Conv2d
        prefix = "convt" if transposed else "conv"
        self._half_name, self._all_name = f"{prefix}_half", f"{prefix}_all"
        self.add_module(
            self._half_name,
            layer(self.in_channels_red, self.out_channels_red, kernel_size, stride, padding, bias=False),
        )
        self.add_module(
            self._all_name,
            layer(
                in_channels, out_channels - self.out_channels_red, kernel_size, stride, padding, bias=False
            ),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        red = getattr(self, self._half_name)(x[:, : self.in_channels_red])
        green = getattr(self, self._all_name)(x)
        return torch.cat((red, green), 1)
