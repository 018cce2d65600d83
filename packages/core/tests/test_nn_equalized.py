"""insilico_core.nn equalized layers: run-time He scaling, lr multiplier, resampling, paper constants."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.signal
import torch
from insilico_core import ops
from insilico_core.nn import EqualizedConv2d, EqualizedLinear, equalized_lr_gain
from insilico_core.ops import _build


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def _np_lrelu(x: np.ndarray, slope: float = 0.2) -> np.ndarray:
    return np.where(x >= 0, x, slope * x)


def test_equalized_lr_gain_formula():
    assert equalized_lr_gain(64) == pytest.approx(1 / 8)
    assert equalized_lr_gain(512, lr_multiplier=0.01) == pytest.approx(0.01 / math.sqrt(512))
    assert equalized_lr_gain(9 * 16, gain=math.sqrt(2)) == pytest.approx(math.sqrt(2) / 12)
    with pytest.raises(ValueError):
        equalized_lr_gain(0)


@pytest.mark.parametrize("lr_multiplier", [1.0, 0.01])
def test_linear_effective_weight_and_activation_by_hand(lr_multiplier):
    layer = EqualizedLinear(6, 4, bias_init=0.5, lr_multiplier=lr_multiplier, activation="lrelu")
    assert layer.weight.shape == (4, 6) and layer.bias.shape == (4,)
    x = torch.randn(3, 6)
    w = layer.weight.detach().numpy() * lr_multiplier / math.sqrt(6)
    b = layer.bias.detach().numpy() * lr_multiplier
    want = _np_lrelu(x.numpy() @ w.T + b) * math.sqrt(2)
    np.testing.assert_allclose(layer(x).detach().numpy(), want, rtol=1e-5, atol=1e-6)


def test_linear_stored_weight_std_is_one_over_lr_multiplier():
    layer = EqualizedLinear(256, 256, lr_multiplier=0.01)
    assert float(layer.weight.detach().std()) == pytest.approx(100.0, rel=0.02)
    effective = layer.weight.detach() * layer.weight_gain
    assert float(effective.std()) == pytest.approx(1 / 16, rel=0.02)  # He init 1/sqrt(fan_in)


def test_lr_multiplier_scales_the_gradient_of_the_stored_weight():
    """Same effective function, lr 1 vs lr 0.01: stored-weight gradients differ by exactly 0.01."""
    fast = EqualizedLinear(5, 3, activation="lrelu")
    slow = EqualizedLinear(5, 3, activation="lrelu", lr_multiplier=0.01)
    with torch.no_grad():
        slow.weight.copy_(fast.weight / 0.01)
        fast.bias.uniform_(-1, 1)
        slow.bias.copy_(fast.bias / 0.01)
    x = torch.randn(4, 5)
    out_fast, out_slow = fast(x), slow(x)
    torch.testing.assert_close(out_fast, out_slow)
    out_fast.sum().backward()
    out_slow.sum().backward()
    torch.testing.assert_close(slow.weight.grad, 0.01 * fast.weight.grad)
    torch.testing.assert_close(slow.bias.grad, 0.01 * fast.bias.grad)


def test_multistylegan_linear_constants_and_3d_input():
    """Multi-StyleGAN: W * sqrt(2)/sqrt(in), b * sqrt(2)/sqrt(out), F.linear on 2-D or 3-D input."""
    layer = EqualizedLinear(8, 4, gain=math.sqrt(2), bias_gain=math.sqrt(2 / 4))
    with torch.no_grad():
        layer.bias.fill_(1.0)
    x = torch.randn(2, 5, 8)
    want = x.numpy() @ (layer.weight.detach().numpy() * math.sqrt(2) / math.sqrt(8)).T + math.sqrt(2) / 2
    np.testing.assert_allclose(layer(x).detach().numpy(), want, rtol=1e-5, atol=1e-6)


def test_scale_one_lrelu_is_expressible():
    layer = EqualizedLinear(4, 4, activation="lrelu", activation_gain=1.0)
    x = torch.randn(2, 4)
    w = layer.weight.detach().numpy() / 2
    np.testing.assert_allclose(layer(x).detach().numpy(), _np_lrelu(x.numpy() @ w.T), rtol=1e-5, atol=1e-6)


def _np_correlate(x: np.ndarray, w: np.ndarray, pad: int, stride: int) -> np.ndarray:
    x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = [
        [
            sum(scipy.signal.correlate2d(s[i], w[o, i], mode="valid") for i in range(w.shape[1]))
            for o in range(w.shape[0])
        ]
        for s in x
    ]
    return np.asarray(out)[:, :, ::stride, ::stride]


def test_conv_effective_weight_bias_and_neurongan_gain():
    gain = math.sqrt(2 / (1 + 0.2**2))  # torch.nn.init.calculate_gain('leaky_relu', 0.2)
    layer = EqualizedConv2d(3, 4, 3, gain=gain, bias_gain=1.0, init_std=gain / math.sqrt(27))
    with torch.no_grad():
        layer.bias.uniform_(-1, 1)
    assert list(layer.state_dict()) == ["weight", "bias"]
    x = torch.randn(2, 3, 6, 6)
    w = layer.weight.detach().numpy() * gain / math.sqrt(27)
    want = _np_correlate(x.numpy(), w, 1, 1) + layer.bias.detach().numpy().reshape(1, -1, 1, 1)
    np.testing.assert_allclose(layer(x).detach().numpy(), want, rtol=1e-4, atol=1e-5)


def test_conv_large_kernel_no_padding_like_neurongan_head():
    layer = EqualizedConv2d(5, 1, 16, padding=0)
    assert layer(torch.randn(2, 5, 16, 16)).shape == (2, 1, 1, 1)


def test_conv_strided_multistylegan_downscale():
    layer = EqualizedConv2d(2, 2, 3, stride=2, padding=0, gain=math.sqrt(2), bias_gain=math.sqrt(2 / 2))
    with torch.no_grad():
        layer.bias.fill_(0.3)
    x = torch.randn(1, 2, 9, 9)
    w = layer.weight.detach().numpy() * math.sqrt(2) / math.sqrt(18)
    want = _np_correlate(x.numpy(), w, 0, 2) + 0.3
    np.testing.assert_allclose(layer(x).detach().numpy(), want, rtol=1e-4, atol=1e-5)


def test_conv_down2_matches_fir_then_strided_conv():
    """stylegan2-ada Conv2dLayer(down=2): pad, FIR [1,3,3,1]/64 (true convolution), stride-2 correlation."""
    layer = EqualizedConv2d(2, 3, 3, down=2, resample_filter=[1, 3, 3, 1], activation="lrelu", conv_clamp=0.5)
    assert list(layer.state_dict()) == ["weight", "bias", "resample_filter"]
    x = torch.randn(2, 2, 8, 8)
    f = np.outer([1, 3, 3, 1], [1, 3, 3, 1]) / 64.0
    padded = np.pad(x.numpy(), ((0, 0), (0, 0), (2, 2), (2, 2)))  # k//2 + (4 - 2 + 1)//2 = 2 each side
    blurred = np.asarray([[scipy.signal.convolve2d(p, f, mode="valid") for p in s] for s in padded])
    w = layer.weight.detach().numpy() / math.sqrt(18)
    want = np.clip(_np_lrelu(_np_correlate(blurred, w, 0, 2)) * math.sqrt(2), -0.5, 0.5)
    got = layer(x)
    assert got.shape == (2, 3, 4, 4)
    np.testing.assert_allclose(got.detach().numpy(), want, rtol=1e-4, atol=1e-5)


def test_conv_output_gain_scales_activation_and_clamp():
    layer = EqualizedConv2d(2, 2, 3, activation="lrelu", conv_clamp=1.0)
    x = 3 * torch.randn(1, 2, 5, 5)
    base = ops.bias_act(
        torch.nn.functional.conv2d(x, layer.weight * layer.weight_gain, padding=1), layer.bias, act="lrelu"
    )
    torch.testing.assert_close(
        layer(x, output_gain=math.sqrt(0.5)), (base * math.sqrt(0.5)).clamp(-math.sqrt(0.5), math.sqrt(0.5))
    )


def test_conv_bad_arguments_raise():
    with pytest.raises(ValueError, match="resample_filter"):
        EqualizedConv2d(2, 2, 3, down=2)
    with pytest.raises(ValueError, match="stride"):
        EqualizedConv2d(2, 2, 3, stride=2, padding=[1, 0, 1, 0])
    with pytest.raises(ValueError, match="activation"):
        EqualizedConv2d(2, 2, 3, activation="gelu-ish")


def test_conv_up2_matches_zero_insertion_fir_then_true_convolution():
    """stylegan2-ada Conv2dLayer(up=2): zero-insert, pad, FIR x4 (sum 4), then convolve (flipped kernel)."""
    layer = EqualizedConv2d(2, 3, 3, up=2, resample_filter=[1, 3, 3, 1])
    x = torch.randn(1, 2, 5, 5)
    up = np.zeros((1, 2, 10, 10))
    up[:, :, ::2, ::2] = x.numpy()
    padded = np.pad(up, ((0, 0), (0, 0), (3, 2), (3, 2)))  # k//2 + (4 + 1)//2 before, k//2 + (4 - 2)//2 after
    f = np.outer([1, 3, 3, 1], [1, 3, 3, 1]) / 16.0
    blurred = np.asarray([[scipy.signal.convolve2d(p, f, mode="valid") for p in s] for s in padded])
    w = layer.weight.detach().numpy() / math.sqrt(18)
    want = [
        [sum(scipy.signal.convolve2d(s[i], w[o, i], mode="valid") for i in range(2)) for o in range(3)]
        for s in blurred
    ]
    got = layer(x)
    assert got.shape == (1, 3, 10, 10)
    np.testing.assert_allclose(got.detach().numpy(), np.asarray(want), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("impl", ["ref", "cpu"])
def test_bf16_autocast_runs_on_every_backend_within_bf16_tolerance(impl, monkeypatch):
    """Under autocast the product is bf16 while the parameters stay fp32: the bias must follow the product."""
    if impl == "cpu" and _build.kernels("cpu") is None:
        pytest.skip(f"cpu ops backend unavailable: {_build.backend_status('cpu').reason}")
    if impl == "ref":
        monkeypatch.setenv("INSILICO_OPS", "ref")
    linear = EqualizedLinear(8, 4, activation="lrelu", bias_init=0.5)
    conv = EqualizedConv2d(3, 4, 3, activation="lrelu", bias_init=0.5)
    x, images = torch.randn(2, 8), torch.randn(2, 3, 8, 8)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low_linear, low_conv = linear(x), conv(images)
    assert low_linear.dtype == low_conv.dtype == torch.bfloat16
    torch.testing.assert_close(low_linear.float(), linear(x), rtol=2e-2, atol=2e-2)
    torch.testing.assert_close(low_conv.float(), conv(images), rtol=2e-2, atol=5e-2)
