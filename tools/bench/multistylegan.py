"""Multi-StyleGAN speed: ratios of variants measured in one process (interleaved, warmed up, medians).

Generator forward per sample (fixed noise, batch --batch):
  original  fp32, dead GFP branch computed, reference ops, grouped transposed convolutions (the original's
            computation)
  skip      fp32, dead branch skipped, default ops, batched matmul upsampling (same outputs to rounding)
  bf16      bf16 autocast, dead branch skipped, default ops   (within bf16 tolerance; error printed)
  skip_ref  fp32, dead branch skipped, reference ops          (skip_ref / skip = compiled-ops speed-up)
Training iteration at batch 2 (plain D + G step, ADA on), on simulated data: the original's computation
(dead branch computed, reference ops, grouped transposed convolutions) vs ours.

Targets (issue 6): original / skip >= 2, original / bf16 >= 4. Example:
    python tools/bench/multistylegan.py                  # 256 x 256, 512 channels (the paper's size)
    python tools/bench/multistylegan.py --quick          # 64 x 64, 128 channels, for a fast check
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

# This script shares its name with the package: drop its own folder from the import path so that
# ``import multistylegan`` finds the package and not this file.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import multistylegan as msg  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from insilico_core import ops  # noqa: E402
from insilico_core.data.simulate import simulate  # noqa: E402
from insilico_core.train import autocast  # noqa: E402
from multistylegan.models import layers  # noqa: E402
from multistylegan.train import Trainer, TrainOptions  # noqa: E402


def grouped_transposed_convolution(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """The original's upsampling convolution: ``conv_transpose2d`` with one group per sample."""
    batch, channels, height, width = x.shape
    kernel = weight.transpose(1, 2).reshape(batch * channels, weight.shape[1], 2, 2)
    out = F.conv_transpose2d(x.reshape(1, batch * channels, height, width), kernel, stride=2, groups=batch)
    return out.view(batch, weight.shape[1], 2 * height, 2 * width)


@contextlib.contextmanager
def computation(reference_ops: bool, grouped_transposed: bool) -> Iterator[None]:
    """While active: the core ops on their reference PyTorch path (``reference_ops``) and/or the original's
    grouped transposed convolution instead of our batched matmul + pixel shuffle (``grouped_transposed``)."""
    previous = os.environ.get("INSILICO_OPS")
    ours = layers._transposed_conv_2x2_stride_2
    if reference_ops:
        os.environ["INSILICO_OPS"] = "ref"
    if grouped_transposed:
        layers._transposed_conv_2x2_stride_2 = grouped_transposed_convolution
    try:
        yield
    finally:
        layers._transposed_conv_2x2_stride_2 = ours
        if previous is None:
            os.environ.pop("INSILICO_OPS", None)
        else:
            os.environ["INSILICO_OPS"] = previous


def interleaved_medians(variants: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median seconds per variant: one warm-up each, then rounds in A B C .. / .. C B A order."""
    for run in variants.values():
        run()
    times: dict[str, list[float]] = {name: [] for name in variants}
    order = list(variants)
    for round_index in range(repeats):
        for name in order if round_index % 2 == 0 else reversed(order):
            start = time.perf_counter()
            variants[name]()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def bench_generator(resolution: int, channels: int, batch: int, repeats: int, device: torch.device) -> None:
    torch.manual_seed(0)
    generator = (
        msg.Generator(config=msg.generator_config(channels=channels, resolution=resolution)).to(device).eval()
    )
    z = torch.randn(batch, generator.latent_dimensions, device=device)
    compiled = any(s.state in ("built", "loaded from cache") for s in ops.build((device.type,)))

    def forward(
        dead_branch: bool, precision: str, reference: bool, grouped: bool
    ) -> Callable[[], torch.Tensor]:
        def run() -> torch.Tensor:
            generator.compute_dead_branch = dead_branch
            with torch.no_grad(), computation(reference, grouped), autocast(device, precision):
                out = generator(z, randomize_noise=False).float()
            if device.type == "cuda":
                torch.cuda.synchronize()
            return out

        return run

    variants = {"original": forward(True, "fp32", True, True), "skip": forward(False, "fp32", False, False)}
    fast_bf16 = device.type == "cuda" or torch.ops.mkldnn._is_mkldnn_bf16_supported()
    if fast_bf16:
        variants["bf16"] = forward(False, "bf16", False, False)
    if compiled:
        variants["skip_ref"] = forward(False, "fp32", True, False)
    reference = variants["original"]()
    skip_error = float((variants["skip"]() - reference).abs().max() / reference.abs().max())
    medians = interleaved_medians(variants, repeats)
    print(f"generator forward {resolution}x{resolution}, {channels} channels, batch {batch}, {device}:")
    for name, seconds in medians.items():
        print(f"  {name:9s} {seconds / batch:8.3f} s per sample")
    print(
        f"  ratio original / skip  = {medians['original'] / medians['skip']:.2f}x  (target >= 2; "
        f"max |skip - original| / max |original| = {skip_error:.1e})"
    )
    if fast_bf16:
        bf16_error = float((variants["bf16"]() - reference).abs().max() / reference.abs().max())
        print(
            f"  ratio original / bf16  = {medians['original'] / medians['bf16']:.2f}x  (target >= 4; "
            f"max |bf16 - fp32| / max |fp32| = {bf16_error:.1e})"
        )
    else:
        print(
            "  bf16 not measured: this CPU has no fast bf16 kernels "
            "(torch.ops.mkldnn._is_mkldnn_bf16_supported() is False; bf16 would be far slower than fp32)"
        )
    if compiled:
        print(f"  ratio compiled ops: skip_ref / skip = {medians['skip_ref'] / medians['skip']:.2f}x")
    else:
        print("  compiled ops unavailable here (insilico-core ops status): no compiled-vs-reference ratio")


def bench_training(resolution: int, channels: int, repeats: int, device: torch.device) -> None:
    with tempfile.TemporaryDirectory() as folder:
        data = simulate(
            "yeast-timelapse",
            f"{folder}/data",
            n=1,
            seed=0,
            frames=4,
            z_planes=1,
            image_size=max(64, resolution),
            rfp=False,
        )
        options = TrainOptions(
            path_to_data=str(data),
            out=f"{folder}/runs",
            batch_size=2,
            epochs=100,
            generator_channels=channels,
            discriminator_channels=max(16, channels // 4),
            resolution=resolution,
            num_workers=0,
            device=str(device),
        )
        trainer = Trainer(options)
        real = trainer._prepare_real(next(iter(trainer.loader)))
        generator = trainer.generator

        def iteration(original: bool) -> Callable[[], object]:
            def run() -> object:
                generator.compute_dead_branch = original
                generator.main_convolutions_2.requires_grad_(original)
                trainer.step = 1  # never a lazy-regularisation iteration
                with computation(original, original):
                    return trainer.training_iteration(real, top_k=None)

            return run

        medians = interleaved_medians({"original": iteration(True), "ours": iteration(False)}, repeats)
    print(
        f"training iteration (D + G step), batch 2, {resolution}x{resolution}, {channels} channels, {device}:"
    )
    for name, seconds in medians.items():
        print(f"  {name:9s} {seconds:8.3f} s")
    print(f"  ratio original / ours = {medians['original'] / medians['ours']:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--resolution", type=int, default=256)
    parser.add_argument("--channels", type=int, default=512)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--train_resolution", type=int, default=64)
    parser.add_argument("--train_channels", type=int, default=64)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--quick", action="store_true", help="64x64, 128 channels generator; 32x32 training")
    parser.add_argument("--skip_training", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.resolution, args.channels, args.train_resolution, args.train_channels = 64, 128, 32, 32
    if args.repeats < 5:
        parser.error("--repeats must be >= 5 (medians of at least five interleaved runs)")
    device = torch.device(args.device)
    bench_generator(args.resolution, args.channels, args.batch, args.repeats, device)
    if not args.skip_training:
        bench_training(args.train_resolution, args.train_channels, args.repeats, device)


if __name__ == "__main__":
    main()
