"""insilico_core.nn: conv2d_resample, modulated_conv2d and ModulatedConv2d against independent references.

The references are written from the definitions, in numpy/scipy: zero insertion, padding, true convolution
with the FIR filter, correlation with the weight, subsampling; and the per-sample modulated weight
``w * s`` with demodulation ``rsqrt(sum w'^2 + 1e-8)``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.signal
import torch
import torch.nn.functional as F
from insilico_core import ops
from insilico_core.nn import (
    EqualizedLinear,
    ModulatedConv2d,
    conv2d_resample,
    modulate_weight,
    modulated_conv2d,
)


def _np_upfirdn(x: np.ndarray, f: np.ndarray | None, up: int, down: int, pad: list[int]) -> np.ndarray:
    """upfirdn2d of [N, C, H, W]: zero-insert, pad/crop [x0, x1, y0, y1], convolve, subsample."""
    n, c, h, w = x.shape
    u = np.zeros((n, c, h * up, w * up), dtype=np.float64)
    u[:, :, ::up, ::up] = x
    x0, x1, y0, y1 = pad
    u = np.pad(u, ((0, 0), (0, 0), (max(y0, 0), max(y1, 0)), (max(x0, 0), max(x1, 0))))
    u = u[:, :, max(-y0, 0) : u.shape[2] - max(-y1, 0), max(-x0, 0) : u.shape[3] - max(-x1, 0)]
    if f is not None:
        u = np.stack([np.stack([scipy.signal.convolve2d(p, f, mode="valid") for p in s]) for s in u])
    return u[:, :, ::down, ::down]


def _np_conv(x: np.ndarray, w: np.ndarray, flip_weight: bool) -> np.ndarray:
    """Valid 2-D correlation (flip_weight=True) or convolution of [N, I, H, W] with [O, I, kh, kw]."""
    op = scipy.signal.correlate2d if flip_weight else scipy.signal.convolve2d
    out = []
    for sample in x:
        out.append(
            [sum(op(sample[i], w[o, i], mode="valid") for i in range(w.shape[1])) for o in range(w.shape[0])]
        )
    return np.asarray(out)


def _np_conv2d_resample(x, w, f, up, down, padding, flip_weight):
    """stylegan2-ada's conv2d_resample semantics, straight from the definition (generic path)."""
    x0, x1, y0, y1 = [padding] * 4 if isinstance(padding, int) else padding
    fw = 1 if f is None else f.shape[1]
    if up > 1:
        x0 += (fw + up - 1) // 2
        x1 += (fw - up) // 2
        y0 += (fw + up - 1) // 2
        y1 += (fw - up) // 2
    if down > 1:
        x0 += (fw - down + 1) // 2
        x1 += (fw - down) // 2
        y0 += (fw - down + 1) // 2
        y1 += (fw - down) // 2
    t = _np_upfirdn(x, f * up**2 if (f is not None and up > 1) else None, up, 1, [x0, x1, y0, y1])
    t = _np_conv(t, w, flip_weight)
    if down > 1:
        t = _np_upfirdn(t, f, 1, down, [0, 0, 0, 0])
    return t


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


FILTER = ops.setup_filter([1, 3, 3, 1])


@pytest.mark.parametrize(
    "k, up, down, padding, flip_weight",
    [
        (3, 1, 1, 1, True),
        (3, 2, 1, 1, False),
        (3, 2, 1, 1, True),
        (3, 1, 2, 1, True),
        (1, 2, 1, 0, True),
        (1, 1, 2, 0, True),
        (2, 2, 1, [1, 0, 1, 0], False),
        (3, 1, 1, [2, 0, 1, 1], True),
        (3, 2, 2, 1, False),
    ],
)
def test_conv2d_resample_matches_definition(k, up, down, padding, flip_weight):
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    w = torch.randn(4, 3, k, k, dtype=torch.float64)
    got = conv2d_resample(x, w, f=FILTER, up=up, down=down, padding=padding, flip_weight=flip_weight)
    want = _np_conv2d_resample(x.numpy(), w.numpy(), FILTER.double().numpy(), up, down, padding, flip_weight)
    assert got.shape == want.shape
    np.testing.assert_allclose(got.numpy(), want, atol=1e-10)


def test_conv2d_resample_groups_equal_per_group_convolutions():
    x = torch.randn(2, 6, 8, 8, dtype=torch.float64)
    w = torch.randn(4, 3, 3, 3, dtype=torch.float64)
    got = conv2d_resample(x, w, f=FILTER, up=2, padding=1, groups=2, flip_weight=False)
    parts = [
        conv2d_resample(
            x[:, 3 * g : 3 * g + 3], w[2 * g : 2 * g + 2], f=FILTER, up=2, padding=1, flip_weight=False
        )
        for g in range(2)
    ]
    torch.testing.assert_close(got, torch.cat(parts, dim=1))


def _reference_modulated(x, weight, styles, demodulate, up=1, padding=1, flip_weight=True):
    """Per-sample loop: w' = weight * s, demodulated, then the plain definition of the convolution."""
    outs = []
    for n in range(x.shape[0]):
        wn = weight * styles[n].reshape(1, -1, 1, 1)
        if demodulate:
            wn = wn / torch.sqrt(wn.square().sum(dim=[1, 2, 3], keepdim=True) + 1e-8)
        if up == 1:
            outs.append(F.conv2d(x[n : n + 1], wn, padding=padding))
        else:
            f = FILTER.double().numpy()
            ref = _np_conv2d_resample(x[n : n + 1].numpy(), wn.numpy(), f, up, 1, padding, flip_weight)
            outs.append(torch.from_numpy(ref))
    return torch.cat(outs)


def test_modulate_weight_against_numpy():
    weight = torch.randn(5, 4, 3, 3, dtype=torch.float64)
    styles = torch.randn(3, 4, dtype=torch.float64)
    modulated = np.einsum("oikl,ni->noikl", weight.numpy(), styles.numpy())
    plain = modulate_weight(weight, styles, demodulate=False)
    np.testing.assert_allclose(plain.numpy(), modulated, rtol=1e-12)
    norms = np.sqrt((modulated**2).sum(axis=(2, 3, 4), keepdims=True) + 1e-8)
    demodulated = modulate_weight(weight, styles)
    np.testing.assert_allclose(demodulated.numpy(), modulated / norms, rtol=1e-12)
    torch.testing.assert_close(demodulated.square().sum(dim=[2, 3, 4]), torch.ones(3, 5, dtype=torch.float64))


@pytest.mark.parametrize("demodulate", [True, False])
@pytest.mark.parametrize("fused", [True, False])
def test_modulated_conv2d_matches_per_sample_loop(demodulate, fused):
    x = torch.randn(3, 4, 7, 7, dtype=torch.float64)
    weight = torch.randn(5, 4, 3, 3, dtype=torch.float64)
    styles = torch.randn(3, 4, dtype=torch.float64) + 1
    got = modulated_conv2d(x, weight, styles, padding=1, demodulate=demodulate, fused_modconv=fused)
    torch.testing.assert_close(got, _reference_modulated(x, weight, styles, demodulate))


@pytest.mark.parametrize("fused", [True, False])
def test_modulated_conv2d_upsampling_matches_definition(fused):
    x = torch.randn(2, 3, 5, 5, dtype=torch.float64)
    weight = torch.randn(4, 3, 3, 3, dtype=torch.float64)
    styles = torch.rand(2, 3, dtype=torch.float64) + 0.5
    got = modulated_conv2d(
        x, weight, styles, up=2, padding=1, resample_filter=FILTER, flip_weight=False, fused_modconv=fused
    )
    assert got.shape == (2, 4, 10, 10)
    torch.testing.assert_close(got, _reference_modulated(x, weight, styles, True, up=2, flip_weight=False))


@pytest.mark.parametrize("up, down", [(1, 1), (2, 1), (1, 2)])
def test_fused_and_non_fused_paths_agree(up, down):
    x = torch.randn(4, 6, 8, 8, dtype=torch.float64)
    weight = torch.randn(5, 6, 3, 3, dtype=torch.float64)
    styles = torch.randn(4, 6, dtype=torch.float64)
    h = 8 * up // down
    noise = torch.randn(4, 1, h, h, dtype=torch.float64)
    kwargs = dict(noise=noise, up=up, down=down, padding=1, resample_filter=FILTER, flip_weight=(up == 1))
    fused = modulated_conv2d(x, weight, styles, fused_modconv=True, **kwargs)
    split = modulated_conv2d(x, weight, styles, fused_modconv=False, **kwargs)
    torch.testing.assert_close(fused, split)


def test_demodulated_output_is_invariant_to_weight_and_style_scale():
    x = torch.randn(2, 4, 6, 6, dtype=torch.float64)
    weight = torch.randn(3, 4, 3, 3, dtype=torch.float64)
    styles = torch.randn(2, 4, dtype=torch.float64)
    a = modulated_conv2d(x, weight, styles, padding=1)
    b = modulated_conv2d(x, 7.0 * weight, 0.25 * styles, padding=1)
    torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-8)


def test_modulated_conv2d_rejects_bad_shapes():
    with pytest.raises(ValueError, match="styles"):
        modulated_conv2d(torch.randn(2, 4, 5, 5), torch.randn(3, 4, 3, 3), torch.randn(2, 5))
    with pytest.raises(ValueError, match="x must be"):
        modulated_conv2d(torch.randn(2, 3, 5, 5), torch.randn(3, 4, 3, 3), torch.randn(2, 4))


def test_stylegan2_layout_keys_and_torgb_style_gain():
    layer = ModulatedConv2d(8, 6, 3, affine=EqualizedLinear(16, 8, bias_init=1), up=2)
    assert list(layer.state_dict()) == ["weight", "resample_filter", "affine.weight", "affine.bias"]
    assert layer.weight.shape == (6, 8, 3, 3)
    torgb = ModulatedConv2d(
        8, 3, 1, affine=EqualizedLinear(16, 8, bias_init=1), demodulate=False, resample_filter=None
    )
    assert list(torgb.state_dict()) == ["weight", "affine.weight", "affine.bias"]
    x, w = torch.randn(2, 8, 4, 4), torch.randn(2, 16)
    styles = torgb.affine(w) / math.sqrt(8)  # stylegan2-ada ToRGB: styles * 1/sqrt(in * k * k)
    want = _reference_modulated(x, torgb.weight.detach(), styles.detach(), False, padding=0)
    torch.testing.assert_close(torgb(x, w).detach(), want, rtol=1e-5, atol=1e-6)


def _rosinality_reference(x, layer, styles):
    """rosinality / Multi-StyleGAN up-sampling: grouped transposed conv (stride 2, no padding, weight not
    flipped), then the blur kernel (sum 4) padded ((p + 1) // 2 + 1, p // 2 + 1), p = 4 - 2 - (k - 1)."""
    b, cin = x.shape[:2]
    k = layer.kernel_size
    weight = layer.weight * layer.weight_gain * styles.reshape(b, 1, cin, 1, 1)
    weight = weight * torch.rsqrt(weight.square().sum(dim=[2, 3, 4], keepdim=True) + 1e-8)
    weight = weight.transpose(1, 2).reshape(b * cin, layer.out_channels, k, k)
    y = F.conv_transpose2d(x.reshape(1, b * cin, *x.shape[2:]), weight, stride=2, groups=b)
    y = y.reshape(b, layer.out_channels, *y.shape[2:])
    p = 4 - 2 - (k - 1)
    pad0, pad1 = (p + 1) // 2 + 1, p // 2 + 1
    kernel = np.outer([1, 3, 3, 1], [1, 3, 3, 1]) / 16.0
    return torch.from_numpy(_np_upfirdn(y.detach().numpy(), kernel, 1, 1, [pad0, pad1, pad0, pad1]))


@pytest.mark.parametrize("k", [2, 3])
def test_rosinality_layout_upsampling_matches_transposed_conv_then_blur(k):
    torch.set_default_dtype(torch.float64)
    try:
        layer = ModulatedConv2d(
            4,
            5,
            k,
            affine=EqualizedLinear(6, 4, bias_init=1, gain=math.sqrt(2), bias_gain=math.sqrt(2 / 4)),
            affine_name="modulation_mapping",
            up=2,
            layout="rosinality",
            gain=math.sqrt(2),
        )
    finally:
        torch.set_default_dtype(torch.float32)
    assert list(layer.state_dict()) == [
        "weight",
        "blur.kernel",
        "modulation_mapping.weight",
        "modulation_mapping.bias",
    ]
    assert layer.weight.shape == (1, 5, 4, k, k)
    assert float(layer.blur.kernel.sum()) == pytest.approx(4.0)
    x, w = torch.randn(2, 4, 6, 6, dtype=torch.float64), torch.randn(2, 6, dtype=torch.float64)
    styles = layer.compute_styles(w)
    got = layer(x, styles=styles.reshape(2, 1, 4, 1, 1))  # Multi-StyleGAN passes [B, 1, in, 1, 1]
    assert got.shape == (2, 5, 12, 12)
    torch.testing.assert_close(got.detach(), _rosinality_reference(x, layer, styles.detach()))


def test_rosinality_layout_without_affine_requires_styles():
    layer = ModulatedConv2d(4, 5, 3, layout="rosinality")
    assert list(layer.state_dict()) == ["weight"]
    with pytest.raises(ValueError, match="styles"):
        layer(torch.randn(1, 4, 5, 5), torch.randn(1, 8))
    x, s = torch.randn(2, 4, 5, 5), torch.rand(2, 4) + 0.5
    want = _reference_modulated(x, layer.weight[0].detach() * layer.weight_gain, s, True)
    torch.testing.assert_close(layer(x, styles=s).detach(), want, rtol=1e-5, atol=1e-6)


def test_modulated_conv_gradients_flow_to_weight_affine_and_input():
    layer = ModulatedConv2d(4, 3, 3, affine=EqualizedLinear(8, 4, bias_init=1), up=2)
    x = torch.randn(2, 4, 4, 4, requires_grad=True)
    w = torch.randn(2, 8, requires_grad=True)
    layer(x, w, fused_modconv=True).square().sum().backward()
    for t in (x, w, layer.weight, layer.affine.weight, layer.affine.bias):
        assert t.grad is not None and torch.isfinite(t.grad).all() and t.grad.abs().sum() > 0


def test_second_derivatives_exist_for_path_length_regularisation():
    layer = ModulatedConv2d(3, 4, 3, affine=EqualizedLinear(6, 3, bias_init=1), up=2)
    w = torch.randn(2, 6, requires_grad=True)
    image = layer(torch.randn(2, 3, 4, 4), w)
    (grad,) = torch.autograd.grad((image * torch.randn_like(image)).sum(), w, create_graph=True)
    grad.square().sum().backward()
    assert layer.weight.grad is not None and torch.isfinite(layer.weight.grad).all()
    assert layer.weight.grad.abs().sum() > 0


class _SynthesisLayer(ModulatedConv2d):
    """How a paper package gets stylegan2-ada's SynthesisLayer keys: subclass and add its own parameters."""

    def __init__(self, in_channels, out_channels, w_dim, resolution, up=1):
        affine = EqualizedLinear(w_dim, in_channels, bias_init=1)
        super().__init__(in_channels, out_channels, 3, affine=affine, up=up)
        self.noise_strength = torch.nn.Parameter(torch.zeros([]))
        self.bias = torch.nn.Parameter(torch.zeros([out_channels]))
        self.register_buffer("noise_const", torch.randn([resolution, resolution]))


def test_stylegan2_synthesis_layer_keys_by_subclassing():
    layer = _SynthesisLayer(8, 8, 16, resolution=8, up=2)
    assert list(layer.state_dict()) == [
        "weight",
        "noise_strength",
        "bias",
        "resample_filter",
        "noise_const",
        "affine.weight",
        "affine.bias",
    ]
    assert [name for name, _ in layer.named_parameters()] == [
        "weight",
        "noise_strength",
        "bias",
        "affine.weight",
        "affine.bias",
    ]
