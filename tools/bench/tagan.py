"""TA-GAN speed: fp32 eager vs bf16 autocast + channels_last (and fp32 + channels_last), same process.

Two workloads of TAGAN_AxonalRings at the original width (ngf = ndf = 64):
* test: one 224x224 image through G and twice through S (the tagan-test forward, eval mode);
* train: one training iteration (D, G and S steps) at batch 8, 128x128.
Variants are interleaved (A B B A ...) after warm-up; the medians are compared and printed as speed-up
ratios over fp32 eager, with the largest absolute difference of the test outputs (values in [-1, 1]) and of
the first training losses. fp32 stays the default of tagan-train / tagan-test (``--precision bf16
--channels_last`` opt in).

Usage: python tools/bench/tagan.py [--device auto|cpu|cuda] [--repeats 5] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

# this file is named after the package it measures: keep its folder off the import path so that
# ``import tagan`` finds the package, not this script
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import torch  # noqa: E402
from insilico_core.train import resolve_device  # noqa: E402
from tagan.models import create_model  # noqa: E402
from tagan.options import default_options  # noqa: E402

VARIANTS = {
    "fp32": ("fp32", False),
    "fp32+channels_last": ("fp32", True),
    "bf16+channels_last": ("bf16", True),
}


def make_model(variant: str, is_train: bool, device: torch.device, width: int):
    precision, channels_last = VARIANTS[variant]
    torch.manual_seed(0)
    opt = default_options(
        "TAGAN_AxonalRings",
        is_train=is_train,
        ngf=width,
        ndf=width,
        precision=precision,
        channels_last=channels_last,
    )
    opt.device = device
    model = create_model(opt)
    if not is_train:
        model.eval()
    return model


def make_batch(batch: int, size: int, device: torch.device) -> dict:
    generator = torch.Generator().manual_seed(1)
    images = {
        key: torch.rand(batch, 1, size, size, generator=generator) * 2 - 1 for key in ("confocal", "STED")
    }
    images["seg_GT"] = torch.rand(batch, 1, size, size, generator=generator).round() * 2 - 1
    return {**{k: v.to(device) for k, v in images.items()}, "image_paths": ["bench.tif"] * batch}


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(step, device: torch.device) -> float:
    synchronize(device)
    start = time.perf_counter()
    step()
    synchronize(device)
    return time.perf_counter() - start


def interleaved_medians(steps: dict, device: torch.device, repeats: int, warmup: int) -> dict[str, float]:
    """Median seconds per variant, measured in the order A B ... B A for every repeat."""
    names = list(steps)
    for _ in range(warmup):
        for name in names:
            steps[name]()
    times = {name: [] for name in names}
    for repeat in range(repeats):
        for name in names if repeat % 2 == 0 else reversed(names):
            times[name].append(timed(steps[name], device))
    return {name: statistics.median(values) for name, values in times.items()}


def bench_test(device: torch.device, repeats: int, warmup: int, size: int, width: int) -> None:
    batch = make_batch(1, size, device)
    models = {name: make_model(name, False, device, width) for name in VARIANTS}
    outputs = {}
    for name, model in models.items():
        model.set_input(batch)
        model.test()
        outputs[name] = {k: model.visuals[k].float() for k in ("fakeSTED", "seg_STED", "seg_fakeSTED")}

    def step(model):
        return lambda: (model.set_input(batch), model.test())

    medians = interleaved_medians({n: step(m) for n, m in models.items()}, device, repeats, warmup)
    report(f"test: one {size}x{size} image, G + 2 S passes (eval)", medians, outputs)


def bench_train(
    device: torch.device, repeats: int, warmup: int, batch_size: int, size: int, width: int
) -> None:
    batch = make_batch(batch_size, size, device)
    models = {name: make_model(name, True, device, width) for name in VARIANTS}
    losses = {}
    for name, model in models.items():  # the first iteration from identical weights
        model.set_input(batch)
        model.optimize_parameters()
        losses[name] = {k: torch.tensor(v) for k, v in model.get_current_losses().items()}

    def step(model):
        return lambda: (model.set_input(batch), model.optimize_parameters())

    medians = interleaved_medians({n: step(m) for n, m in models.items()}, device, repeats, warmup)
    report(f"train: one iteration (D, G, S steps), batch {batch_size}, {size}x{size}", medians, losses)


def report(title: str, medians: dict[str, float], values: dict[str, dict[str, torch.Tensor]]) -> None:
    print(f"\n{title}")
    base = medians["fp32"]
    for name, seconds in medians.items():
        difference = max((values[name][k] - values["fp32"][k]).abs().max().item() for k in values["fp32"])
        scale = max(values["fp32"][k].abs().max().item() for k in values["fp32"])
        print(
            f"  {name:<20} median {seconds * 1000:9.1f} ms   speed-up x{base / seconds:5.2f}   "
            f"max |difference| vs fp32 {difference:.2e} (largest fp32 magnitude {scale:.2e})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per variant (median)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs per variant first")
    parser.add_argument("--quick", action="store_true", help="smoke run: width 16, batch 2")
    options = parser.parse_args()
    device = resolve_device(options.device)
    width, batch = (16, 2) if options.quick else (64, 8)
    repeats = max(options.repeats, 5)
    print(
        f"tagan bench on {device} (torch {torch.__version__}, {torch.get_num_threads()} threads), "
        f"ngf = ndf = {width}"
    )
    bench_test(device, repeats, options.warmup, 224, width)
    bench_train(device, repeats, options.warmup, batch, 128, width)


if __name__ == "__main__":
    main()
