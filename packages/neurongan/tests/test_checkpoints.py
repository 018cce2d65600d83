"""Checkpoint files in the original layout: round trips at several stages (incl. mid-fade key sets), safe
loading with numpy arrays, refusal of pickled code, the legacy-format branch and the stored latent size."""

from __future__ import annotations

import os

import neurongan
import numpy as np
import pytest
import torch
from insilico_core.legacy import UnsafePickleError
from neurongan import DiscriminatorPG, GeneratorPG

ORIGINAL_KEYS = [
    "epoch",
    "Generator_state",
    "Generator_attrs",
    "Discriminator_state",
    "Discriminator_attrs",
    "lr",
    "Loss_real",
    "Loss_fake",
    "Loss_G",
    "Loss_D",
]
ATTR_NAMES = [
    "LeakyReLU_neg_slope",
    "N_colors",
    "N_features_per_layer",
    "N_layers",
    "N_layers_max",
    "image_size",
    "image_size_init",
    "image_size_max",
    "latent_dim",
    "training",
    "alpha",
]


def _tiny_pair(res, alpha, seed=0):
    torch.manual_seed(seed)
    G = GeneratorPG([16, 8, 8, 4], image_size_init=4, latent_dim=10)
    D = DiscriminatorPG([4, 8, 8, 16], image_size_init=4)
    G.set_resolution(res, alpha)
    D.set_resolution(res, alpha)
    return G, D


@pytest.mark.parametrize(
    ("res", "alpha", "n_layers"), [(4, 1.0, 1), (16, 0.5, 3), (16, 1.0, 3), (32, 1.0, 4)]
)
def test_round_trip_keeps_keys_attrs_and_outputs(tmp_path, res, alpha, n_layers):
    G, D = _tiny_pair(res, alpha)
    losses = {"Loss_real": [1.0, 2.0, 3.0], "Loss_D": np.arange(5.0)}
    path = neurongan.save_checkpoint(tmp_path / "GenDisc_test.pth", G, D, epoch=3, lr=1e-4, losses=losses)
    data = neurongan.load_checkpoint(path)
    assert list(data) == ORIGINAL_KEYS
    assert list(data["Generator_attrs"]) == ATTR_NAMES
    assert list(data["Discriminator_attrs"]) == [n for n in ATTR_NAMES if n != "latent_dim"]
    attrs = data["Generator_attrs"]
    assert (attrs["image_size"], attrs["N_layers"], attrs["image_size_max"]) == (res, n_layers, 32)
    assert isinstance(attrs["alpha"], torch.Tensor) and attrs["alpha"].dtype == torch.float32
    assert data["Loss_real"].dtype == np.float64 and data["Loss_real"].tolist() == [1.0, 2.0, 3.0]
    assert data["Loss_D"].tolist() == [0.0, 1.0, 2.0] and data["Loss_G"].tolist() == [0.0, 0.0, 0.0]
    assert list(data["Discriminator_state"])[0] == "alpha"
    G2, D2 = neurongan.load_generator(path), neurongan.load_discriminator(path)
    assert list(G2.state_dict()) == list(G.state_dict()) and list(D2.state_dict()) == list(D.state_dict())
    assert float(G2.alpha) == float(G.alpha) and G2.fading == (alpha < 1)
    z = neurongan.sample_latent(3, 10, seed=1)
    x = torch.rand(3, 1, res, res)
    with torch.no_grad():
        assert torch.equal(G2(z), G(z)) and torch.equal(D2(x), D(x))


def test_default_networks_mid_fade_and_final_stage(tmp_path):
    for res, alpha in [(64, 0.5), (512, 1.0000535249710083)]:
        G, D = GeneratorPG(), DiscriminatorPG()
        G.set_resolution(res, torch.tensor(alpha))
        D.set_resolution(res, torch.tensor(alpha))
        path = neurongan.save_checkpoint(tmp_path / f"{res}.pth", G, D, epoch=0, lr=1e-4)
        G2, D2 = neurongan.load_generator(path), neurongan.load_discriminator(path)
        for a, b in [(G, G2), (D, D2)]:
            assert a.state_dict().keys() == b.state_dict().keys()
            assert all(torch.equal(a.state_dict()[k], b.state_dict()[k]) for k in a.state_dict())
        if res == 64:
            assert (
                "ToIm_list.0.layers.0.weight" in G2.state_dict() and G2.ToIm.layers[0].weight.shape[1] == 64
            )
        else:
            assert "layers.11.4.weight" in G2.state_dict() and "layers.8.bias" in D2.state_dict()


def test_files_written_with_plain_torch_save_load_safely_and_code_is_refused(tmp_path):
    G, D = _tiny_pair(8, 1.0)
    original = {
        "epoch": 2,
        "Generator_state": G.state_dict(),
        "Generator_attrs": G.saved_attrs(),
        "Discriminator_state": D.state_dict(),
        "Discriminator_attrs": D.saved_attrs(),
        "lr": 1e-4,
        "Loss_real": np.zeros(2),
        "Loss_fake": np.zeros(2),
        "Loss_G": np.zeros(2),
        "Loss_D": np.zeros(2),
    }
    torch.save(original, tmp_path / "orig.pth")
    assert neurongan.load_generator(tmp_path / "orig.pth").image_size == 8
    original["payload"] = os.getcwd  # a pickled function: weights_only loading must refuse it
    torch.save(original, tmp_path / "unsafe.pth")
    with pytest.raises(UnsafePickleError, match="getcwd"):
        neurongan.load_checkpoint(tmp_path / "unsafe.pth")
    assert "payload" in neurongan.load_checkpoint(tmp_path / "unsafe.pth", trust=True)
    with pytest.raises(FileNotFoundError, match="neurongan-fetch"):
        neurongan.load_checkpoint(tmp_path / "missing.pth")


def test_mismatched_weights_give_a_clear_error(tmp_path):
    G, D = _tiny_pair(8, 1.0)
    data = neurongan.checkpoints.checkpoint_dict(G, D, 1, 1e-4)
    data["Generator_attrs"]["image_size"] = 16
    with pytest.raises(ValueError, match="do not fit"):
        neurongan.load_generator(data)
    with pytest.raises(ValueError, match="Generator_state"):
        neurongan.load_generator({"epoch": 1})


def _shift_list(state, prefix, extra):
    """Renumber ``prefix.i.*`` to ``prefix.(i+1).*`` and put ``extra`` (suffix -> tensor) at index 0."""
    out = {f"{prefix}.0.{suffix}": value for suffix, value in extra.items()}
    for key, value in state.items():
        if key.startswith(prefix + "."):
            index, suffix = key[len(prefix) + 1 :].split(".", 1)
            key = f"{prefix}.{int(index) + 1}.{suffix}"
        out[key] = value
    return out


def test_legacy_format_with_all_lists_and_prev_modules_loads():
    """Files of the original's older code kept surplus list entries (G: at the start, D: at the end) and
    ``ToIm_prev``/``last_conv_block`` (D: ``FromIm_prev``/``first_conv_block``) modules."""
    G, D = _tiny_pair(8, 1.0)
    g_state = _shift_list(G.state_dict(), "ToIm_list", {"layers.0.weight": torch.ones(1, 8, 1, 1)})
    g_state = _shift_list(
        g_state, "conv_block_list", {"1.weight": torch.ones(8, 16, 3, 3), "4.weight": torch.ones(8, 8, 3, 3)}
    )
    g_state["ToIm_prev.layers.0.weight"] = torch.zeros(1, 16, 1, 1)
    g_state["last_conv_block.1.weight"] = torch.zeros(8, 16, 3, 3)
    d_state = dict(D.state_dict())
    n_from, n_blocks = len(D.FromIm_list), len(D.conv_block_list)
    d_state[f"FromIm_list.{n_from}.conv.weight"] = torch.ones(16, 1, 1, 1)
    d_state[f"FromIm_list.{n_from}.conv.bias"] = torch.ones(16)
    d_state[f"conv_block_list.{n_blocks}.1.weight"] = torch.ones(16, 8, 3, 3)
    d_state["FromIm_prev.conv.weight"] = torch.zeros(16, 1, 1, 1)
    data = neurongan.checkpoints.checkpoint_dict(G, D, 1, 1e-4)
    data["Generator_state"], data["Discriminator_state"] = g_state, d_state
    G2, D2 = neurongan.load_generator(data), neurongan.load_discriminator(data)
    assert all(torch.equal(G2.state_dict()[k], v) for k, v in G.state_dict().items())
    assert all(torch.equal(D2.state_dict()[k], v) for k, v in D.state_dict().items())


def test_stored_latent_dim_is_used(tmp_path):
    torch.manual_seed(0)
    G = GeneratorPG([8, 4], image_size_init=4, latent_dim=64)
    D = DiscriminatorPG([4, 8], image_size_init=4)
    path = neurongan.save_checkpoint(tmp_path / "ex.pth", G, D, epoch=0, lr=1e-4)
    assert neurongan.load_generator(path).latent_dim == 64


def test_losses_may_be_given_as_four_series_in_the_original_order(tmp_path):
    G, D = _tiny_pair(4, 1.0)
    path = neurongan.save_checkpoint(tmp_path / "l.pth", G, D, 2, 1e-4, ([1, 2], [3, 4], [5, 6], [7, 8]))
    data = neurongan.load_checkpoint(path)
    assert [data[k].tolist() for k in ("Loss_real", "Loss_fake", "Loss_G", "Loss_D")] == [
        [1, 2],
        [3, 4],
        [5, 6],
        [7, 8],
    ]
    with pytest.raises(ValueError, match="4 series"):
        neurongan.save_checkpoint(tmp_path / "m.pth", G, D, 2, 1e-4, ([1, 2],))
