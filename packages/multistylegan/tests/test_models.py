"""Networks: state-dict keys and shapes of the original (spec section 4), the dead GFP branch, and the layers
checked against plain-torch / numpy computations written independently here."""

from __future__ import annotations

import math

import multistylegan as msg
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from insilico_core.nn import SelfAttention2d, equalized_resnet_block
from multistylegan.models.layers import ModulatedConv2d, blur, upsample

SMALL_G = msg.generator_config(channels=16, resolution=32, latent_dimensions=32)
SMALL_D = msg.discriminator_config(channels=16)


def _randomised(module: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Give every parameter (also the zero- and one-initialised ones) random values, so all of them matter."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.5)
    return module.eval()


@pytest.fixture(scope="module")
def full_generator() -> msg.Generator:
    torch.manual_seed(0)
    return msg.Generator(config=msg.GENERATOR_CONFIG)


@pytest.fixture(scope="module")
def full_discriminator() -> msg.Discriminator:
    torch.manual_seed(0)
    return msg.Discriminator(config=msg.DISCRIMINATOR_CONFIG, no_rfp=True, no_gfp=False)


def _expected_generator_keys() -> list[tuple[str, tuple[int, ...]]]:
    """The 201 (key, shape) entries of spec section 4.3, built from the table."""
    mc, mm = "modulated_convolution", "modulated_convolution.modulation_mapping"
    keys: list[tuple[str, tuple[int, ...]]] = []
    for m in range(8):
        keys += [
            (f"style_mapping.layers.{2 * m + 1}.weight", (512, 512)),
            (f"style_mapping.layers.{2 * m + 2}.bias", (512,)),
        ]
    keys += [("constant_input_1.input", (1, 512, 4, 4)), ("constant_input_2.input", (1, 512, 4, 4))]
    keys += [
        ("starting_convolution_1." + k, s)
        for k, s in [
            (f"{mc}.weight", (1, 512, 512, 3, 3)),
            (f"{mm}.weight", (512, 512)),
            (f"{mm}.bias", (512,)),
            ("noise_injection.weight", (1,)),
            ("activation.bias", (512,)),
        ]
    ]
    keys += [
        ("starting_convolution_2." + k, s)
        for k, s in [
            (f"{mc}.weight", (1, 512, 512, 3, 3)),
            ("noise_injection.weight", (1,)),
            ("activation.bias", (512,)),
        ]
    ]
    keys += [
        ("starting_output_block_1." + k, s)
        for k, s in [
            ("bias", (1, 1, 1, 1)),
            (f"{mc}.weight", (1, 3, 512, 1, 1)),
            (f"{mm}.weight", (512, 512)),
            (f"{mm}.bias", (512,)),
        ]
    ]
    keys += [
        ("starting_output_block_2.bias", (1, 1, 1, 1)),
        (f"starting_output_block_2.{mc}.weight", (1, 3, 512, 1, 1)),
    ]
    for domain, mapped in ((1, True), (2, False)):
        for j in range(12):
            prefix = f"main_convolutions_{domain}.{j}."
            keys.append((prefix + f"{mc}.weight", (1, 512, 512, 2, 2) if j % 2 == 0 else (1, 512, 512, 3, 3)))
            if j % 2 == 0:
                keys.append((prefix + f"{mc}.blur.kernel", (4, 4)))
            if mapped:
                keys += [(prefix + f"{mm}.weight", (512, 512)), (prefix + f"{mm}.bias", (512,))]
            keys += [(prefix + "noise_injection.weight", (1,)), (prefix + "activation.bias", (512,))]
        for i in range(6):
            prefix = f"output_blocks_{domain}.{i}."
            keys += [
                (prefix + "bias", (1, 1, 1, 1)),
                (prefix + "upsampling.kernel", (4, 4)),
                (prefix + f"{mc}.weight", (1, 3, 512, 1, 1)),
            ]
            if mapped:
                keys += [(prefix + f"{mm}.weight", (512, 512)), (prefix + f"{mm}.bias", (512,))]
    keys.append(("noises.noise_start", (1, 1, 4, 4)))
    for i in range(6):
        size = 2 ** (i + 3)
        keys += [
            (f"noises.noise_{2 * i}", (1, 1, size, size)),
            (f"noises.noise_{2 * i + 1}", (1, 1, size, size)),
        ]
    return keys


def test_generator_state_dict_is_the_original_layout(full_generator):
    state = full_generator.state_dict()
    expected = _expected_generator_keys()
    assert len(expected) == 201
    assert [(k, tuple(v.shape)) for k, v in state.items()] == expected
    assert sum(p.numel() for p in full_generator.parameters()) == 53_018_664
    groups = full_generator.get_parameters(lr_main=2e-4, lr_style=2e-6)
    assert [len(g["params"]) for g in groups] == [1, 5, 4, 60, 24, 1, 3, 2, 36, 12, 16]
    assert [g["lr"] for g in groups] == [2e-4] * 10 + [2e-6]


def test_generator_buffers_and_initial_values(full_generator):
    state = full_generator.state_dict()
    taps = torch.tensor([1.0, 3.0, 3.0, 1.0])
    outer = torch.outer(taps, taps)
    torch.testing.assert_close(state["main_convolutions_1.0.modulated_convolution.blur.kernel"], outer / 16)
    torch.testing.assert_close(state["output_blocks_1.0.upsampling.kernel"], outer / 64)
    assert torch.all(state["starting_convolution_1.modulated_convolution.modulation_mapping.bias"] == 1.0)
    assert torch.all(state["constant_input_1.input"] == 1.0)
    assert torch.all(state["output_blocks_1.3.bias"] == 0.0)
    assert torch.all(state["main_convolutions_1.1.noise_injection.weight"] == 0.0)


def test_discriminator_state_dict_is_the_original_layout(full_discriminator):
    state = full_discriminator.state_dict()
    assert len(state) == 72
    assert sum(p.numel() for p in full_discriminator.parameters()) == 50_855_682
    shapes = {k: tuple(v.shape) for k, v in state.items()}
    assert list(state)[:5] == [
        "encoder_blocks.0.main_mapping.0.weight",
        "encoder_blocks.0.main_mapping.1.bias",
        "encoder_blocks.0.main_mapping.2.weight",
        "encoder_blocks.0.main_mapping.3.bias",
        "encoder_blocks.0.residual_mapping.weight",
    ]
    assert shapes["encoder_blocks.0.main_mapping.0.weight"] == (128, 6, 3, 3)
    assert shapes["encoder_blocks.2.gamma"] == ()
    assert list(state)[10:16] == [
        "encoder_blocks.2.gamma",
        "encoder_blocks.2.theta.weight",
        "encoder_blocks.2.phi.weight",
        "encoder_blocks.2.g.weight",
        "encoder_blocks.2.o.weight",
        "encoder_blocks.2.residual_mapping.weight",
    ]
    assert shapes["encoder_blocks.3.main_mapping.0.weight"] == (768, 385, 3, 3)
    assert shapes["encoder_blocks.4.main_mapping.0.weight"] == (1024, 769, 3, 3)
    for i, c in enumerate((128, 256, 384, 768)):
        assert shapes[f"downscale_convolutions.{i}.0.weight"] == (c, c, 3, 3)
        assert shapes[f"downscale_convolutions.{i}.0.bias"] == (c,)
        assert shapes[f"downscale_convolutions.{i}.1.kernel"] == (4, 4)
    assert shapes["classification_head.2.weight"] == (128, 1024)
    assert shapes["classification_head.4.weight"] == (1, 128)
    for j, shape in enumerate([(256, 1024, 1, 1), (384, 768, 1, 1), (128, 384, 1, 1), (128, 256, 1, 1)]):
        assert shapes[f"transposed_convolutions.{j}.1.weight"] == shape
    assert list(state)[-2:] == ["final_mapping.0.bias", "final_mapping.1.weight"]
    # Order: encoder, downscale, head, decoder, transposed convolutions, final mapping
    order = [k.split(".")[0] for k in state]
    blocks = [name for i, name in enumerate(order) if i == 0 or order[i - 1] != name]
    assert blocks == [
        "encoder_blocks",
        "downscale_convolutions",
        "classification_head",
        "decoder_blocks",
        "transposed_convolutions",
        "final_mapping",
    ]


@pytest.mark.parametrize(
    ("no_rfp", "no_gfp", "planes"), [(False, False, 9), (True, False, 6), (True, True, 3)]
)
def test_discriminator_input_planes_follow_the_domains(no_rfp, no_gfp, planes):
    discriminator = msg.Discriminator(config=SMALL_D, no_rfp=no_rfp, no_gfp=no_gfp)
    assert discriminator.state_dict()["encoder_blocks.0.main_mapping.0.weight"].shape[1] == planes


def test_dead_gfp_branch_skipped_gives_identical_outputs():
    torch.manual_seed(1)
    generator = _randomised(msg.Generator(config=SMALL_G))
    z = torch.randn(3, 32)
    with torch.no_grad():
        generator.compute_dead_branch = True
        computed = generator(z, randomize_noise=False)
        generator.compute_dead_branch = False
        skipped = generator(z, randomize_noise=False)
        # and the branch really is dead: scrambling its weights changes nothing
        for parameter in generator.main_convolutions_2.parameters():
            parameter.mul_(-3.0).add_(1.0)
        generator.compute_dead_branch = True
        scrambled = generator(z, randomize_noise=False)
    assert torch.equal(computed, skipped)
    assert torch.equal(computed, scrambled)
    assert computed.shape == (3, 2, 3, 32, 32)


def test_wired_gfp_branch_uses_gfp_features():
    torch.manual_seed(2)
    config = dict(SMALL_G, wire_gfp_branch=True)
    generator = _randomised(msg.Generator(config=config))
    z = torch.randn(2, 32)
    with torch.no_grad():
        before = generator(z, randomize_noise=False)
        generator.main_convolutions_2[-1].activation.bias.add_(1.0)
        after = generator(z, randomize_noise=False)
    assert torch.equal(before[:, 0], after[:, 0])
    assert not torch.allclose(before[:, 1], after[:, 1])


def test_latent_inputs_mixing_and_w_plus():
    torch.manual_seed(3)
    generator = _randomised(msg.Generator(config=SMALL_G))
    z1, z2 = torch.randn(2, 32), torch.randn(2, 32)
    layers = generator.num_layers
    assert layers == 2 * 3 + 2
    with torch.no_grad():
        image, latents = generator(
            [z1, z2], inject_index=3, randomize_noise=False, return_main_style_vectors=True
        )
        w1, w2 = generator.style_mapping(z1), generator.style_mapping(z2)
        assert torch.equal(latents[:, :3], w1[:, None].expand(-1, 3, -1))
        assert torch.equal(latents[:, 3:], w2[:, None].expand(-1, layers - 3, -1))
        # the W+ forward of these latents is the mixing forward
        assert torch.equal(generator(latents, input_is_latent=True, randomize_noise=False), image)
        # w [B, D] and [B, 1, D] (which fails in the original) both broadcast to every layer
        plain = generator(z1, randomize_noise=False)
        assert torch.equal(generator(w1, input_is_latent=True, randomize_noise=False), plain)
        assert torch.equal(generator(w1[:, None], input_is_latent=True, randomize_noise=False), plain)
    with pytest.raises(ValueError, match="rows"):
        generator(torch.randn(2, 5, 32), input_is_latent=True)


def test_noise_modes():
    torch.manual_seed(4)
    generator = _randomised(msg.Generator(config=SMALL_G))
    z = torch.randn(2, 32)
    with torch.no_grad():
        fixed = generator(z, randomize_noise=False)
        buffers = [generator.noises.noise_start] + [getattr(generator.noises, f"noise_{i}") for i in range(6)]
        assert torch.equal(generator(z, noise=buffers), fixed)
        assert not torch.allclose(generator(z), fixed)


def test_path_length_grads_shape_and_value():
    torch.manual_seed(5)
    generator = _randomised(msg.Generator(config=SMALL_G))
    z = torch.randn(2, 32)
    torch.manual_seed(9)
    grads = generator(z, return_path_length_grads=True, randomize_noise=False)
    assert grads.shape == (2, generator.num_layers, 32)
    assert grads.requires_grad  # graph kept for the penalty
    # Same projection drawn by hand: d(sum(image * n))/dW+ through the W+ forward
    _, latents = generator(z, randomize_noise=False, return_main_style_vectors=True)
    latents = latents.detach().requires_grad_(True)
    image = generator(latents, input_is_latent=True, randomize_noise=False)
    torch.manual_seed(9)
    projection = torch.randn(image.shape) / math.sqrt(3 * 32 * 32)
    (expected,) = torch.autograd.grad((image * projection).sum(), latents)
    torch.testing.assert_close(grads.detach(), expected, rtol=1e-4, atol=1e-6)


def test_upsample_is_zero_insertion_then_true_convolution():
    torch.manual_seed(6)
    x = torch.randn(2, 3, 5, 6)
    ours = upsample()(x)
    zero_inserted = torch.zeros(2, 3, 10, 12)
    zero_inserted[..., ::2, ::2] = x
    padded = F.pad(zero_inserted, (2, 1, 2, 1))
    kernel = torch.outer(torch.tensor([1.0, 3, 3, 1]), torch.tensor([1.0, 3, 3, 1])) / 64
    expected = F.conv2d(padded.reshape(6, 1, 13, 15), kernel.flip(0, 1)[None, None]).reshape(2, 3, 10, 12)
    torch.testing.assert_close(ours, expected)
    # kernel sums to 1 -> the mean drops to a quarter away from the borders
    assert ours.shape == (2, 3, 10, 12)


def test_blur_after_stride_two_keeps_size_plus_one():
    x = torch.ones(1, 1, 7, 7)
    out = blur(gain=1.0, padding=(2, 2))(x)
    assert out.shape == (1, 1, 8, 8)
    assert float(out[0, 0, 3, 3]) == pytest.approx(1.0)


def _modulated_weight(module: ModulatedConv2d, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample weights computed by hand with numpy-style broadcasting (independent of the module code)."""
    linear = module.modulation_mapping
    s = w @ (linear.weight * math.sqrt(2 / w.shape[1])).T + linear.bias * math.sqrt(
        2 / linear.weight.shape[0]
    )
    k = module.kernel_size
    weights = module.weight[0][None] * math.sqrt(2 / (module.in_channels * k * k)) * s[:, None, :, None, None]
    if module.demodulate:
        weights = weights / torch.sqrt((weights**2).sum(dim=(2, 3, 4), keepdim=True) + 1e-8)
    return weights, s


def test_modulated_convolution_matches_per_sample_convolution():
    torch.manual_seed(7)
    module = ModulatedConv2d(4, 5, 3, style_dimension=6)
    x, w = torch.randn(3, 4, 8, 8), torch.randn(3, 6)
    out, style = module(x, w)
    weights, s = _modulated_weight(module, w)
    expected = torch.cat([F.conv2d(x[b : b + 1], weights[b], padding=1) for b in range(3)])
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(style.view(3, 4), s)


def test_upsampling_modulated_convolution_matches_transposed_convolution_and_blur():
    torch.manual_seed(8)
    module = ModulatedConv2d(4, 5, 2, style_dimension=6, upsampling=True)
    x, w = torch.randn(2, 4, 6, 6), torch.randn(2, 6)
    out, _ = module(x, w)
    weights, _ = _modulated_weight(module, w)
    kernel = torch.outer(torch.tensor([1.0, 3, 3, 1]), torch.tensor([1.0, 3, 3, 1])) / 16
    expected = []
    for b in range(2):
        up = F.conv_transpose2d(x[b : b + 1], weights[b].transpose(0, 1), stride=2)  # [1, 5, 12, 12]
        padded = F.pad(up, (2, 1, 2, 1)).reshape(5, 1, 15, 15)
        expected.append(F.conv2d(padded, kernel.flip(0, 1)[None, None]).reshape(1, 5, 12, 12))
    torch.testing.assert_close(out, torch.cat(expected), rtol=1e-5, atol=1e-5)


def test_minibatch_stddev_against_numpy():
    torch.manual_seed(9)
    x = torch.randn(4, 3, 5, 5)
    out = equalized_resnet_block(3, 3, minibatch_std=True).mini_batch_std_dev(x)
    value = np.sqrt(np.maximum(x.numpy().var(axis=0), 1e-8)).mean()
    assert out.shape == (4, 4, 5, 5)
    torch.testing.assert_close(out[:, :3], x)
    np.testing.assert_allclose(out[:, 3].numpy(), value, rtol=1e-5)


def test_non_local_block_against_numpy():
    torch.manual_seed(10)
    block = _randomised(SelfAttention2d(8, 16))
    x = torch.randn(2, 8, 4, 6)
    with torch.no_grad():
        out = block(x).numpy()
    xn = x.numpy()

    def conv1x1(layer, a):
        weight = layer.weight.detach().numpy()[:, :, 0, 0] * math.sqrt(2 / layer.weight.shape[1])
        return np.einsum("oc,bchw->bohw", weight, a)

    def pool(a):
        b, c, h, w = a.shape
        return a.reshape(b, c, h // 2, 2, w // 2, 2).max(axis=(3, 5)).reshape(b, c, -1)

    theta = conv1x1(block.theta, xn).reshape(2, 2, -1)
    phi, g = pool(conv1x1(block.phi, xn)), pool(conv1x1(block.g, xn))
    logits = np.einsum("bcn,bcm->bnm", theta, phi)
    beta = np.exp(logits - logits.max(-1, keepdims=True))
    beta /= beta.sum(-1, keepdims=True)
    attended = conv1x1(block.o, np.einsum("bcm,bnm->bcn", g, beta).reshape(2, 8, 4, 6))
    expected = (float(block.gamma.detach()) * attended + conv1x1(block.residual_mapping, xn)) / math.sqrt(2)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)


def test_discriminator_outputs_and_input_check():
    torch.manual_seed(11)
    discriminator = _randomised(msg.Discriminator(config=SMALL_D, no_rfp=True))
    with torch.no_grad():
        scalar, pixel = discriminator(torch.rand(3, 2, 3, 32, 32), is_real=True)
    assert scalar.shape == (3, 1) and pixel.shape == (3, 1, 1, 32, 32)
    assert torch.isfinite(scalar).all() and torch.isfinite(pixel).all()
    with pytest.raises(ValueError, match="planes"):
        discriminator(torch.rand(1, 3, 3, 32, 32))


def test_configs_reject_bad_sizes():
    with pytest.raises(ValueError, match="power of two"):
        msg.generator_config(resolution=48)
    with pytest.raises(ValueError, match="multiple of 16"):
        msg.discriminator_config(channels=20)
    with pytest.raises(ValueError, match="fft"):
        msg.Discriminator(config=dict(msg.DISCRIMINATOR_CONFIG, fft=True))
