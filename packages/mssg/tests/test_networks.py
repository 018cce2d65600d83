"""MSSG networks: stock key layouts (spec §4.5) and the math against plain-torch / scipy oracles."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mssg.networks import Discriminator, stylegan2, stylegan3
from mssg.networks.filter_design import design_lowpass_filter

# G and D as mssg-train-ms --cfg stylegan2 builds them for the Morpho-MNIST sources (spec §2.1, §4.5).
MORPHO_COMMON = dict(
    c_dim=13,
    img_resolution=32,
    img_channels=1,
    channel_base=16384,
    channel_max=512,
    num_fp16_res=4,
    conv_clamp=256,
)
MORPHO_G = dict(
    z_dim=512,
    w_dim=512,
    mapping_kwargs=dict(num_layers=8),
    fused_modconv_default="inference_only",
    **MORPHO_COMMON,
)
MORPHO_D = dict(block_kwargs=dict(freeze_layers=0), epilogue_kwargs=dict(mbstd_group_size=4), **MORPHO_COMMON)


def _layer_keys(prefix: str, with_noise: bool) -> list[str]:
    if with_noise:
        names = [
            "weight",
            "noise_strength",
            "bias",
            "resample_filter",
            "noise_const",
            "affine.weight",
            "affine.bias",
        ]
    else:
        names = ["weight", "bias", "affine.weight", "affine.bias"]
    return [f"{prefix}.{n}" for n in names]


def test_stylegan2_generator_keys_match_spec():
    G = stylegan2.Generator(**MORPHO_G)
    sd = G.state_dict()
    expected = ["synthesis.b4.const", "synthesis.b4.resample_filter"]
    expected += _layer_keys("synthesis.b4.conv1", True) + _layer_keys("synthesis.b4.torgb", False)
    for r in (8, 16, 32):
        expected += [f"synthesis.b{r}.resample_filter"]
        expected += _layer_keys(f"synthesis.b{r}.conv0", True) + _layer_keys(f"synthesis.b{r}.conv1", True)
        expected += _layer_keys(f"synthesis.b{r}.torgb", False)
    expected += ["mapping.w_avg", "mapping.embed.weight", "mapping.embed.bias"]
    for i in range(8):
        expected += [f"mapping.fc{i}.weight", f"mapping.fc{i}.bias"]
    assert list(sd) == expected
    assert len(sd) == 89
    assert round(sum(v.numel() for v in sd.values()) / 1e6, 2) == 21.79
    assert tuple(sd["mapping.fc0.weight"].shape) == (512, 1024)
    assert tuple(sd["synthesis.b32.conv1.noise_const"].shape) == (32, 32)
    assert tuple(sd["synthesis.b4.torgb.weight"].shape) == (1, 512, 1, 1)
    assert (G.z_dim, G.c_dim, G.w_dim, G.num_ws, G.img_resolution, G.img_channels) == (512, 13, 512, 8, 32, 1)


def test_mssg_discriminator_keys_and_output_width():
    D = Discriminator(**MORPHO_D)
    sd = D.state_dict()
    expected = []
    for r in (32, 16, 8):
        expected.append(f"b{r}.resample_filter")
        if r == 32:
            expected += ["b32.fromrgb.weight", "b32.fromrgb.bias", "b32.fromrgb.resample_filter"]
        for conv in ("conv0", "conv1"):
            expected += [f"b{r}.{conv}.weight", f"b{r}.{conv}.bias", f"b{r}.{conv}.resample_filter"]
        expected += [f"b{r}.skip.weight", f"b{r}.skip.resample_filter"]
    expected += [
        "b4.conv.weight",
        "b4.conv.bias",
        "b4.conv.resample_filter",
        "b4.fc.weight",
        "b4.fc.bias",
        "b4.out.weight",
        "b4.out.bias",
    ]
    assert list(sd) == expected
    assert round(sum(v.numel() for v in sd.values()) / 1e6, 2) == 21.51
    assert tuple(sd["b4.conv.weight"].shape) == (512, 513, 3, 3)
    assert tuple(sd["b4.out.weight"].shape) == (14, 512)
    assert not any(k.startswith("mapping.") for k in sd)


def test_discriminator_ignores_c_in_aux_mode_and_projects_in_stock_mode():
    torch.manual_seed(0)
    kw = dict(c_dim=3, img_resolution=8, img_channels=1, channel_base=256, channel_max=16)
    D = Discriminator(**kw)
    img = torch.randn(4, 1, 8, 8)
    out = D(img, torch.randn(4, 3))
    assert out.shape == (4, 4)
    torch.testing.assert_close(out, D(img, torch.randn(4, 3)))
    P = Discriminator(**kw, conditioning="projection")
    assert "mapping.fc0.weight" in P.state_dict() and P.b4.out.weight.shape[0] == 16
    c1, c2 = torch.randn(4, 3), torch.randn(4, 3)
    assert P(img, c1).shape == (4, 1)
    assert not torch.allclose(P(img, c1), P(img, c2))


def test_mapping_truncation_formula():
    torch.manual_seed(0)
    G = stylegan2.Generator(
        z_dim=16, c_dim=3, w_dim=16, img_resolution=8, img_channels=1, channel_base=128, channel_max=16
    )
    G.mapping.w_avg.normal_()
    z, c = torch.randn(5, 16), torch.randn(5, 3)
    w = G.mapping(z, c)
    assert w.shape == (5, G.num_ws, 16) and torch.equal(w[:, 0], w[:, -1])
    psi = 0.6
    wt = G.mapping(z, c, truncation_psi=psi, truncation_cutoff=2)
    torch.testing.assert_close(wt[:, :2], G.mapping.w_avg + psi * (w[:, :2] - G.mapping.w_avg))
    torch.testing.assert_close(wt[:, 2:], w[:, 2:])
    torch.testing.assert_close(G.mapping(z, c, truncation_psi=0), G.mapping.w_avg.expand_as(w))


def test_synthesis_layer_matches_plain_torch_math():
    torch.manual_seed(0)
    layer = stylegan2.SynthesisLayer(6, 5, w_dim=7, resolution=8, conv_clamp=0.7)
    with torch.no_grad():
        layer.noise_strength.fill_(0.3)
        layer.bias.normal_()
    x = torch.randn(3, 6, 8, 8)
    w = torch.randn(3, 7)
    styles = w @ (layer.affine.weight / math.sqrt(7)).t() + layer.affine.bias
    outs = []
    for n in range(3):
        wn = layer.weight * styles[n].reshape(1, -1, 1, 1)
        wn = wn / (wn.square().sum(dim=[1, 2, 3], keepdim=True) + 1e-8).sqrt()
        y = F.conv2d(x[n : n + 1], wn, padding=1) + layer.noise_const * 0.3 + layer.bias.reshape(1, -1, 1, 1)
        outs.append((F.leaky_relu(y, 0.2) * math.sqrt(2)).clamp(-0.7, 0.7))
    expected = torch.cat(outs)
    for fused in (True, False):
        got = layer(x, w, noise_mode="const", fused_modconv=fused)
        torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


def test_generator_noise_modes_and_fused_paths_agree():
    torch.manual_seed(0)
    G = stylegan2.Generator(
        z_dim=8,
        c_dim=2,
        w_dim=8,
        img_resolution=16,
        img_channels=3,
        channel_base=256,
        channel_max=16,
        fused_modconv_default="inference_only",
    )
    for block in (G.synthesis.b4, G.synthesis.b8, G.synthesis.b16):
        for layer in (getattr(block, "conv0", None), block.conv1):
            if layer is not None:
                layer.noise_strength.data.fill_(0.5)
    z, c = torch.randn(2, 8), torch.randn(2, 2)
    G.eval()
    const = G(z, c, noise_mode="const")
    assert const.shape == (2, 3, 16, 16)
    torch.testing.assert_close(const, G(z, c, noise_mode="const"))
    assert not torch.allclose(G(z, c, noise_mode="random"), G(z, c, noise_mode="random"))
    assert not torch.allclose(const, G(z, c, noise_mode="none"))
    G.train()  # 'inference_only': non-fused modulation in training gives the same function
    torch.testing.assert_close(G(z, c, noise_mode="const"), const, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="noise_mode"):
        G(z, c, noise_mode="fixed")


@pytest.mark.parametrize(
    "numtaps, cutoff, width, fs", [(12, 2.0, 6.0, 32), (24, 11.3, 9.1, 64), (12, 16, 2.1, 64)]
)
def test_lowpass_design_matches_scipy_firwin(numtaps, cutoff, width, fs):
    signal = pytest.importorskip("scipy.signal")
    expected = signal.firwin(numtaps=numtaps, cutoff=cutoff, width=width, fs=fs)
    np.testing.assert_allclose(design_lowpass_filter(numtaps, cutoff, width, fs).numpy(), expected, atol=1e-7)


def test_radial_lowpass_design_matches_scipy_jinc():
    signal = pytest.importorskip("scipy.signal")
    special = pytest.importorskip("scipy.special")
    numtaps, cutoff, width, fs = 12, 5.0, 4.0, 32
    x = (np.arange(numtaps) - (numtaps - 1) / 2) / fs
    r = np.hypot(*np.meshgrid(x, x))
    f = special.j1(2 * cutoff * (np.pi * r)) / (np.pi * r)
    window = np.kaiser(numtaps, signal.kaiser_beta(signal.kaiser_atten(numtaps, width / (fs / 2))))
    f *= np.outer(window, window)
    np.testing.assert_allclose(
        design_lowpass_filter(numtaps, cutoff, width, fs, radial=True).numpy(), f / f.sum(), atol=1e-6
    )


@pytest.mark.parametrize(
    "resolution, names",
    [
        (
            32,
            ["L0_36_512", "L1_36_512", "L2_36_512", "L3_36_512", "L4_36_512"]
            + [f"L{i}_52_512" for i in range(5, 13)]
            + ["L13_32_512", "L14_32_1"],
        ),
        (
            128,
            [
                "L0_36_512",
                "L1_36_512",
                "L2_36_512",
                "L3_52_512",
                "L4_52_512",
                "L5_52_512",
                "L6_84_512",
                "L7_84_512",
                "L8_84_406",
                "L9_148_304",
                "L10_148_228",
                "L11_148_171",
                "L12_148_128",
                "L13_128_128",
                "L14_128_1",
            ],
        ),
    ],
)
def test_stylegan3_layer_geometry_matches_spec(resolution, names):
    G = stylegan3.Generator(
        z_dim=512,
        c_dim=6,
        w_dim=512,
        img_resolution=resolution,
        img_channels=1,
        channel_base=16384,
        channel_max=512,
    )
    assert G.synthesis.layer_names == names
    assert G.num_ws == 16
    if resolution == 128:
        sd = G.state_dict()
        assert len(sd) == 116 and round(sum(v.numel() for v in sd.values()) / 1e6, 2) == 27.30
        assert list(sd)[:6] == [
            "synthesis.input.weight",
            "synthesis.input.transform",
            "synthesis.input.freqs",
            "synthesis.input.phases",
            "synthesis.input.affine.weight",
            "synthesis.input.affine.bias",
        ]
        assert list(sd)[6:13] == [
            f"synthesis.L0_36_512.{k}"
            for k in (
                "weight",
                "bias",
                "magnitude_ema",
                "up_filter",
                "down_filter",
                "affine.weight",
                "affine.bias",
            )
        ]
        assert "synthesis.L14_128_1.up_filter" not in sd and tuple(
            sd["synthesis.L14_128_1.weight"].shape
        ) == (1, 128, 1, 1)


def test_stylegan3_generator_runs_and_truncates():
    torch.manual_seed(0)
    G = stylegan3.Generator(
        z_dim=16, c_dim=2, w_dim=16, img_resolution=16, img_channels=1, channel_base=256, channel_max=16
    ).eval()
    z, c = torch.randn(2, 16), torch.randn(2, 2)
    img = G(z, c)
    assert img.shape == (2, 1, 16, 16) and torch.isfinite(img).all()
    torch.testing.assert_close(
        G(z, c, truncation_psi=0), G(torch.randn(2, 16), torch.randn(2, 2), truncation_psi=0)
    )


def test_stylegan3_modulated_conv_matches_loop():
    torch.manual_seed(0)
    x = torch.randn(2, 4, 6, 6, dtype=torch.float64)
    w = torch.randn(3, 4, 3, 3, dtype=torch.float64)
    s = torch.randn(2, 4, dtype=torch.float64)
    gain = torch.tensor(0.7, dtype=torch.float64)
    got = stylegan3.modulated_conv2d_sg3(x, w, s, padding=2, input_gain=gain)
    wn = w * w.square().mean([1, 2, 3], keepdim=True).rsqrt()
    sn = s * s.square().mean().rsqrt()
    for n in range(2):
        wm = wn * sn[n].reshape(1, -1, 1, 1)
        wm = wm * (wm.square().sum([1, 2, 3], keepdim=True) + 1e-8).rsqrt() * 0.7
        torch.testing.assert_close(got[n : n + 1], F.conv2d(x[n : n + 1], wm, padding=2))
