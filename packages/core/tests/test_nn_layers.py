"""insilico_core.nn: minibatch stddev, pixel norm, noise injection, mapping network, FIR filter module."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from insilico_core.nn import (
    FIRFilter2d,
    MappingNetwork,
    MinibatchStdDev,
    NoiseInjection,
    PixelNorm,
    minibatch_stddev,
    normalize_2nd_moment,
)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


# ---------------------------------------------------------------- minibatch stddev


def _np_mbstd(x: np.ndarray, group_size: int | None, num_channels: int, clamp: bool) -> np.ndarray:
    """Per group (samples i, i + n, i + 2n, ... with n = N / G) and channel group, as numpy loops."""
    n_total, c, h, w = x.shape
    g = n_total if group_size is None else min(group_size, n_total)
    n = n_total // g
    cf = c // num_channels
    stats = np.zeros((n_total, num_channels, h, w))
    for j in range(n):
        members = [j + k * n for k in range(g)]
        for f in range(num_channels):
            block = x[members, f * cf : (f + 1) * cf]
            var = block.var(axis=0)  # biased, over the group
            std = np.sqrt(np.maximum(var, 1e-8)) if clamp else np.sqrt(var + 1e-8)
            stats[members, f] = std.mean()
    return np.concatenate([x, stats], axis=1)


@pytest.mark.parametrize("group_size, num_channels", [(4, 1), (2, 2), (None, 1), (3, 1)])
def test_minibatch_stddev_matches_numpy(group_size, num_channels):
    n = 6 if group_size == 3 else 8
    x = torch.randn(n, 4, 3, 5, dtype=torch.float64)
    got = MinibatchStdDev(group_size, num_channels)(x)
    assert got.shape == (n, 4 + num_channels, 3, 5)
    np.testing.assert_allclose(got.numpy(), _np_mbstd(x.numpy(), group_size, num_channels, False), atol=1e-12)


def test_minibatch_stddev_multistylegan_convention():
    x = torch.randn(5, 3, 4, 4, dtype=torch.float64)
    got = minibatch_stddev(x, group_size=None, eps_mode="clamp")
    np.testing.assert_allclose(got.numpy(), _np_mbstd(x.numpy(), None, 1, True), atol=1e-12)
    single = minibatch_stddev(torch.randn(1, 3, 4, 4), group_size=None, eps_mode="clamp")
    torch.testing.assert_close(single[:, 3], torch.full((1, 4, 4), 1e-4))


def test_minibatch_stddev_rejects_indivisible_batch():
    with pytest.raises(ValueError, match="divisible"):
        minibatch_stddev(torch.randn(6, 4, 2, 2), group_size=4)
    with pytest.raises(ValueError, match="num_channels"):
        minibatch_stddev(torch.randn(4, 3, 2, 2), num_channels=2)


# ---------------------------------------------------------------- pixel norm


def test_pixel_norm_formula_and_unit_second_moment():
    x = torch.randn(2, 7, 3, 3, dtype=torch.float64) * 5
    want = x.numpy() / np.sqrt((x.numpy() ** 2).mean(axis=1, keepdims=True) + 1e-8)
    np.testing.assert_allclose(PixelNorm()(x).numpy(), want, rtol=1e-12)
    torch.testing.assert_close(PixelNorm()(x).square().mean(dim=1), torch.ones(2, 3, 3, dtype=torch.float64))
    z = torch.randn(4, 16)
    torch.testing.assert_close(normalize_2nd_moment(3 * z), normalize_2nd_moment(z), rtol=1e-5, atol=1e-6)
    assert list(PixelNorm().state_dict()) == []


def test_pixel_norm_divide_and_rsqrt_forms():
    x = torch.randn(5, 64, 4, 4) * 3
    mean_square = torch.mean(x**2, dim=1, keepdim=True) + 1e-8
    assert torch.equal(PixelNorm(divide=True)(x), x / torch.sqrt(mean_square))  # PGGAN / Multi-StyleGAN
    assert torch.equal(PixelNorm()(x), x * torch.rsqrt(mean_square))  # stylegan2-ada
    torch.testing.assert_close(PixelNorm(divide=True)(x), PixelNorm()(x), rtol=1e-6, atol=0)
    z = torch.randn(8, 32)
    want = z / torch.sqrt(torch.mean(z**2, dim=1, keepdim=True) + 1e-8)
    assert torch.equal(normalize_2nd_moment(z, divide=True), want)


# ---------------------------------------------------------------- noise injection


def test_noise_injection_names_and_formula():
    rosinality = NoiseInjection()
    assert list(rosinality.state_dict()) == ["weight"] and rosinality.weight.shape == (1,)
    stylegan2 = NoiseInjection("noise_strength", ())
    assert list(stylegan2.state_dict()) == ["noise_strength"] and stylegan2.noise_strength.shape == ()
    x = torch.randn(2, 3, 4, 4)
    torch.testing.assert_close(rosinality(x), x)  # strength starts at 0
    with torch.no_grad():
        rosinality.weight.fill_(0.5)
    noise = torch.randn(2, 1, 4, 4)
    torch.testing.assert_close(rosinality(x, noise), x + 0.5 * noise)
    drawn = rosinality(x) - x  # fresh noise is shared across channels
    torch.testing.assert_close(drawn[:, 0], drawn[:, 2])
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    torch.testing.assert_close(rosinality(x, generator=g1), rosinality(x, generator=g2))


# ---------------------------------------------------------------- mapping network


def test_mapping_network_keys_match_stylegan2_ada():
    net = MappingNetwork(z_dim=8, c_dim=3, w_dim=6, num_ws=4, num_layers=3)
    assert list(net.state_dict()) == [
        "w_avg",
        "embed.weight",
        "embed.bias",
        "fc0.weight",
        "fc0.bias",
        "fc1.weight",
        "fc1.bias",
        "fc2.weight",
        "fc2.bias",
    ]
    assert net.fc0.weight.shape == (6, 14) and net.embed.weight.shape == (6, 3)
    assert "w_avg" not in MappingNetwork(8, 0, 6, num_ws=None).state_dict()


def test_mapping_network_forward_by_hand():
    net = MappingNetwork(z_dim=5, c_dim=2, w_dim=4, num_ws=3, num_layers=2, lr_multiplier=0.1)
    z, c = torch.randn(3, 5, dtype=torch.float64), torch.randn(3, 2, dtype=torch.float64)

    def fc(layer, v, act):
        w = layer.weight.detach().double().numpy() * layer.weight_gain
        y = v @ w.T + layer.bias.detach().double().numpy() * layer.bias_gain
        return np.where(y >= 0, y, 0.2 * y) * math.sqrt(2) if act else y

    def norm(v):
        return v / np.sqrt((v**2).mean(axis=1, keepdims=True) + 1e-8)

    x = np.concatenate([norm(z.numpy()), norm(fc(net.embed, c.numpy(), False))], axis=1)
    x = fc(net.fc1, fc(net.fc0, x, True), True)
    got = net(z, c)
    assert got.shape == (3, 3, 4)
    for i in range(3):
        np.testing.assert_allclose(got[:, i].detach().numpy(), x, rtol=1e-5, atol=1e-6)


def test_mapping_truncation_and_w_avg_tracking():
    net = MappingNetwork(z_dim=8, c_dim=0, w_dim=8, num_ws=5, num_layers=2, w_avg_beta=0.9)
    z = torch.randn(6, 8)
    with torch.no_grad():
        w = net(z, update_emas=True)
        torch.testing.assert_close(net.w_avg, 0.1 * w[:, 0].mean(dim=0))  # lerp(mean, 0, 0.9)
        prev = net.w_avg.clone()
        w2 = net(z, update_emas=True)
        torch.testing.assert_close(net.w_avg, 0.9 * prev + 0.1 * w2[:, 0].mean(dim=0))

        avg = net.w_avg.expand(6, 5, 8)
        torch.testing.assert_close(net(z, truncation_psi=0), avg)
        half = net(z, truncation_psi=0.5)
        torch.testing.assert_close(half, avg + 0.5 * (net(z) - avg))
        cut = net(z, truncation_psi=0, truncation_cutoff=2)
        torch.testing.assert_close(cut[:, :2], avg[:, :2])
        torch.testing.assert_close(cut[:, 2:], net(z)[:, 2:])
        before = net.w_avg.clone()
        net(z)  # no update without update_emas
        torch.testing.assert_close(net.w_avg, before)


def test_mapping_under_bf16_autocast_tracks_a_float32_w_avg_and_truncates():
    net = MappingNetwork(z_dim=8, c_dim=2, w_dim=8, num_ws=3, num_layers=2, w_avg_beta=0.5)
    z, c = torch.randn(4, 8), torch.randn(4, 2)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        w = net(z, c, update_emas=True)
        assert w.dtype == torch.bfloat16 and net.w_avg.dtype == torch.float32
        torch.testing.assert_close(net.w_avg, 0.5 * w[:, 0].float().mean(dim=0))
        truncated = net(z, c, truncation_psi=0.5, truncation_cutoff=2)
    expected = net.w_avg + 0.5 * (w.float() - net.w_avg)
    torch.testing.assert_close(truncated[:, :2].float(), expected[:, :2], atol=2e-2, rtol=2e-2)


def test_mapping_network_validates_inputs():
    net = MappingNetwork(z_dim=4, c_dim=2, w_dim=4, num_ws=None, num_layers=1)
    with pytest.raises(ValueError, match="c must be"):
        net(torch.randn(2, 4))
    with pytest.raises(ValueError, match="z must be"):
        net(torch.randn(2, 3), torch.randn(2, 2))
    with pytest.raises(ValueError, match="w_avg"):
        MappingNetwork(4, 0, 4, num_ws=None)(torch.randn(2, 4), truncation_psi=0.5)


# ---------------------------------------------------------------- FIR filter module


def test_fir_upsample_kernel_sum_sets_the_mean():
    """Multi-StyleGAN's Upsample (kernel sum 1) quarters a constant; rosinality's (sum 4) keeps it."""
    x = torch.full((1, 1, 6, 6), 2.0)
    quirk = FIRFilter2d((1, 3, 3, 1), up=2, gain=1.0)
    assert quirk.padding == (2, 1) and list(quirk.state_dict()) == ["kernel"]
    assert float(quirk.kernel.sum()) == pytest.approx(1.0)
    y = quirk(x)
    assert y.shape == (1, 1, 12, 12)
    torch.testing.assert_close(y[..., 3:-3, 3:-3], torch.full((1, 1, 6, 6), 0.5))
    keep = FIRFilter2d((1, 3, 3, 1), up=2, gain=4.0)(x)
    torch.testing.assert_close(keep[..., 3:-3, 3:-3], torch.full((1, 1, 6, 6), 2.0))


def test_fir_blur_padding_and_kernel():
    blur = FIRFilter2d((1, 3, 3, 1), padding=(2, 2))  # Multi-StyleGAN D: 127 -> 128 after the stride-2 conv
    assert blur(torch.randn(1, 2, 127, 127)).shape == (1, 2, 128, 128)
    taps = torch.tensor([1.0, 3, 3, 1])
    torch.testing.assert_close(blur.kernel, torch.outer(taps, taps) / 64)
    assert FIRFilter2d((1, 3, 3, 1), down=2)(torch.randn(1, 1, 8, 8)).shape == (1, 1, 4, 4)
