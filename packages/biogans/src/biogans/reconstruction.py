"""Reconstruction of test images by optimising latent codes (``--mode reconstruction[-separable]``,
``code/reconstruction.py``; Table 3 of the paper).

For every test batch and class c, with G(·, c) in eval mode, ``trials`` times: z0 ~ N(0, I) ``[B, nz, 1, 1]``;
L-BFGS (lr 0.05, max_iter 20, tolerance_grad 1e-5 as torch 0.2, tolerance_change 1e-9, history 100, no
line search) for ``steps`` = 50 calls on mean((target − G(z))²) over the whole batch and both channels
([-1, 1] units; the codes of a batch are optimised jointly). Red-first ("separable") variant: first only the
red part of z on the red-channel loss, then a new L-BFGS on the green part on the green-channel loss. Per
image the trial with the smallest L2 = RMSE in [0, 1] units over both channels is kept, with
NLL(z) = ½‖z‖² + (nz/2)·log 2π of its optimised and initial code, and the RMSE of the nearest image of
the same class of the search set (the train set).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import torch
from insilico_core.train import atomic_save, progress, save_image_grid
from torch import nn

from .nearest_neighbors import nearest, read_class_images
from .train_step import latent_noise


def gaussian_nll(z: torch.Tensor) -> torch.Tensor:
    """−log N(z; 0, I) per code: ``[B, nz, ...]`` -> ``[B]`` (float64)."""
    flat = z.detach().reshape(len(z), -1).double()
    return 0.5 * (flat**2).sum(1) + 0.5 * flat.shape[1] * math.log(2 * math.pi)


def rmse01(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-image RMSE of two batches given in [-1, 1], measured in [0, 1] units: ``[B, ...]`` -> ``[B]``."""
    difference = (a.detach() - b.detach()) * 0.5
    return difference.reshape(len(a), -1).pow(2).mean(1).sqrt()


def _lbfgs(parameter: torch.Tensor, loss: Callable[[], torch.Tensor], steps: int, lr: float) -> None:
    optimizer = torch.optim.LBFGS([parameter], lr=lr, tolerance_grad=1e-5)

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        value = loss()
        value.backward()
        return value

    for _ in range(steps):
        optimizer.step(closure)


def reconstruct_batch(
    generate: Callable[[torch.Tensor], torch.Tensor],
    targets: torch.Tensor,
    nz: int,
    red_portion: float | None = None,
    steps: int = 50,
    lr: float = 0.05,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(z0, z) for 2-channel ``targets`` ``[B, 2, H, W]`` in [-1, 1]; red first if ``red_portion`` is set."""
    z0 = latent_noise(len(targets), nz, targets.device)
    if red_portion is None:
        z = z0.clone().requires_grad_(True)
        _lbfgs(z, lambda: ((targets - generate(z)) ** 2).mean(), steps, lr)
        return z0, z.detach()
    n_red = int(nz * red_portion)
    red = z0[:, :n_red].clone().requires_grad_(True)
    green = z0[:, n_red:].clone()

    def channel_error(channel: int) -> torch.Tensor:
        """Mean squared error of one channel for the current (red, green) latents."""
        return ((targets[:, channel] - generate(torch.cat([red, green], 1))[:, channel]) ** 2).mean()

    _lbfgs(red, lambda: channel_error(0), steps, lr)
    red = red.detach()
    green.requires_grad_(True)
    _lbfgs(green, lambda: channel_error(1), steps, lr)
    return z0, torch.cat([red, green.detach()], 1)


def run_reconstruction(
    G: nn.Module,
    test_batches,
    class_names: list[str],
    search_root: str | Path,
    out: str | Path,
    nz: int,
    red_portion: float | None = None,
    trials: int = 5,
    steps: int = 50,
    lr: float = 0.05,
    device: str | torch.device = "cpu",
) -> dict[str, dict[str, list[float]]]:
    """Reconstruct every image of ``test_batches`` (conditional batches ``[K, B, 2, H, W]`` in [-1, 1]).

    Writes ``<out>/<Class>/<Class>_batch{b}_image{i}.png`` (target, best reconstruction, its
    initialisation, nearest neighbour) and ``<out>/reconstruction_data.pth`` =
    ``{'l2_dists', 'lls_noise', 'lls_noise_init', 'nn_dists'}`` (class -> list of floats); returns that dict.
    """
    out = Path(out)
    device = torch.device(device)
    G.eval()
    search, _ = read_class_images(search_root, class_names, num_channels=2)
    results = {
        key: {c: [] for c in class_names} for key in ("l2_dists", "lls_noise", "lls_noise_init", "nn_dists")
    }
    for i_batch, batch in enumerate(progress(test_batches, desc="reconstruction")):
        if batch.dim() != 5 or batch.shape[0] != len(class_names):
            raise ValueError(
                f"expected conditional batches [{len(class_names)}, B, 2, H, W], got {tuple(batch.shape)}"
            )
        for i_class, name in enumerate(class_names):
            targets = batch[i_class].to(device)
            generate = lambda z, k=i_class: G(z, k)  # noqa: E731
            best = torch.full((len(targets),), float("inf"), dtype=torch.float64)
            best_images = torch.zeros_like(targets)
            best_init = torch.zeros_like(targets)
            nll = torch.zeros(len(targets), dtype=torch.float64)
            nll_init = torch.zeros(len(targets), dtype=torch.float64)
            for _ in range(trials):
                z0, z = reconstruct_batch(generate, targets, nz, red_portion, steps, lr)
                with torch.no_grad():
                    images, images_init = generate(z), generate(z0)
                error = rmse01(targets, images).double().cpu()
                better = error < best
                best = torch.where(better, error, best)
                best_images[better.to(device)] = images[better.to(device)]
                best_init[better.to(device)] = images_init[better.to(device)]
                nll = torch.where(better, gaussian_nll(z).cpu(), nll)
                nll_init = torch.where(better, gaussian_nll(z0).cpu(), nll_init)
            targets01 = targets.cpu() * 0.5 + 0.5
            _, index = nearest(targets01, search[name], k=1)
            neighbours = search[name][index[:, 0]]
            nn_dist = rmse01(targets01 * 2 - 1, neighbours * 2 - 1)
            folder = out / name
            for i in range(len(targets)):
                tiles = torch.stack(
                    [targets[i].cpu(), best_images[i].cpu(), best_init[i].cpu(), neighbours[i] * 2 - 1]
                )
                save_image_grid(tiles, folder / f"{name}_batch{i_batch}_image{i}.png", nrow=4)
            results["l2_dists"][name] += best.tolist()
            results["lls_noise"][name] += nll.tolist()
            results["lls_noise_init"][name] += nll_init.tolist()
            results["nn_dists"][name] += nn_dist.double().tolist()
    atomic_save(results, out / "reconstruction_data.pth")
    return results


def summary_lines(results: dict[str, dict[str, list[float]]]) -> list[str]:
    """Per-class and overall mean/std lines as the original prints them."""
    keys = ("l2_dists", "lls_noise", "lls_noise_init", "nn_dists")

    def stats(values):
        t = torch.tensor(values, dtype=torch.float64)
        return float(t.mean()), float(t.std(unbiased=False))

    lines = []
    classes = list(results["l2_dists"])
    groups = [(f"Class {c}", [c]) for c in classes] + [("All classes", classes)]
    for label, members in groups:
        values = [stats(sum((results[k][c] for c in members), [])) for k in keys]
        lines.append(
            f"{label}: L2-reconstr mean {values[0][0]:0.3f} std {values[0][1]:0.3f}; "
            f"L2-noise mean {values[1][0]:0.3f} std {values[1][1]:0.3f}; "
            f"L2-noise-init mean {values[2][0]:0.3f} std {values[2][1]:0.3f}; "
            f"NN dist {values[3][0]:0.3f} std {values[3][1]:0.3f}"
        )
    return lines
