"""insilico_core.nn: self-attention, residual and U-Net blocks (keys, shapes, references, properties)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from insilico_core.nn import (
    SelfAttention2d,
    UNetDecoderBlock,
    UNetSkipConnectionBlock,
    center_crop,
    concat_skip,
    equalized_resnet_block,
    pix2pix_resnet_block,
)
from torch import nn


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


# ---------------------------------------------------------------- self-attention


def test_self_attention_keys_match_multistylegan_nonlocal_block():
    block = SelfAttention2d(256, 384)
    shapes = {k: tuple(v.shape) for k, v in block.state_dict().items()}
    assert shapes == {
        "gamma": (),
        "theta.weight": (48, 256, 1, 1),
        "phi.weight": (48, 256, 1, 1),
        "g.weight": (192, 256, 1, 1),
        "o.weight": (384, 192, 1, 1),
        "residual_mapping.weight": (384, 256, 1, 1),
    }
    assert list(shapes) == [
        "gamma",
        "theta.weight",
        "phi.weight",
        "g.weight",
        "o.weight",
        "residual_mapping.weight",
    ]  # Multi-StyleGAN's NonLocalBlock order
    assert "residual_mapping.weight" not in SelfAttention2d(16, 16).state_dict()


def test_self_attention_with_gamma_zero_is_scaled_identity():
    x = torch.randn(2, 16, 8, 8)
    torch.testing.assert_close(SelfAttention2d(16)(x), x / math.sqrt(2))
    torch.testing.assert_close(SelfAttention2d(16, output_divisor=1.0)(x), x)


def test_self_attention_divides_by_the_divisor_bit_for_bit():
    block = SelfAttention2d(16, 24)
    with torch.no_grad():
        block.gamma.fill_(0.7)
    x = torch.randn(2, 16, 6, 4)
    unscaled = SelfAttention2d(16, 24, output_divisor=1.0)
    unscaled.load_state_dict(block.state_dict())
    assert torch.equal(block(x), unscaled(x) / math.sqrt(2))


def _np_attention(block: SelfAttention2d, x: np.ndarray) -> np.ndarray:
    def conv1x1(layer, v):
        w = layer.weight.detach().double().numpy()[:, :, 0, 0] * layer.weight_gain
        return np.einsum("oi,nihw->nohw", w, v)

    def pool(v):
        n, c, h, w = v.shape
        return v.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))

    n, _, h, w = x.shape
    q = conv1x1(block.theta, x).reshape(n, -1, h * w)
    k = pool(conv1x1(block.phi, x)).reshape(n, q.shape[1], -1)
    v = pool(conv1x1(block.g, x)).reshape(n, -1, k.shape[2])
    logits = np.einsum("nci,ncj->nij", q, k)
    beta = np.exp(logits - logits.max(axis=2, keepdims=True))
    beta /= beta.sum(axis=2, keepdims=True)
    y = conv1x1(block.o, np.einsum("ncj,nij->nci", v, beta).reshape(n, -1, h, w))
    residual = conv1x1(block.residual_mapping, x)
    return (float(block.gamma.detach()) * y + residual) / math.sqrt(2)


def test_self_attention_matches_numpy_reference():
    block = SelfAttention2d(16, 24)
    with torch.no_grad():
        block.gamma.fill_(0.7)
    x = torch.randn(2, 16, 6, 4)
    got = block(x)
    assert got.shape == (2, 24, 6, 4)
    np.testing.assert_allclose(
        got.detach().numpy(), _np_attention(block, x.double().numpy()), rtol=1e-4, atol=1e-5
    )


def test_self_attention_is_equivariant_to_batch_permutation_and_checks_sizes():
    block = SelfAttention2d(16)
    with torch.no_grad():
        block.gamma.fill_(1.0)
    x = torch.randn(3, 16, 4, 4)
    perm = torch.tensor([2, 0, 1])
    torch.testing.assert_close(block(x)[perm], block(x[perm]))
    with pytest.raises(ValueError, match="divisible"):
        block(torch.randn(1, 16, 5, 4))


# ---------------------------------------------------------------- residual blocks


def test_pix2pix_resnet_block_keys_follow_tagan_indices():
    generator_block = pix2pix_resnet_block(8, dropout=0.0)
    assert [k for k in generator_block.state_dict() if k.endswith("weight")] == [
        "conv_block.1.weight",
        "conv_block.2.weight",
        "conv_block.6.weight",
        "conv_block.7.weight",
    ]
    segmenter_block = pix2pix_resnet_block(8)
    assert [k for k in segmenter_block.state_dict() if k.endswith("weight")] == [
        "conv_block.1.weight",
        "conv_block.2.weight",
        "conv_block.5.weight",
        "conv_block.6.weight",
    ]
    zero = pix2pix_resnet_block(8, padding_type="zero", norm_layer=lambda c: nn.Identity(), use_bias=True)
    assert [k for k in zero.state_dict()] == [
        "conv_block.0.weight",
        "conv_block.0.bias",
        "conv_block.3.weight",
        "conv_block.3.bias",
    ]


def test_pix2pix_resnet_block_is_identity_when_last_norm_is_zero():
    block = pix2pix_resnet_block(4).eval()
    with torch.no_grad():
        block.conv_block[-1].weight.zero_()
    x = torch.randn(2, 4, 6, 6)
    torch.testing.assert_close(block(x), x)


def test_pix2pix_resnet_block_formula_with_reflection_padding():
    block = pix2pix_resnet_block(2, norm_layer=lambda c: nn.Identity())
    x = torch.randn(1, 2, 5, 5)
    conv_a, conv_b = block.conv_block[1], block.conv_block[5]

    def padded_conv(conv, v):
        padded = torch.nn.functional.pad(v, [1, 1, 1, 1], mode="reflect")
        return torch.nn.functional.conv2d(padded, conv.weight)

    want = x + padded_conv(conv_b, torch.relu(padded_conv(conv_a, x)))
    torch.testing.assert_close(block(x), want)


def test_equalized_resnet_block_keys_match_multistylegan_discriminator():
    block = equalized_resnet_block(384, 768, minibatch_std=True)
    assert {k: tuple(v.shape) for k, v in block.state_dict().items()} == {
        "main_mapping.0.weight": (768, 385, 3, 3),
        "main_mapping.1.bias": (768,),
        "main_mapping.2.weight": (768, 768, 3, 3),
        "main_mapping.3.bias": (768,),
        "residual_mapping.weight": (768, 384, 1, 1),
    }


def test_equalized_resnet_block_formula_and_batch_equivariance():
    block = equalized_resnet_block(4, 6, minibatch_std=True)
    x = torch.randn(3, 4, 5, 5)
    conv0, act0, conv1, act1 = block.main_mapping
    stat = torch.sqrt(((x - x.mean(0)) ** 2).mean(0).clamp(min=1e-8)).mean()
    h = torch.cat([x, stat.expand(3, 1, 5, 5)], dim=1)

    def lrelu(v, bias):
        v = v + bias.reshape(1, -1, 1, 1)
        return torch.where(v >= 0, v, 0.2 * v)

    def conv(layer, v):
        return torch.nn.functional.conv2d(
            v,
            layer.weight * math.sqrt(2) / math.sqrt(layer.weight[0].numel()),
            padding=layer.weight.shape[-1] // 2,
        )

    main = lrelu(conv(conv1, lrelu(conv(conv0, h), act0.bias)), act1.bias)
    want = (main + conv(block.residual_mapping, x)) / math.sqrt(2)
    torch.testing.assert_close(block(x), want, rtol=1e-5, atol=1e-5)
    perm = torch.tensor([1, 2, 0])
    torch.testing.assert_close(block(x)[perm], block(x[perm]), rtol=1e-5, atol=1e-6)
    # a division, as Multi-StyleGAN computes it (a multiplication by 1 / sqrt 2 differs in the last bit)
    branches = block.main_mapping(block.mini_batch_std_dev(x)) + block.residual_mapping(x)
    assert torch.equal(block(x), branches / math.sqrt(2))


# ---------------------------------------------------------------- U-Net


def test_center_crop_and_concat_skip():
    skip = torch.arange(36.0).reshape(1, 1, 6, 6)
    torch.testing.assert_close(center_crop(skip, (2, 4)), skip[..., 2:4, 1:5])
    out = concat_skip(torch.zeros(1, 3, 4, 4), skip)
    assert out.shape == (1, 4, 4, 4)
    torch.testing.assert_close(out[:, 3:], skip[..., 1:5, 1:5])
    with pytest.raises(ValueError, match="larger"):
        center_crop(skip, (8, 8))


def test_unet_decoder_block_keys_and_shape():
    block = UNetDecoderBlock(
        nn.ConvTranspose2d(8, 4, 2, stride=2),
        nn.Conv2d(8, 4, 3, padding=1),
        up_name="expand",
        block_name="conv",
    )
    assert list(block.state_dict()) == ["expand.weight", "expand.bias", "conv.weight", "conv.bias"]
    assert block(torch.randn(2, 8, 3, 3), torch.randn(2, 4, 8, 8)).shape == (2, 4, 6, 6)


class _OriginalUnetLevel(nn.Module):
    """The pix2pix level as the original writes it (in-place LeakyReLU), as the reference of the quirk."""

    def __init__(self, outer, inner, input_nc=None, sub=None, outermost=False, innermost=False):
        super().__init__()
        self.outermost = outermost
        input_nc = outer if input_nc is None else input_nc
        down = nn.Conv2d(input_nc, inner, 4, 2, 1, bias=False)
        if outermost:
            model = [down, sub, nn.ReLU(True), nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1), nn.Tanh()]
        elif innermost:
            model = [
                nn.LeakyReLU(0.2, True),
                down,
                nn.ReLU(True),
                nn.ConvTranspose2d(inner, outer, 4, 2, 1, bias=False),
                nn.BatchNorm2d(outer),
            ]
        else:
            model = [
                nn.LeakyReLU(0.2, True),
                down,
                nn.BatchNorm2d(inner),
                sub,
                nn.ReLU(True),
                nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1, bias=False),
                nn.BatchNorm2d(outer),
            ]
        self.model = nn.Sequential(*model)

    def forward(self, x):
        return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)


def _build(level_cls):
    sub = "sub" if level_cls is _OriginalUnetLevel else "submodule"
    inner = level_cls(16, 16, innermost=True)
    mid = level_cls(8, 16, **{sub: inner})
    return level_cls(2, 8, input_nc=1, outermost=True, **{sub: mid})


def test_unet_skip_block_keys_and_outputs_equal_the_original_structure():
    """Same keys as the original; same outputs although it does not reproduce the in-place LeakyReLU
    (the parent's ReLU removes the difference)."""
    ours = _build(UNetSkipConnectionBlock).eval()
    original = _build(_OriginalUnetLevel).eval()
    assert list(ours.state_dict()) == list(original.state_dict())
    assert "model.1.model.3.model.1.weight" in ours.state_dict()
    original.load_state_dict(ours.state_dict())
    x = torch.randn(2, 1, 16, 16)
    with torch.no_grad():
        y = ours(x)
        torch.testing.assert_close(y, original(x))
    assert y.shape == (2, 2, 16, 16) and y.abs().max() < 1
    middle = ours.model[1]
    h = torch.randn(2, 8, 8, 8)
    torch.testing.assert_close(middle(h)[:, :8], h)  # the skip half is the input itself


def test_unet_skip_block_argument_checks():
    with pytest.raises(ValueError, match="submodule"):
        UNetSkipConnectionBlock(4, 8)
    with pytest.raises(ValueError, match="both"):
        UNetSkipConnectionBlock(4, 8, outermost=True, innermost=True)
