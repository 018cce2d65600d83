"""Networks: sizes and parameter counts of the paper, the green-on-red property, bad input."""

from __future__ import annotations

import biogans
import pytest
import torch
from biogans.checkpoints import to_original_state_dict

TINY = {"image_size": (16, 32), "nz": 12, "ngf": 8, "n_classes": 3}


def values(model: torch.nn.Module) -> int:
    return sum(v.numel() for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked"))


@pytest.mark.parametrize(
    ("model_type", "tensors", "count"),
    [("DCGAN", 21, 3_526_400), ("DCGAN-sep", 26, 2_645_760), ("DCGAN-star-shaped", 147, 11_461_760)],
)
def test_paper_generators_have_the_released_sizes(model_type, tensors, count):
    # numbers of tensors and values of the released 48x80 files (spec section 4.8)
    state = to_original_state_dict(biogans.build_generator(model_type))
    assert len(state) == tensors and sum(v.numel() for v in state.values()) == count


def test_paper_discriminator_sizes_and_output_shapes():
    D = biogans.build_discriminator("DCGAN")
    assert values(D) == 2_765_824
    assert values(biogans.build_discriminator("DCGAN", use_batch_norm=False)) == 2_762_240
    assert D(torch.zeros(3, 2, 48, 80)).shape == (3,)
    G = biogans.build_generator("DCGAN-sep").eval()
    assert G(torch.randn(2, 100, 1, 1)).shape == (2, 2, 48, 80)
    multi = biogans.build_generator("DCGAN-sep-multichannel", nz=350, ngf=224, red_portion=0.143)
    assert values(multi) == 37_880_960


def test_original_key_names_of_a_separable_generator():
    keys = list(to_original_state_dict(biogans.build_generator("DCGAN-sep", **{**TINY, "n_classes": 6})))
    bn = [".weight", ".bias", ".running_mean", ".running_var"]
    expected = (
        ["main.initial.12-16.convt-sep.convt_half.weight", "main.initial.12-16.convt-sep.convt_all.weight"]
        + [f"main.initial.16.batchnorm{s}" for s in bn]
        + ["main.pyramid.16-8.convt-sep.convt_half.weight", "main.pyramid.16-8.convt-sep.convt_all.weight"]
        + [f"main.pyramid.8.batchnorm{s}" for s in bn]
        + ["main.final.8-2.convt-sep.convt_half.weight", "main.final.8-2.convt-sep.convt_all.weight"]
    )
    assert keys == expected


@pytest.mark.parametrize("model_type", ["DCGAN-sep", "DCGAN-star-shaped", "DCGAN-sep-independent"])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_red_output_depends_only_on_red_z(model_type, mode):
    torch.manual_seed(0)
    G = biogans.build_generator(model_type, **TINY)
    getattr(G, mode)()
    z = torch.randn(6, 12, 1, 1)
    other_green = z.clone()
    other_green[:, 6:] = torch.randn(6, 6, 1, 1)
    other_red = z.clone()
    other_red[:, :6] = torch.randn(6, 6, 1, 1)
    with torch.no_grad():
        base, green_changed, red_changed = G(z), G(other_green), G(other_red)
    red = (..., 0, slice(None), slice(None))
    green = (..., 1, slice(None), slice(None))
    assert torch.equal(base[red], green_changed[red])
    assert not torch.allclose(base[green], green_changed[green])
    assert not torch.allclose(base[red], red_changed[red])


def test_star_shaped_single_class_equals_its_slice_and_shares_red():
    torch.manual_seed(1)
    G = biogans.build_generator("DCGAN-star-shaped", **TINY).eval()
    z = torch.randn(4, 12, 1, 1)
    with torch.no_grad():
        every = G(z)
        assert every.shape == (3, 4, 2, 16, 32)
        for k in range(3):
            assert torch.equal(G(z, i_class=k), every[k])
    assert torch.equal(every[0, :, 0], every[2, :, 0])


def test_build_model_consumes_random_numbers_as_main_py():
    # main.py: construct G, construct D, then initialise G and D
    torch.manual_seed(5)
    G, D = biogans.build_model("DCGAN", "GAN", **{k: TINY[k] for k in ("image_size", "nz", "ngf")}, ndf=8)
    torch.manual_seed(5)
    G2 = biogans.build_generator("DCGAN", TINY["image_size"], TINY["nz"], TINY["ngf"], original_init=False)
    D2 = biogans.build_discriminator("DCGAN", TINY["image_size"], 2, 8, original_init=False)
    G2.apply(biogans.models.weights_init)
    D2.apply(biogans.models.weights_init)
    for a, b in zip(
        list(G.parameters()) + list(D.parameters()),
        list(G2.parameters()) + list(D2.parameters()),
        strict=True,
    ):
        assert torch.equal(a, b)
    # initialising G before constructing D draws other numbers for G
    torch.manual_seed(5)
    G3 = biogans.build_generator("DCGAN", TINY["image_size"], TINY["nz"], TINY["ngf"])
    assert not torch.equal(G3.main[0].weight, G.main[0].weight)
    # weights_init: N(0, 0.02) convolutions, N(1, 0.02) BatchNorm weights, zero BatchNorm biases
    conv = G.main[0].weight.detach()
    assert abs(float(conv.std()) - 0.02) < 0.005
    assert torch.all(G.main[1].bias == 0) and abs(float(G.main[1].weight.detach().mean()) - 1) < 0.02


def test_model_types_are_case_insensitive_and_exact():
    assert isinstance(biogans.build_generator("dcgan-SEP-multichannel", **TINY, nc=4), torch.nn.Module)
    with pytest.raises(ValueError, match="unknown model type"):
        biogans.build_generator("star", **TINY)
    with pytest.raises(ValueError, match="unknown model type"):
        biogans.build_discriminator("DCGAN-sepp")


def test_bad_sizes_and_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="36x36"):
        biogans.build_generator("DCGAN", image_size=(36, 36))
    with pytest.raises(ValueError, match="red_portion 0.5"):
        biogans.build_generator("DCGAN-star-shaped", red_portion=0.3, **{k: v for k, v in TINY.items()})
    D = biogans.build_discriminator("DCGAN", image_size=(16, 32), ndf=8)
    with pytest.raises(ValueError, match=r"\[B, 2, 16, 32\]"):
        D(torch.zeros(1, 2, 48, 80))
    G = biogans.build_generator("DCGAN", **TINY)
    with pytest.raises(ValueError, match="z of shape"):
        G(torch.zeros(1, 100, 1, 1))
