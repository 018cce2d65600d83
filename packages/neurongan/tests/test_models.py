"""Progressive networks: state-dict keys at every stage and fade (spec §5.5), forward against an independent
functional reference written from the spec, and the fade-in properties."""

from __future__ import annotations

import copy
import math

import pytest
import torch
import torch.nn.functional as F
from neurongan.models import DiscriminatorPG, GeneratorPG
from neurongan.models.layers import equalized_conv, equalized_linear

G_FEATURES = [128, 64, 32, 32, 16, 16]
D_FEATURES = [16, 16, 32, 32, 64, 128]
GAIN = math.sqrt(2 / 1.04)


def expected_g_keys(s: int) -> dict[str, tuple[int, ...]]:
    """Spec §5.5 for the generator with s completed transitions."""
    n = G_FEATURES
    keys = {"layers.0.weight": (n[0] * 256, 512), "layers.4.weight": (n[0], n[0], 3, 3)}
    for j in range(s):
        keys[f"layers.{7 + j}.1.weight"] = (n[j + 1], n[j], 3, 3)
        keys[f"layers.{7 + j}.4.weight"] = (n[j + 1], n[j + 1], 3, 3)
    for i in range(5 - s):
        keys[f"conv_block_list.{i}.1.weight"] = (n[s + i + 1], n[s + i], 3, 3)
        keys[f"conv_block_list.{i}.4.weight"] = (n[s + i + 1], n[s + i + 1], 3, 3)
    for i in range(5 - s):
        keys[f"ToIm_list.{i}.layers.0.weight"] = (1, n[s + 1 + i], 1, 1)
    keys["ToIm.layers.0.weight"] = (1, n[s], 1, 1)
    return keys


def expected_d_keys(s: int) -> dict[str, tuple[int, ...]]:
    """Spec §5.5 for the discriminator with s completed transitions."""
    m = D_FEATURES
    keys: dict[str, tuple[int, ...]] = {"alpha": ()}
    for j in range(s):
        k = 5 - s + j
        keys[f"layers.{j}.1.weight"] = (m[k + 1], m[k], 3, 3)
        keys[f"layers.{j}.4.weight"] = (m[k + 1], m[k + 1], 3, 3)
    keys[f"layers.{s}.weight"] = (128, 128, 3, 3)
    keys[f"layers.{s}.bias"] = (128,)
    keys[f"layers.{s + 3}.weight"] = (1, 128, 16, 16)
    keys[f"layers.{s + 3}.bias"] = (1,)
    for i in range(5 - s):
        keys[f"conv_block_list.{i}.1.weight"] = (m[i + 1], m[i], 3, 3)
        keys[f"conv_block_list.{i}.4.weight"] = (m[i + 1], m[i + 1], 3, 3)
    for i in range(5 - s):
        keys[f"FromIm_list.{i}.conv.weight"] = (m[i], 1, 1, 1)
        keys[f"FromIm_list.{i}.conv.bias"] = (m[i],)
    keys["FromIm.conv.weight"] = (m[5 - s], 1, 1, 1)
    keys["FromIm.conv.bias"] = (m[5 - s],)
    return keys


STAGES = [
    (16, 1.0, 0),
    (32, 0.5, 0),
    (32, 1.0, 1),
    (64, 0.25, 1),
    (64, 1.0, 2),
    (128, 1.0, 3),
    (256, 0.5, 3),
    (512, 0.0, 4),
    (512, 1.0, 5),
]


@pytest.mark.parametrize(("res", "alpha", "completed"), STAGES)
def test_state_dict_keys_shapes_and_order_follow_the_original_layout(res, alpha, completed):
    G, D = GeneratorPG(), DiscriminatorPG()
    G.set_resolution(res, alpha)
    D.set_resolution(res, alpha)
    g_state, d_state = G.state_dict(), D.state_dict()
    assert [(k, tuple(v.shape)) for k, v in g_state.items()] == list(expected_g_keys(completed).items())
    assert [(k, tuple(v.shape)) for k, v in d_state.items()] == list(expected_d_keys(completed).items())
    assert G.image_size == D.image_size == res
    assert float(d_state["alpha"]) == pytest.approx(alpha)


def test_final_stage_parameter_counts_match_the_released_model():
    G, D = GeneratorPG(), DiscriminatorPG()
    G.set_resolution(512)
    D.set_resolution(512)
    assert sum(v.numel() for v in G.state_dict().values()) == 17_092_880
    assert sum(v.numel() for k, v in D.state_dict().items() if k != "alpha") == 493_729
    assert len(G.state_dict()) == 13 and len(D.state_dict()) == 17


def test_growth_errors_are_clear():
    G = GeneratorPG([8, 4], image_size_init=4, latent_dim=8)
    with pytest.raises(ValueError, match="not reachable"):
        G.set_resolution(12)
    with pytest.raises(ValueError, match="not reachable"):
        G.set_resolution(16)
    G.increase_resolution()
    with pytest.raises(RuntimeError, match="has not ended"):
        G.increase_resolution()


# ---- independent functional reference (spec §5.1-5.3: the original scales the layer *input*) ----


def _eq_conv(x, w, b=None, padding=1):
    return F.conv2d(x * (GAIN / math.sqrt(w[0].numel())), w, b, padding=padding)


def _pixel_norm(x):
    return x / torch.sqrt((x**2).mean(dim=1, keepdim=True) + 1e-8)


def _lrelu_norm(x):
    return _pixel_norm(F.leaky_relu(x, 0.2))


def _block(x, state, prefix, up):
    x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False) if up else F.avg_pool2d(x, 2)
    x = _lrelu_norm(_eq_conv(x, state[f"{prefix}.1.weight"]))
    return _lrelu_norm(_eq_conv(x, state[f"{prefix}.4.weight"]))


def reference_generator(state, z, n0, size, completed, alpha):
    w = state["layers.0.weight"]
    h = F.linear(z * (GAIN / math.sqrt(w.shape[1])), w).view(-1, n0, size, size)
    h = _lrelu_norm(_eq_conv(_lrelu_norm(h), state["layers.4.weight"]))
    for j in range(completed):
        h = _block(h, state, f"layers.{7 + j}", up=True)
    image = torch.tanh(F.conv2d(h, state["ToIm.layers.0.weight"]))
    if alpha >= 1:
        return image
    old = F.interpolate(image, scale_factor=2, mode="bilinear", align_corners=False)
    new_features = _block(h, state, "conv_block_list.0", up=True)
    new = torch.tanh(F.conv2d(new_features, state["ToIm_list.0.layers.0.weight"]))
    return old + alpha * (new - old)


def reference_discriminator(state, x, completed, alpha):
    def trunk(y):
        for j in range(completed):
            y = _block(y, state, f"layers.{j}", up=False)
        y = _lrelu_norm(_eq_conv(y, state[f"layers.{completed}.weight"], state[f"layers.{completed}.bias"]))
        return _eq_conv(
            y, state[f"layers.{completed + 3}.weight"], state[f"layers.{completed + 3}.bias"], padding=0
        ).flatten(1)

    def from_image(y, prefix):
        return F.conv2d(y, state[f"{prefix}.conv.weight"], state[f"{prefix}.conv.bias"])

    if alpha >= 1:
        return trunk(from_image(x, "FromIm"))
    old = from_image(F.avg_pool2d(x, 2), "FromIm")
    last = max(int(k.split(".")[1]) for k in state if k.startswith("conv_block_list."))
    new = _block(from_image(x, f"FromIm_list.{last}"), state, f"conv_block_list.{last}", up=False)
    return trunk(old + alpha * (new - old))


TINY_G, TINY_D = [16, 8, 8, 4], [4, 8, 8, 16]


@pytest.mark.parametrize(
    ("res", "alpha", "completed"), [(4, 1.0, 0), (8, 0.3, 0), (16, 1.0, 2), (32, 0.7, 2), (32, 1.0, 3)]
)
def test_forward_matches_the_functional_reference(res, alpha, completed):
    torch.manual_seed(1)
    G = GeneratorPG(TINY_G, image_size_init=4, latent_dim=12)
    D = DiscriminatorPG(TINY_D, image_size_init=4)
    G.set_resolution(res, alpha)
    D.set_resolution(res, alpha)
    for p in D.parameters():  # non-zero biases so that they are exercised
        p.data.add_(0.05 * torch.randn_like(p))
    z = F.normalize(torch.randn(3, 12), dim=1)
    x = torch.rand(3, 1, res, res) * 2 - 1
    with torch.no_grad():
        image = G(z)
        score = D(x)
    assert image.shape == (3, 1, res, res) and score.shape == (3, 1)
    torch.testing.assert_close(
        image, reference_generator(G.state_dict(), z, 16, 4, completed, alpha), rtol=1e-4, atol=2e-5
    )
    torch.testing.assert_close(
        score, reference_discriminator(D.state_dict(), x, completed, alpha), rtol=1e-4, atol=1e-6
    )


def test_generator_fade_blends_the_upsampled_previous_stage_and_the_new_block():
    torch.manual_seed(2)
    G = GeneratorPG(TINY_G, image_size_init=4, latent_dim=12)
    G.set_resolution(8)
    z = F.normalize(torch.randn(2, 12), dim=1)
    with torch.no_grad():
        previous = G(z)
        G.increase_resolution()  # alpha = 0: the new block is present but contributes nothing
        at_zero = G(z)
        merged = copy.deepcopy(G)
        merged.advance_transition(1.0)  # alpha = 1: the new block alone (merged into the trunk)
        new_only = merged(z)
        G.advance_transition(0.25)
        quarter = G(z)
    upsampled = F.interpolate(previous, scale_factor=2, mode="bilinear", align_corners=False)
    torch.testing.assert_close(at_zero, upsampled, rtol=0, atol=1e-6)
    assert "layers.8.1.weight" in merged.state_dict() and "conv_block_list.0.1.weight" in G.state_dict()
    torch.testing.assert_close(quarter, 0.75 * at_zero + 0.25 * new_only, rtol=0, atol=1e-6)
    assert not torch.allclose(new_only, at_zero, atol=1e-3)


def test_discriminator_fade_starts_at_the_previous_stage_on_the_pooled_image():
    """D blends in feature space, so only the end points are checked here (the reference test: a fade)."""
    torch.manual_seed(3)
    D = DiscriminatorPG(TINY_D, image_size_init=4)
    D.set_resolution(8)
    x = torch.rand(2, 1, 16, 16) * 2 - 1
    with torch.no_grad():
        previous = D(F.avg_pool2d(x, 2))
        D.increase_resolution()
        at_zero = D(x)
        merged = copy.deepcopy(D)
        merged.advance_transition(1.0)
        new_only = merged(x)
    torch.testing.assert_close(at_zero, previous, rtol=0, atol=1e-6)
    assert not torch.allclose(new_only, at_zero, atol=1e-4)
    assert "layers.0.1.weight" in merged.state_dict()


def test_alpha_accumulates_in_float32_like_the_original():
    G = GeneratorPG(TINY_G, image_size_init=4, latent_dim=12)
    G.increase_resolution()
    steps = 0
    while G.fading:
        G.advance_transition(1e-4)
        steps += 1
    assert steps == 10_000
    assert float(G.alpha) == pytest.approx(1.0000535249710083, abs=0)
    assert "layers.7.1.weight" in G.state_dict()


def test_build_order_is_the_same_at_every_stage():
    G = GeneratorPG(TINY_G, image_size_init=4, latent_dim=12)
    before = [p.data_ptr() for p in G.parameters_in_build_order()]
    G.set_resolution(32, 0.5)
    assert [p.data_ptr() for p in G.parameters_in_build_order()] == before
    assert {p.data_ptr() for p in G.parameters()} <= set(before)  # the replaced 4 px toRGB is no longer used


def test_whole_frame_conv_is_the_convolution_with_a_single_output_pixel():
    torch.manual_seed(4)
    layer = equalized_conv(6, 2, 4, padding=0, bias=True, whole_frame=True)
    layer.bias.data.normal_()
    x = torch.randn(3, 6, 4, 4, requires_grad=True)
    expected = F.conv2d(x, layer.weight * layer.weight_gain, layer.bias)
    got = layer(x)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    g = torch.randn_like(expected)
    torch.testing.assert_close(
        torch.autograd.grad(got, (x, layer.weight), g),
        torch.autograd.grad(expected, (x, layer.weight), g),
        rtol=1e-5,
        atol=1e-6,
    )
    with pytest.raises(ValueError, match="expects"):
        layer(torch.zeros(1, 6, 5, 5))


def test_first_layer_weight_gradient_is_autograds_and_lands_in_one_kept_buffer():
    torch.manual_seed(5)
    layer = equalized_linear(6, 10)
    reference = torch.nn.Parameter(layer.weight.detach().clone())
    z, g = torch.randn(4, 6), torch.randn(4, 10)
    layer(z).backward(g)
    F.linear(z * layer.weight_gain, reference).backward(g)
    torch.testing.assert_close(layer.weight.grad, reference.grad, rtol=1e-6, atol=1e-7)
    buffer = layer.weight.grad.data_ptr()
    layer(z).backward(g)  # no zero_grad: accumulates, like autograd
    torch.testing.assert_close(layer.weight.grad, 2 * reference.grad, rtol=1e-6, atol=1e-7)
    layer.weight.grad = None  # zero_grad(set_to_none=True): the next gradient reuses the buffer
    z2 = torch.randn(4, 6, requires_grad=True)
    layer(z2).backward(g)
    assert layer.weight.grad.data_ptr() == buffer
    expected = g.t() @ (z2.detach() * layer.weight_gain)
    torch.testing.assert_close(layer.weight.grad, expected, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(z2.grad, g @ layer.weight.detach() * layer.weight_gain, rtol=1e-6, atol=1e-7)
