"""One training iteration against a step-by-step reference written from the paper's algorithm."""

from __future__ import annotations

import copy

import biogans
import pytest
import torch
from biogans.train import critic_steps, train_iteration

TINY = {"image_size": (16, 32), "nz": 12, "ngf": 8, "ndf": 8}


def adam(module):
    return torch.optim.Adam(module.parameters(), lr=1e-3, betas=(0.0, 0.9))


def test_wgan_gp_iteration_matches_the_reference():
    torch.manual_seed(0)
    G, D = biogans.build_model("DCGAN-sep", "WGAN-GP", **TINY)
    G_ref, D_ref = copy.deepcopy(G), copy.deepcopy(D)
    reals = [torch.rand(4, 2, 16, 32) * 2 - 1 for _ in range(3)]
    zs = [torch.randn(4, 12, 1, 1) for _ in range(3)]
    eps = [torch.rand(4) for _ in range(3)]

    opt_d, opt_g = adam(D_ref), adam(G_ref)
    for real, z, e in zip(reals, zs, eps, strict=True):
        opt_d.zero_grad()
        fake = G_ref(z)
        x_hat = (e.view(-1, 1, 1, 1) * real + (1 - e.view(-1, 1, 1, 1)) * fake.detach()).requires_grad_(True)
        (grad,) = torch.autograd.grad(D_ref(x_hat).sum(), x_hat, create_graph=True)
        penalty = ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
        (D_ref(real).mean() - D_ref(fake.detach()).mean() + 10 * penalty).backward()
        opt_d.step()
    opt_g.zero_grad()
    D_ref.requires_grad_(False)
    D_ref(fake).mean().backward()  # the generator step reuses the LAST critic step's fake batch
    opt_g.step()

    train_iteration(G, D, adam(G), adam(D), reals, zs, "WGAN-GP", eps=eps)
    for ours, reference in zip(
        list(G.state_dict().values()) + list(D.state_dict().values()),
        list(G_ref.state_dict().values()) + list(D_ref.state_dict().values()),
        strict=True,
    ):
        assert torch.allclose(ours.float(), reference.float(), atol=1e-6)
    assert all(p.requires_grad for p in D.parameters())


def test_wgan_clamps_every_critic_parameter_and_gan_updates_batchnorm_as_the_original():
    torch.manual_seed(1)
    G, D = biogans.build_model("DCGAN-star-shaped", "WGAN", n_classes=2, **TINY)
    reals = [torch.rand(2, 3, 2, 16, 32) * 2 - 1 for _ in range(2)]
    opt_d, opt_g = torch.optim.RMSprop(D.parameters(), lr=1.0), torch.optim.RMSprop(G.parameters(), lr=1e-3)
    err_d, err_g = train_iteration(G, D, opt_g, opt_d, reals, None, "WGAN", clamp=0.01)
    assert isinstance(err_d, float) and isinstance(err_g, float)
    assert all(float(p.detach().abs().max()) <= 0.01 + 1e-7 for p in D.parameters())  # BatchNorm ones too
    # G's BatchNorm statistics move on every fake batch (2 critic steps), D's on real + fake per critic step
    # and once more in the generator step
    assert int(G.main[0].batchnorm_red.num_batches_tracked) == 2
    assert int(D.main[0].main[3].num_batches_tracked) == 2 * 2 + 1


def test_critic_schedule():
    assert [critic_steps("WGAN", i, 5) for i in (0, 24, 25, 499, 500, 1000, 1001)] == [
        100,
        100,
        5,
        5,
        100,
        100,
        5,
    ]
    assert critic_steps("WGAN-GP", 0, 5) == 5 and critic_steps("GAN", 500, 1) == 1


def test_bad_batches():
    G, D = biogans.build_model("DCGAN", "GAN", **TINY)
    with pytest.raises(ValueError, match="at least one batch"):
        train_iteration(G, D, adam(G), adam(D), [], None, "GAN")
    with pytest.raises(ValueError, match="z_batches"):
        train_iteration(G, D, adam(G), adam(D), [torch.zeros(2, 2, 16, 32)], [], "GAN")
