"""The building blocks of neuron-gan's progressive networks, with the original's module layout.

Every equalized layer of neuron-gan uses the leaky-ReLU He gain ``sqrt(2 / (1 + 0.2**2)) = 1.3867505``
(also the discriminator's last convolution, which no activation follows), bias gain 1 and a stored weight
initialised with ``kaiming_normal_`` (std ``gain / sqrt(fan_in)``), so the effective initial weight std is
``gain**2 / fan_in``. The original multiplies the layer *input* by ``gain / sqrt(fan_in)``; the core layers
multiply the weight instead, which is the same linear map (differences ~1e-7).

State-dict keys of a block are the indices of the original ``nn.Sequential``: the resampling step is index 0,
the two convolutions are indices 1 and 4 (``<block>.1.weight``, ``<block>.4.weight``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from insilico_core.nn import EqualizedConv2d, EqualizedLinear
from torch import nn
from torch.autograd.function import once_differentiable

from .pixel_norm import PixelNorm
from .resampling import Resample

LEAKY_SLOPE = 0.2


def leaky_relu_gain(slope: float) -> float:
    """``torch.nn.init.calculate_gain('leaky_relu', slope)`` = ``sqrt(2 / (1 + slope**2))``."""
    return math.sqrt(2.0 / (1.0 + slope**2))


class WholeFrameConv(EqualizedConv2d):
    """Equalized convolution whose ``k x k`` kernel covers the whole ``k x k`` input without padding (the
    critic's last layer, features -> score): a linear map of the flattened features, computed as one matrix
    product. oneDNN runs a convolution with a single output pixel, and its gradients, far more slowly.

    ``x [N, in, k, k]`` -> ``[N, out, 1, 1]``; the same parameters and values as the convolution (the
    products are summed in another order).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[-2:]) != self.kernel_size:
            raise ValueError(f"{type(self).__name__} expects {self.kernel_size} inputs, got {tuple(x.shape)}")
        weight = (self.weight.to(x.dtype) * self.weight_gain).flatten(1)
        bias = None if self.bias is None else self.bias.to(x.dtype) * self.bias_gain
        return F.linear(x.flatten(1), weight, bias)[:, :, None, None]


def equalized_conv(
    in_channels: int,
    out_channels: int,
    kernel_size: int,
    padding: int,
    bias: bool,
    slope: float = LEAKY_SLOPE,
    whole_frame: bool = False,
) -> EqualizedConv2d:
    """neuron-gan's ``Conv2d_normalized``: weight ``[out, in, k, k]`` (+ ``bias [out]``), He gain of lrelu.

    ``whole_frame=True`` (needs ``padding=0``) builds a :class:`WholeFrameConv` for ``k x k`` inputs.
    """
    if whole_frame and padding != 0:
        raise ValueError(f"a whole-frame convolution has no padding, got padding={padding}")
    gain = leaky_relu_gain(slope)
    fan_in = in_channels * kernel_size * kernel_size
    return (WholeFrameConv if whole_frame else EqualizedConv2d)(
        in_channels,
        out_channels,
        kernel_size,
        bias=bias,
        padding=padding,
        gain=gain,
        bias_gain=1.0,
        init_std=gain / math.sqrt(fan_in),
    )


class _LinearIntoGradBuffer(torch.autograd.Function):
    """``x @ weight.T`` whose backward writes the weight gradient into a buffer kept by the layer.

    Autograd would return that gradient as a new tensor on every backward. For the generator's 64 MB first
    weight, the C allocator maps such a tensor fresh from the kernel each step (and unmaps it when
    ``zero_grad`` drops it), so writing it page-faults 16 000 times, which costs about twice the matrix
    product. Here the product goes into the layer's kept buffer, which becomes ``weight.grad`` when that is
    ``None``; an existing ``weight.grad`` is added to in place (``addmm_``), as autograd's accumulation
    does. Same values either way. The gradient reaches ``weight.grad`` only: ``torch.autograd.grad`` with
    respect to the weight, hooks on the weight and double backward are not supported (neurongan uses none).
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: nn.Parameter, layer: InputScaledLinear) -> torch.Tensor:
        ctx.save_for_backward(x, weight)
        ctx.layer = layer
        return F.linear(x, weight.to(x.dtype))

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor | None, None, None]:
        x, weight = ctx.saved_tensors
        grad_x = grad.mm(weight.to(grad.dtype)) if ctx.needs_input_grad[0] else None
        if ctx.needs_input_grad[1]:
            grad_t, x = grad.t().to(weight.dtype), x.to(weight.dtype)
            if weight.grad is not None:
                weight.grad.addmm_(grad_t, x)
            else:
                weight.grad = torch.mm(grad_t, x, out=ctx.layer.weight_grad_buffer())
        return grad_x, None, None


class InputScaledLinear(EqualizedLinear):
    """Equalized linear layer that applies the He constant to its input, as the original does.

    The generator's first layer maps 512 latents to 32 768 features (a 64 MB weight): scaling its 16.7 M
    weights on every call (and their gradient on every backward) costs far more than scaling the
    ``[N, 512]`` input, and its weight gradient is written into one kept buffer (see
    :class:`_LinearIntoGradBuffer`; ``weight.grad`` is that buffer after a backward that found it ``None``,
    so keep a copy, not a reference, of a gradient needed after the next ``zero_grad`` + backward).
    """

    def __init__(self, *args, **kwargs) -> None:
        """Arguments as :class:`insilico_core.nn.EqualizedLinear` (``bias=False`` here)."""
        super().__init__(*args, **kwargs)
        self._weight_grad: torch.Tensor | None = None

    def weight_grad_buffer(self) -> torch.Tensor:
        """The kept ``weight``-shaped gradient buffer (made, or remade after a move, on first use)."""
        w, buffer = self.weight, self._weight_grad
        if buffer is None or (buffer.shape, buffer.dtype, buffer.device) != (w.shape, w.dtype, w.device):
            buffer = self._weight_grad = torch.empty_like(w, memory_format=torch.contiguous_format)
        return buffer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x [N, in_features]`` -> ``[N, out_features]`` (no bias, no activation)."""
        return _LinearIntoGradBuffer.apply(x * self.weight_gain, self.weight, self)


def equalized_linear(in_features: int, out_features: int, slope: float = LEAKY_SLOPE) -> EqualizedLinear:
    """neuron-gan's ``Linear_normalized`` without bias (the generator's first layer)."""
    gain = leaky_relu_gain(slope)
    return InputScaledLinear(
        in_features,
        out_features,
        bias=False,
        gain=gain,
        bias_gain=1.0,
        init_std=gain / math.sqrt(in_features),
    )


def kaiming_init_(conv: nn.Conv2d, slope: float = LEAKY_SLOPE) -> nn.Conv2d:
    """The original's initialisation of its plain 1x1 convolutions: He-normal weight, zero bias."""
    nn.init.kaiming_normal_(conv.weight, a=slope, mode="fan_in", nonlinearity="leaky_relu")
    if conv.bias is not None:
        nn.init.zeros_(conv.bias)
    return conv


class ScaleBlock(nn.Sequential):
    """One resolution step (``Conv2d_scale_block``): resample, then 2 x (3x3 eq-conv, LReLU, PixelNorm).

    ``up=True`` (generator): bilinear x2 first, convolutions at the doubled resolution.
    ``up=False`` (discriminator): 2x2 average pooling first, convolutions at the halved resolution.
    Convolutions have no bias. ``[N, in, H, W]`` -> ``[N, out, 2H, 2W]`` or ``[N, out, H/2, W/2]``.
    """

    def __init__(self, in_channels: int, out_channels: int, up: bool, slope: float = LEAKY_SLOPE) -> None:
        super().__init__(
            Resample(2.0 if up else 0.5),
            equalized_conv(in_channels, out_channels, 3, padding=1, bias=False, slope=slope),
            nn.LeakyReLU(slope),
            PixelNorm(),
            equalized_conv(out_channels, out_channels, 3, padding=1, bias=False, slope=slope),
            nn.LeakyReLU(slope),
            PixelNorm(),
        )

    def after_resampling(self, x: torch.Tensor) -> torch.Tensor:
        """The block without its first step, for an input that is already resampled."""
        for step in list(self)[1:]:
            x = step(x)
        return x


class ToImage(nn.Module):
    """Generator "toRGB": plain 1x1 conv (no bias, not equalized) then tanh; key ``layers.0.weight``.

    ``[N, C, H, W]`` -> ``[N, n_colors, H, W]`` in (-1, 1).
    """

    def __init__(self, in_channels: int, n_colors: int = 1, slope: float = LEAKY_SLOPE) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            kaiming_init_(nn.Conv2d(in_channels, n_colors, kernel_size=1, bias=False), slope), nn.Tanh()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class FromImage(nn.Module):
    """Discriminator "fromRGB": plain 1x1 conv with bias, no activation; keys ``conv.weight``, ``conv.bias``.

    ``[N, n_colors, H, W]`` -> ``[N, C, H, W]``.
    """

    def __init__(self, out_channels: int, n_colors: int = 1, slope: float = LEAKY_SLOPE) -> None:
        super().__init__()
        self.conv = kaiming_init_(nn.Conv2d(n_colors, out_channels, kernel_size=1), slope)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)
