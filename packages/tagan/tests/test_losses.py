"""Loss formulas (numpy / hand-computed oracles) and the structure of each model's objective."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from tagan.image_pool import ImagePool
from tagan.losses import GANLoss, build_scheduler, linear_decay_factor
from tagan.models import create_model
from tagan.options import default_options
from torch import nn


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def test_gan_losses_match_their_formulas():
    logits = torch.tensor([[-2.0, 0.5], [1.5, 3.0]]).reshape(1, 1, 2, 2)
    x = logits.numpy().astype(np.float64)
    vanilla, lsgan, wgan = GANLoss("vanilla"), GANLoss("lsgan"), GANLoss("wgangp")
    assert np.isclose(vanilla(logits, True).item(), -np.log(sigmoid(x)).mean())
    assert np.isclose(vanilla(logits, False).item(), -np.log(1 - sigmoid(x)).mean())
    assert np.isclose(lsgan(logits, True).item(), ((x - 1) ** 2).mean())
    assert np.isclose(lsgan(logits, False).item(), (x**2).mean())
    assert np.isclose(wgan(logits, True).item(), -x.mean()) and np.isclose(
        wgan(logits, False).item(), x.mean()
    )
    with pytest.raises(ValueError, match="--gan_mode"):
        GANLoss("hinge")


def test_linear_policy_and_schedulers():
    # niter 3, niter_decay 2: factors 1, 1, 1, then 2/3, 1/3 for epochs 4 and 5 (epoch_count 1)
    factors = [linear_decay_factor(e, 1, 3, 2) for e in range(5)]
    assert np.allclose(factors, [1, 1, 1, 2 / 3, 1 / 3])
    opt = default_options("TAGAN_AxonalRings", niter=3, niter_decay=2)
    optimizer = torch.optim.Adam([nn.Parameter(torch.zeros(1))], lr=0.1)
    scheduler = build_scheduler(optimizer, opt)
    learning_rates = []
    for _ in range(5):
        learning_rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert np.allclose(learning_rates, [0.1, 0.1, 0.1, 0.2 / 3, 0.1 / 3])
    opt.lr_policy = "cosine"
    assert isinstance(build_scheduler(optimizer, opt), torch.optim.lr_scheduler.CosineAnnealingLR)
    opt.lr_policy = "exponential"
    with pytest.raises(ValueError, match="--lr_policy"):
        build_scheduler(optimizer, opt)


def tiny_model(model: str, **overrides):
    torch.manual_seed(0)
    options = {"ngf": 4, "ndf": 4, **overrides}
    opt = default_options(model, is_train=True, **options)
    return create_model(opt)


def axon_batch(channels: int = 1, masks: int = 1, size: int = 32) -> dict:
    generator = torch.Generator().manual_seed(1)

    def image(c: int) -> torch.Tensor:
        return torch.rand(2, c, size, size, generator=generator) * 2 - 1

    batch = {
        "confocal": image(channels),
        "STED": image(channels),
        "seg_GT": image(masks).sign(),
        "image_paths": ["a.tif", "b.tif"],
    }
    return batch


def test_task_assisted_losses_follow_the_paper():
    model = tiny_model("TAGAN_AxonalRings")
    model.set_input(axon_batch())
    model.train()
    G, S, D = (model.nets[name] for name in ("G", "S", "D"))
    for net in (G, S, D):
        net.eval()  # deterministic forward passes for the oracle
    model.forward()
    model.compute_losses()
    x, y, mask = model.source, model.target, model.seg_GT
    with torch.no_grad():
        fake = G(x)
        bce = nn.functional.binary_cross_entropy_with_logits
        fake_logits, real_logits = D(torch.cat([x, fake], 1)), D(torch.cat([x, y], 1))
        expected = {
            "D_fake": bce(fake_logits, torch.zeros_like(fake_logits)) * 1.0,
            "D_real": bce(real_logits, torch.ones_like(real_logits)) * 1.0,
            "G_GAN": bce(fake_logits, torch.ones_like(fake_logits)) * 1.0,
            "S_fake": ((S(fake) - mask) ** 2).mean() * 10.0,  # lambda_seg 10 for axonal rings
            "S_real": ((S(y) - mask) ** 2).mean() * 10.0,
        }
    losses = model.get_current_losses()
    for name, value in expected.items():
        assert np.isclose(losses[name], value.item(), rtol=1e-5), name


def test_one_iteration_updates_each_network_from_its_own_terms():
    """D learns from the GAN terms, G from GAN + task loss through S, S only from real images."""
    model = tiny_model("TAGAN_Dendrites", crop_size=32)
    batch = axon_batch(masks=1)
    batch["seg_GTrings"], batch["seg_GTfibers"] = batch.pop("seg_GT"), torch.ones(2, 1, 32, 32)
    before = {name: [p.detach().clone() for p in net.parameters()] for name, net in model.nets.items()}
    model.set_input(batch)
    model.optimize_parameters()
    for name, net in model.nets.items():
        assert any(not torch.equal(a, b) for a, b in zip(before[name], net.parameters(), strict=True)), name
    assert model.seg_GT.shape == (2, 2, 32, 32)
    assert set(model.get_current_losses()) == {"G_GAN", "D_real", "D_fake", "S_real", "S_fake"}


def live_batch(size: int = 128) -> dict:
    generator = torch.Generator().manual_seed(2)
    confocal = torch.rand(1, 1, size, size, generator=generator) * 2 - 1
    sted = torch.rand(1, 1, size, size, generator=generator) * 2 - 1
    decision = torch.zeros(1, 1, size, size)
    decision[..., :64, :64] = 1
    return {"confocal": confocal, "STED": sted, "decision_map": decision, "image_paths": ["x.tif"]}


def test_live_input_construction():
    model = tiny_model("TAGAN_live", ngf=2)
    batch = live_batch()
    model.set_input(batch)
    selected, decision = model.input[:, 1], model.input[:, 2]
    assert torch.equal(selected[..., :64, :64], batch["STED"][0, :, :64, :64])
    assert torch.all(selected[..., 64:, :] == -1) and torch.all(decision[..., 64:, :] == -1)
    assert torch.all(decision[..., :64, :64] == 1)
    assert torch.all(batch["decision_map"][..., 64:, :] == 0)  # the batch is not modified


@pytest.mark.parametrize("legacy", [False, True])
def test_live_adversarial_term_reaches_the_generator_only_when_fixed(legacy):
    model = tiny_model("TAGAN_live", ngf=2, legacy_live_adversarial=legacy, lambda_seg=0.0)
    model.set_input(live_batch())
    model.forward()
    model.generator_loss().backward()
    gradient = sum(p.grad.abs().sum() for p in model.nets["G"].parameters() if p.grad is not None)
    assert (gradient == 0) if legacy else (gradient > 0)


def test_live_segmentation_target_is_binarised():
    model = tiny_model("TAGAN_live", ngf=2)
    model.set_input(live_batch())
    model.forward()
    assert set(model.seg_STED.unique().tolist()) <= {0.0, 1.0}


def test_pix2pix_objective():
    model = tiny_model("pix2pix")
    model.set_input(axon_batch())
    for net in model.nets.values():
        net.eval()
    model.forward()
    model.compute_losses()
    with torch.no_grad():
        expected = ((model.nets["G"](model.real_A) - model.real_B) ** 2).mean() * 100
    assert np.isclose(model.get_current_losses()["G_GEN"], expected.item(), rtol=1e-5)


def test_segmentation_objective():
    model = tiny_model("segmentation", netS="unet_32", input_nc=1)
    generator = torch.Generator().manual_seed(3)
    data = {key: torch.rand(1, 1, 32, 32, generator=generator) for key in "ABCD"}
    data["A_paths"] = ["x.tif"]
    model.set_input(data)
    model.nets["S"].eval()
    model.forward()
    model.compute_losses()
    with torch.no_grad():
        prediction = model.nets["S"](data["B"])
    expected = ((torch.cat([data["C"], data["D"]], 1) - prediction) ** 2).mean()
    assert np.isclose(model.losses["S"].item(), expected.item(), rtol=1e-5)


def test_image_pool_fills_then_swaps_with_probability_one_half():
    pool = ImagePool(2)
    first = torch.zeros(2, 1, 4, 4)
    assert torch.equal(pool.query(first), first)
    random.seed(0)
    returned = [pool.query(torch.full((1, 1, 4, 4), float(i))) for i in range(1, 200)]
    from_pool = sum(1 for i, r in enumerate(returned, 1) if r.flatten()[0].item() != i)
    assert 70 < from_pool < 130
    assert torch.equal(ImagePool(0).query(first), first)
