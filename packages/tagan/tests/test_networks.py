"""Network layouts against the state-dict listing of the original (spec §4.7), and loading of checkpoint files
in the original layout (legacy and zip torch files, optional ``module.`` prefix)."""

from __future__ import annotations

import pickle
from collections import OrderedDict

import pytest
import tagan
import torch
from insilico_core.nn import UNetSkipConnectionBlock
from tagan.networks import ResnetGenerator, UnetGenerator, init_weights, norm_layer_factory
from tagan.unet_dendrites import UNet, load_unet_dendrites
from torch import nn

BN_SUFFIXES = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def conv(prefix: str, bias: bool = False) -> list[str]:
    return [f"{prefix}.weight"] + ([f"{prefix}.bias"] if bias else [])


def bn(prefix: str) -> list[str]:
    return [f"{prefix}.{suffix}" for suffix in BN_SUFFIXES]


def resnet_keys(n_blocks: int, segmentor: bool) -> list[str]:
    """Spec §4.7: G (9 blocks, dropout entry at index 4) and S (6 blocks, no dropout entry)."""
    keys = conv("model.1") + bn("model.2") + conv("model.4") + bn("model.5") + conv("model.7") + bn("model.8")
    second = (5, 6) if segmentor else (6, 7)
    for block in range(10, 10 + n_blocks):
        keys += conv(f"model.{block}.conv_block.1") + bn(f"model.{block}.conv_block.2")
        keys += conv(f"model.{block}.conv_block.{second[0]}") + bn(f"model.{block}.conv_block.{second[1]}")
    up = 10 + n_blocks
    keys += conv(f"model.{up}") + bn(f"model.{up + 1}") + conv(f"model.{up + 3}") + bn(f"model.{up + 4}")
    keys += conv(f"model.{up + 7}", bias=True)
    return keys


def discriminator_keys() -> list[str]:
    return (
        conv("model.0", True)
        + conv("model.2")
        + bn("model.3")
        + conv("model.5")
        + bn("model.6")
        + conv("model.8")
        + bn("model.9")
        + conv("model.11", True)
    )


def unet128_keys() -> list[str]:
    p = "model.model.1"
    q = [p + ".model.3" * k for k in range(6)]
    keys = conv("model.model.0")
    for k in range(5):
        keys += conv(f"{q[k]}.model.1") + bn(f"{q[k]}.model.2")
    keys += conv(f"{q[5]}.model.1") + conv(f"{q[5]}.model.3") + bn(f"{q[5]}.model.4")
    for k in (4, 3, 2, 1, 0):
        keys += conv(f"{q[k]}.model.5") + bn(f"{q[k]}.model.6")
    return keys + conv("model.model.3", bias=True)


def unet_dendrites_keys() -> list[str]:
    def double(prefix: str) -> list[str]:
        return conv(f"{prefix}.0", True) + bn(f"{prefix}.1") + conv(f"{prefix}.3", True) + bn(f"{prefix}.4")

    keys = double("input_conv.conv")
    for i in range(3):
        keys += double(f"contracting_path.{i}.conv.1.conv")
    for i in range(3):
        keys += conv(f"expanding_path.{i}.expand", True) + double(f"expanding_path.{i}.conv.conv")
    return keys + conv("output_conv", True)


@pytest.mark.parametrize(
    ("model", "net", "keys", "params", "shapes"),
    [
        ("TAGAN_AxonalRings", "G", resnet_keys(9, False), 11_370_881, {"model.1.weight": (64, 1, 7, 7)}),
        ("TAGAN_AxonalRings", "S", resnet_keys(6, True), 7_828_865, {"model.23.bias": (1,)}),
        ("TAGAN_AxonalRings", "D", discriminator_keys(), 2_764_609, {"model.0.weight": (64, 2, 4, 4)}),
        ("TAGAN_Dendrites", "S", resnet_keys(6, True), 7_832_002, {"model.23.weight": (2, 64, 7, 7)}),
        ("TAGAN_Synprot", "G", resnet_keys(9, False), 11_377_154, {"model.26.weight": (2, 64, 7, 7)}),
        ("TAGAN_Synprot", "S", resnet_keys(6, True), 7_835_138, {"model.1.weight": (64, 2, 7, 7)}),
        ("TAGAN_Synprot", "D", discriminator_keys(), 2_766_657, {"model.0.weight": (64, 4, 4, 4)}),
        ("TAGAN_live", "G", resnet_keys(9, False), 11_377_153, {"model.1.weight": (64, 3, 7, 7)}),
        ("TAGAN_live", "S", unet128_keys(), 41_824_898, {"model.model.3.weight": (128, 2, 4, 4)}),
        ("segmentation", "S", unet128_keys(), 41_824_898, {"model.model.0.weight": (64, 1, 4, 4)}),
        ("TAGAN_SAureus", "G", resnet_keys(9, False), 11_370_881, {"model.19.weight": (256, 128, 3, 3)}),
        (
            "TAGAN_SimulatedNanodomains",
            "S",
            resnet_keys(6, True),
            7_828_865,
            {"model.16.weight": (256, 128, 3, 3)},
        ),
        ("TAGAN_cycle", "G_L", resnet_keys(9, False), 11_370_881, {}),
        ("TAGAN_cycle", "D_F", discriminator_keys(), None, {"model.0.weight": (64, 1, 4, 4)}),
    ],
)
def test_state_dict_keys_match_the_original_listing(model, net, keys, params, shapes):
    network = tagan.build_network(model, net)
    state = network.state_dict()
    assert list(state) == keys
    if params is not None:
        assert sum(p.numel() for p in network.parameters()) == params
    for key, shape in shapes.items():
        assert tuple(state[key].shape) == shape
    for key, value in state.items():
        assert value.dtype == (torch.int64 if key.endswith("num_batches_tracked") else torch.float32)


def test_cycle_gan_has_instance_norm_biases_and_no_norm_keys():
    keys = list(tagan.build_network("cycle_gan", "G_A").state_dict())
    assert len(keys) == 48
    assert "model.1.bias" in keys and "model.10.conv_block.6.bias" in keys
    assert not any("running" in key for key in keys)


def test_unet_dendrites_keys_and_size():
    network = UNet(1, 2, number_filter=4, depth=4, size=128)
    assert list(network.state_dict()) == unet_dendrites_keys()
    assert sum(p.numel() for p in network.parameters()) == 483_170


def test_dropout_entries_follow_the_original_placement():
    generator = tagan.build_network("TAGAN_AxonalRings", "G")
    assert isinstance(generator.model[10].conv_block[4], nn.Dropout)
    assert generator.model[10].conv_block[4].p == 0.5
    without = tagan.build_network("TAGAN_AxonalRings", "G", no_dropout=True)
    assert without.model[10].conv_block[4].p == 0.0
    segmenter = tagan.build_network("TAGAN_AxonalRings", "S")
    assert not any(isinstance(m, nn.Dropout) for m in segmenter.modules())


def test_norm_layers_and_bias_rule():
    batch, batch_bias = norm_layer_factory("batch")
    instance, instance_bias = norm_layer_factory("instance")
    assert (batch_bias, instance_bias) == (False, True)
    bn_layer, in_layer = batch(8), instance(8)
    assert (
        bn_layer.affine and bn_layer.track_running_stats and bn_layer.eps == 1e-5 and bn_layer.momentum == 0.1
    )
    assert not in_layer.affine and not in_layer.track_running_stats
    with pytest.raises(ValueError, match="--norm"):
        norm_layer_factory("group")


def test_initialisation_statistics():
    torch.manual_seed(0)
    network = tagan.build_network("TAGAN_AxonalRings", "G")
    weight = network.model[10].conv_block[1].weight
    assert abs(weight.std().item() - 0.02) < 0.001 and abs(weight.mean().item()) < 0.001
    norm = network.model[2]
    assert abs(norm.weight.mean().item() - 1.0) < 0.01 and torch.all(norm.bias == 0)
    assert torch.all(network.model[26].bias == 0)


def test_unet_equals_the_originals_in_place_skip():
    """The original's first LeakyReLU of each level works in place, so inner levels concatenate LeakyReLU(x)
    rather than x (the core block keeps x). Forcing the original's skip half with hooks changes neither the
    output nor any gradient (train mode, batch statistics)."""
    torch.manual_seed(0)
    norm, bias = norm_layer_factory("batch")
    network = UnetGenerator(1, 1, 5, ngf=4, norm_layer=norm, use_bias=bias)
    x = torch.randn(2, 1, 32, 32)
    weights = torch.randn(2, 1, 32, 32)

    def output_and_gradients() -> list[torch.Tensor]:
        network.zero_grad()
        output = network(x)
        (output * weights).sum().backward()
        return [output.detach()] + [p.grad.clone() for p in network.parameters()]

    plain = output_and_gradients()
    negative_skips = []

    def originals_skip(module, args, output):
        skip = args[0]
        negative_skips.append(bool((skip < 0).any()))
        return torch.cat([nn.functional.leaky_relu(skip, 0.2), output[:, skip.shape[1] :]], 1)

    inner = [m for m in network.modules() if isinstance(m, UNetSkipConnectionBlock) and not m.outermost]
    for block in inner:
        block.register_forward_hook(originals_skip)
    quirk = output_and_gradients()
    assert len(inner) == 4 and all(negative_skips)  # the hooks did change the concatenations
    for a, b in zip(plain, quirk, strict=True):
        assert torch.equal(a, b)


def test_resnet_generator_shapes_and_range():
    norm, bias = norm_layer_factory("batch")
    network = ResnetGenerator(2, 3, ngf=8, norm_layer=norm, use_bias=bias, n_blocks=2)
    output = network(torch.randn(2, 2, 20, 28))
    assert output.shape == (2, 3, 20, 28)
    assert output.abs().max() <= 1


def test_unknown_names_raise():
    with pytest.raises(ValueError, match="--model"):
        tagan.build_network("TAGAN_Unknown", "G")
    with pytest.raises(ValueError, match="no network 'X'"):
        tagan.build_network("TAGAN_AxonalRings", "X")
    with pytest.raises(ValueError, match="--netS 'unet_16'"):
        tagan.build_network("TAGAN_AxonalRings", "S", netS="unet_16")
    with pytest.raises(ValueError, match="unknown option"):
        tagan.build_network("TAGAN_AxonalRings", "G", bogus=1)


def randomised_state(network: nn.Module, seed: int) -> OrderedDict:
    generator = torch.Generator().manual_seed(seed)
    state = OrderedDict()
    for key, value in network.state_dict().items():
        if value.is_floating_point():
            value = torch.randn(value.shape, generator=generator) * 0.05
            if key.endswith("running_var"):
                value = value.abs() + 0.5
        state[key] = value
    return state


@pytest.mark.parametrize("layout", ["zip", "legacy", "module_prefix"])
def test_load_original_network_reads_original_files(tmp_path, layout):
    torch.manual_seed(0)
    reference = tagan.build_network("TAGAN_AxonalRings", "S", ngf=8)
    state = randomised_state(reference, 1)
    reference.load_state_dict(state)
    saved = OrderedDict((f"module.{k}", v) for k, v in state.items()) if layout == "module_prefix" else state
    path = tmp_path / "1000_net_S.pth"
    torch.save(saved, path, _use_new_zipfile_serialization=(layout != "legacy"))
    loaded = tagan.load_original_network(path, "TAGAN_AxonalRings", "S", ngf=8)
    assert not loaded.training
    x = torch.rand(1, 1, 32, 32) * 2 - 1
    with torch.no_grad():
        assert torch.equal(loaded(x), reference.eval()(x))


def test_load_original_network_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing_net_G.pth"):
        tagan.load_original_network(tmp_path / "missing_net_G.pth", "TAGAN_AxonalRings", "G")
    wrong = tmp_path / "1_net_G.pth"
    torch.save(tagan.build_network("TAGAN_AxonalRings", "S", ngf=8).state_dict(), wrong)
    with pytest.raises(ValueError, match="1_net_G.pth"):
        tagan.load_original_network(wrong, "TAGAN_AxonalRings", "G", ngf=8)
    garbage = tmp_path / "2_net_G.pth"
    garbage.write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="2_net_G.pth"):
        tagan.load_original_network(garbage, "TAGAN_AxonalRings", "G")


def test_load_unet_dendrites_reads_params_folder(tmp_path):
    torch.manual_seed(0)
    reference = UNet(1, 2, number_filter=4, depth=4, size=128)
    state = randomised_state(reference, 2)
    reference.load_state_dict(state)
    torch.save(state, tmp_path / "params.net", _use_new_zipfile_serialization=False)
    params = {
        "output_folder": "pre-trained",
        "in_channels": 1,
        "out_channels": 2,
        "depth": 4,
        "epochs": 250,
        "batch_size": 72,
        "lr": 0.001,
        "data_aug": 0.5,
        "cuda": True,
        "number_filter": 4,
        "size": 128,
        "step": 112,
    }
    (tmp_path / "params_trainer.pkl").write_bytes(pickle.dumps(params, protocol=2))
    loaded = load_unet_dendrites(tmp_path)
    x = torch.rand(2, 1, 64, 64)
    with torch.no_grad():
        output = loaded.eval()(x)
        assert torch.equal(output, reference.eval()(x))
    assert output.min() >= 0 and output.max() <= 1


def test_unet_dendrites_pickle_cannot_run_code(tmp_path):
    class Exploit:
        def __reduce__(self):
            return (print, ("code ran",))

    (tmp_path / "params_trainer.pkl").write_bytes(pickle.dumps({"in_channels": Exploit()}))
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        load_unet_dendrites(tmp_path)


def test_init_weights_rejects_unknown_type():
    with pytest.raises(ValueError, match="--init_type"):
        init_weights(nn.Conv2d(1, 1, 1), "uniform")
