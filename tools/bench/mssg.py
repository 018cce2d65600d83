"""Benchmark of MSSG at the Morpho-MNIST configuration: compiled ops vs reference, bf16 vs fp32, same process.

Networks: StyleGAN2 generator and MSSG discriminator as ``mssg-train-ms --cfg stylegan2`` builds them for the
Morpho-MNIST sources (32x32 grey, c_dim 13, cbase 16384, cmax 512, 8 mapping layers). Measured:

* G forward (``noise_mode='const'``, eval, fused modulation) per image;
* one training iteration: the Gmain and Dmain phases of :class:`mssg.losses.MSSGLoss` (forward + backward).

Variants run interleaved (A B B A ...) after a warm-up; the medians and their RATIOS are printed:
``ref / compiled`` (fp32; ``INSILICO_OPS=ref`` toggled per run) and ``fp32 / bf16`` (autocast; the ops the
environment selects). > 1 means the second variant is faster.

    python tools/bench/mssg.py              # batch 8, 7 repeats
    python tools/bench/mssg.py --quick      # batch 4, 5 repeats
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

# this file is named like the package it measures: keep its folder from shadowing ``import mssg``
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from insilico_core import ops  # noqa: E402
from insilico_core.train import autocast  # noqa: E402
from mssg.losses import AuxLayout, MSSGLoss  # noqa: E402
from mssg.multisource import MORPHO_SOURCE1, MORPHO_SOURCE2  # noqa: E402
from mssg.train import TrainOptions, build_networks  # noqa: E402


def _networks(device: torch.device):
    """G and D exactly as ``mssg-train-ms --cfg stylegan2`` builds them for the Morpho-MNIST sources."""
    options = TrainOptions(
        outdir="", cfg="stylegan2", data=[], data_name=[], sources=[], gpus=1, batch=1, gamma=1.0
    )
    G, D = build_networks(options, c_dim=13, resolution=32, channels=1)
    return G.to(device), D.to(device)


def _timed(fn: Callable[[], None], device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def _compare(
    name: str,
    a: tuple[str, Callable[[], None]],
    b: tuple[str, Callable[[], None]],
    repeats: int,
    device: torch.device,
    per: int,
) -> None:
    """Interleave A B B A ..., print medians (per ``per`` items) and the ratio A / B."""
    times: dict[str, list[float]] = {a[0]: [], b[0]: []}
    for fn in (a[1], b[1]):
        fn()  # warm-up
    for i in range(repeats):
        order = (a, b) if i % 2 == 0 else (b, a)
        for label, fn in order:
            times[label].append(_timed(fn, device))
    ma, mb = statistics.median(times[a[0]]), statistics.median(times[b[0]])
    print(
        f"{name:<34} {a[0]:>16} {ma / per * 1e3:9.2f} ms   {b[0]:>16} {mb / per * 1e3:9.2f} ms   "
        f"ratio {ma / mb:5.2f}x"
    )


def _with_ops(mode: str, fn: Callable[[], None]) -> Callable[[], None]:
    def run() -> None:
        previous = os.environ.get("INSILICO_OPS")
        os.environ["INSILICO_OPS"] = mode
        try:
            fn()
        finally:
            if previous is None:
                os.environ.pop("INSILICO_OPS", None)
            else:
                os.environ["INSILICO_OPS"] = previous

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="batch 4, 5 repeats")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    batch, repeats = (4, 5) if args.quick else (8, 7)
    device = torch.device(args.device)
    torch.manual_seed(0)
    G, D = _networks(device)
    G.eval()
    z = torch.randn(batch, 512, device=device)
    c = torch.randn(batch, 13, device=device)
    layout = AuxLayout.from_covariates(
        (MORPHO_SOURCE1[0], MORPHO_SOURCE1[1], MORPHO_SOURCE2[1], MORPHO_SOURCE1[2])
    )
    loss = MSSGLoss(G, D, layout, r1_gamma=1.0, style_mixing_prob=0.9, pl_weight=2.0)
    loss.aux_weight = 0.1
    real = torch.randn(batch, 1, 32, 32, device=device)
    backend = next((s for s in ops.status() if s.name == device.type), None)
    compiled = backend is not None and backend.state not in ("unavailable", "disabled")
    state = "none" if backend is None else f"{backend.state} {backend.reason}".strip()
    print(f"MSSG Morpho-MNIST config on {device}, batch {batch}, {repeats} repeats; compiled ops: {state}")

    def g_forward(precision: str) -> Callable[[], None]:
        def run() -> None:
            with torch.no_grad(), autocast(device, precision):
                G(z, c, noise_mode="const")

        return run

    def train_iteration(precision: str) -> Callable[[], None]:
        def run() -> None:
            G.train()
            for phase, module in (("Gmain", G), ("Dmain", D)):
                module.requires_grad_(True)
                with autocast(device, precision):
                    loss.accumulate_gradients(phase, real, c, z, c, gain=1, cur_nimg=0)
                module.requires_grad_(False)
                module.zero_grad(set_to_none=True)
            G.eval()

        return run

    for name, make, per in (
        ("G forward per image", g_forward, batch),
        ("training iteration (Gmain+Dmain)", train_iteration, 1),
    ):
        if compiled:
            _compare(
                f"{name}, fp32",
                ("ref ops", _with_ops("ref", make("fp32"))),
                ("compiled ops", _with_ops("", make("fp32"))),
                repeats,
                device,
                per,
            )
        _compare(f"{name}", ("fp32", make("fp32")), ("bf16", make("bf16")), repeats, device, per)


if __name__ == "__main__":
    main()
