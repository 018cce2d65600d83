"""Figures of the paper: grids of generated cells per class (Figures 3-5) and the cell-cycle animation of
the star-shaped model (Figure 1 / the teaser GIFs).

The animation walks the latent space along great circles (spherical interpolation, 64 steps per leg)
through three anchor codes and back to the first (a closed loop, so the GIF repeats smoothly); every frame
shows the same generated cell with each protein of the conditional generator side by side (red = the
shared cell, green = the protein), G in eval mode.
"""

from __future__ import annotations

from pathlib import Path

import torch
from insilico_core.train import make_image_grid
from PIL import Image
from torch import nn

from .samples import save_sample_grids


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation between codes ``a`` and ``b`` (any equal shapes) at ``t`` in [0, 1]."""
    a_flat, b_flat = a.reshape(-1).double(), b.reshape(-1).double()
    cosine = torch.dot(a_flat / a_flat.norm(), b_flat / b_flat.norm()).clamp(-1.0, 1.0)
    omega = torch.arccos(cosine)
    if float(torch.sin(omega)) < 1e-6:
        mixed = (1 - t) * a_flat + t * b_flat
    else:
        mixed = (torch.sin((1 - t) * omega) * a_flat + torch.sin(t * omega) * b_flat) / torch.sin(omega)
    return mixed.to(a.dtype).reshape(a.shape)


def interpolation_path(anchors: torch.Tensor, steps_per_leg: int = 64) -> torch.Tensor:
    """Codes ``[A * steps, nz, 1, 1]`` through ``anchors`` ``[A, nz, 1, 1]`` and back to the first."""
    if anchors.shape[0] < 2:
        raise ValueError("need at least two anchor codes")
    codes = []
    for i in range(len(anchors)):
        a, b = anchors[i], anchors[(i + 1) % len(anchors)]
        codes += [slerp(a, b, step / steps_per_leg) for step in range(steps_per_leg)]
    return torch.stack(codes, 0)


@torch.no_grad()
def cell_cycle_gif(
    G: nn.Module,
    anchors: torch.Tensor,
    path: str | Path,
    steps_per_leg: int = 64,
    scale: int = 2,
    frame_ms: int = 60,
) -> Path:
    """Write the animated GIF of a conditional generator (``G(z)`` -> ``[K, B, 2, H, W]``) along
    :func:`interpolation_path`; one frame = the K proteins of one cell in a row."""
    path = Path(path)
    if path.suffix.lower() != ".gif":
        raise ValueError(f"the animation is written as GIF; {path} should end in .gif")
    G.eval()
    codes = interpolation_path(anchors, steps_per_leg)
    frames = []
    for start in range(0, len(codes), 64):
        images = G(codes[start : start + 64])
        if images.dim() != 5:
            raise ValueError(
                "the cell-cycle animation needs a conditional (star-shaped or independent) generator"
            )
        for j in range(images.shape[1]):
            grid = make_image_grid(images[:, j], nrow=images.shape[0])
            frame = Image.fromarray(grid)
            frames.append(frame.resize((frame.width * scale, frame.height * scale), Image.NEAREST))
    path.parent.mkdir(parents=True, exist_ok=True)
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=frame_ms, loop=0)
    return path


@torch.no_grad()
def class_sample_grids(
    G: nn.Module, noise: torch.Tensor, out: str | Path, class_names: list[str]
) -> list[Path]:
    """PNG grids of ``G(noise)`` (eval mode): ``<out>/samples_<Class>.png`` per class, or ``samples.png``."""
    G.eval()
    return save_sample_grids(G(noise), Path(out) / "samples", class_names)
