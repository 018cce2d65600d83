"""FIR filter module with optional up/down-sampling (rosinality's ``Blur`` / ``Upsample`` / ``Downsample``).

One module holds the 2-D kernel in the buffer ``kernel`` (the key every rosinality-family checkpoint uses,
e.g. Multi-StyleGAN's ``*.blur.kernel``, ``*.upsampling.kernel``) and runs ``ops.upfirdn2d``. The kernel
is ``outer(taps) / sum`` times ``gain``: rosinality's ``Upsample`` uses ``gain = factor**2`` (keeps the
mean), Multi-StyleGAN's ``Upsample`` uses ``gain = 1`` (sum-1 kernel: the upsampled signal has a quarter
of the input's mean, a quirk its checkpoints depend on).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from insilico_core import ops


def fir_same_padding(taps: int, up: int = 1, down: int = 1) -> tuple[int, int]:
    """rosinality's padding ``(before, after)`` mapping ``H`` to ``H * up // down`` for a ``taps`` filter."""
    if up > 1 and down > 1:
        raise ValueError("fir_same_padding: up and down at once is not defined; give padding explicitly")
    if up > 1:
        p = taps - up
        return (p + 1) // 2 + up - 1, p // 2
    p = taps - down
    return (p + 1) // 2, p // 2


class FIRFilter2d(nn.Module):
    """``upfirdn2d`` with a stored kernel: zero-insert by ``up``, pad, convolve, keep every ``down``-th.

    Args:
        kernel: 1-D taps (outer product taken) or a 2-D kernel; normalised to sum 1, then times ``gain``.
        up, down: integer factors.
        padding: ``(before, after)`` applied to both axes (rosinality's ``pad``); None =
            :func:`fir_same_padding`.
        gain: kernel multiplier after normalisation.

    Shapes: ``[N, C, H, W]`` -> ``[N, C, (H * up + before + after - taps) // down + 1, ...]``.
    """

    def __init__(
        self,
        kernel: Sequence[float] | torch.Tensor = (1, 3, 3, 1),
        up: int = 1,
        down: int = 1,
        padding: Sequence[int] | None = None,
        gain: float = 1.0,
    ) -> None:
        super().__init__()
        taps = torch.as_tensor(kernel, dtype=torch.float32)
        if taps.ndim not in (1, 2) or taps.numel() == 0:
            raise ValueError(f"kernel must be 1-D taps or a 2-D kernel, got shape {tuple(taps.shape)}")
        self.register_buffer("kernel", ops.setup_filter(taps, normalize=True, gain=gain, separable=False))
        self.up = up
        self.down = down
        if padding is None:
            padding = fir_same_padding(int(taps.shape[-1]), up, down)
        pad0, pad1 = (int(p) for p in padding)
        self.padding = (pad0, pad1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x [N, C, H, W]`` -> filtered and resampled ``[N, C, H', W']``."""
        pad0, pad1 = self.padding
        return ops.upfirdn2d(x, self.kernel, up=self.up, down=self.down, padding=[pad0, pad1, pad0, pad1])

    def extra_repr(self) -> str:
        return f"up={self.up}, down={self.down}, padding={self.padding}"
