"""Original checkpoint files: export in the authors' layout, load back with the configuration inferred."""

from __future__ import annotations

import zipfile
from collections import OrderedDict

import biogans
import pytest
import torch
from biogans.checkpoints import load_original_state_dict

TINY = {"image_size": (16, 32), "nz": 12, "ngf": 8, "n_classes": 3}


@pytest.mark.parametrize(
    ("model_type", "extra"),
    [
        ("DCGAN", {}),
        ("DCGAN-sep", {}),
        ("DCGAN-star-shaped", {}),
        ("DCGAN-independent", {}),
        ("DCGAN-sep-independent", {}),
        ("DCGAN-multichannel", {}),
        ("DCGAN-sep-multichannel", {"red_portion": 0.25}),
    ],
)
def test_generator_round_trip_infers_the_configuration(tmp_path, model_type, extra):
    torch.manual_seed(0)
    G = biogans.build_generator(model_type, **TINY, **extra)
    G.train()
    G(torch.randn(5, 12, 1, 1))  # move BatchNorm running statistics away from their defaults
    path = biogans.export_original_checkpoint(G, tmp_path / "netG_iter_10.pth")
    assert not zipfile.is_zipfile(path)  # legacy serialisation, as torch 0.2 wrote
    state = load_original_state_dict(path)
    assert isinstance(state, OrderedDict) and not any("num_batches_tracked" in k for k in state)
    loaded = biogans.load_original_checkpoint(path)
    assert loaded.original_config["model_type"] == model_type
    assert loaded.original_config["image_size"] == (16, 32) and loaded.original_config["nz"] == 12
    assert not loaded.training
    z = torch.randn(4, 12, 1, 1)
    with torch.no_grad():
        assert torch.equal(G.eval()(z), loaded(z))


def test_discriminator_round_trip_and_model_type_check(tmp_path):
    D = biogans.build_discriminator(
        "DCGAN-independent", image_size=(16, 32), ndf=8, n_classes=3, n_extra_layers=1
    )
    path = biogans.export_original_checkpoint(D, tmp_path / "netD_iter_10.pth")
    keys = list(load_original_state_dict(path))
    assert keys[:3] == [
        "main.0.main.initial.2-8.conv.weight",
        "main.0.main.extra-layers-0.8.conv.weight",
        "main.0.main.extra-layers-0.8.batchnorm.weight",
    ]
    loaded = biogans.load_original_checkpoint(path, model_type="dcgan-star-shaped")
    assert loaded.original_config["n_classes"] == 3 and loaded.original_config["use_batch_norm"]
    x = torch.randn(3, 2, 2, 16, 32)
    assert torch.equal(D.eval()(x), loaded(x))
    with pytest.raises(ValueError, match="not a DCGAN-sep one"):
        biogans.load_original_checkpoint(path, model_type="DCGAN-sep")


def test_files_saved_by_the_original_on_current_torch_load_too(tmp_path):
    # an original model run on torch >= 0.4 adds num_batches_tracked; those entries are accepted
    G = biogans.build_generator("DCGAN", **TINY)
    state = biogans.checkpoints.to_original_state_dict(G)
    with_counters = OrderedDict()
    for key, value in state.items():
        with_counters[key] = value
        if key.endswith("running_var"):
            with_counters[key.replace("running_var", "num_batches_tracked")] = torch.tensor(7)
    torch.save(with_counters, tmp_path / "g.pth")
    loaded = biogans.load_original_checkpoint(tmp_path / "g.pth", model_type="DCGAN")
    assert torch.equal(loaded.main[0].weight, G.main[0].weight)


def test_mismatches_are_reported_by_key(tmp_path):
    G = biogans.build_generator("DCGAN", **TINY)
    state = biogans.checkpoints.to_original_state_dict(G)
    other = biogans.build_generator("DCGAN", **{**TINY, "ngf": 16})
    with pytest.raises(ValueError, match=r"unexpected \[.main\.initial\.12-16\.convt\.weight"):
        biogans.convert_original_state_dict(state, other)
    del state["main.final.8-2.convt.weight"]
    with pytest.raises(ValueError, match="missing"):
        biogans.convert_original_state_dict(state, G)
    torch.save({"weights": torch.zeros(3)}, tmp_path / "junk.pth")
    with pytest.raises(ValueError, match="main."):
        biogans.load_original_checkpoint(tmp_path / "junk.pth")
    with pytest.raises(FileNotFoundError):
        biogans.load_original_checkpoint(tmp_path / "missing.pth")


def test_our_checkpoint_round_trip(tmp_path):
    G, D = biogans.build_model("DCGAN-star-shaped", "WGAN-GP", ndf=8, **TINY)
    config = {
        "model_type": "DCGAN-star-shaped",
        "nc": 2,
        "ndf": 8,
        "red_portion": 0.5,
        "n_extra_layers": 0,
        "use_batch_norm": False,
        **TINY,
    }
    path = biogans.save_checkpoint(tmp_path / "ours.pt", G, D, config, iteration=3)
    torch.load(path, weights_only=True)
    state = biogans.load_checkpoint(path)
    assert state["meta"]["iteration"] == 3
    z = torch.randn(2, 12, 1, 1)
    assert torch.equal(state["netG"](z), G.eval()(z))
