"""Benchmark: one BioGANs WGAN-GP iteration (batch 64, 5 critic steps, 48x80, ngf = ndf = 64), fp32 eager
vs bf16 autocast + channels_last. Prints the ratio of medians (variants interleaved A B B A, after warm-up).

    python tools/bench/biogans.py [--model_type DCGAN-sep] [--device auto] [--repeats 6]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from pathlib import Path

# this file is named after the package it measures: keep its folder off the import path so that
# ``import biogans`` finds the package, not this script
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import biogans  # noqa: E402
import torch  # noqa: E402
from biogans.train import train_iteration  # noqa: E402
from insilico_core.train import resolve_device, to_channels_last  # noqa: E402


def make_variant(G, D, channels_last: bool):
    G, D = copy.deepcopy(G), copy.deepcopy(D)
    if channels_last:
        G, D = to_channels_last(G), to_channels_last(D)
    optD = torch.optim.Adam(D.parameters(), lr=1e-4, betas=(0.0, 0.9))
    optG = torch.optim.Adam(G.parameters(), lr=1e-4, betas=(0.0, 0.9))
    return G, D, optG, optD


def run_once(variant, reals, precision: str, device: torch.device) -> float:
    G, D, optG, optD = variant
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    train_iteration(G, D, optG, optD, reals, None, "WGAN-GP", precision=precision)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model_type", default="DCGAN-sep")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--critic_steps", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=6, help="timed runs per variant (>= 5)")
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args()
    device = resolve_device(args.device)
    torch.manual_seed(0)
    G, D = biogans.build_model(args.model_type, "WGAN-GP")
    G, D = G.to(device), D.to(device)
    reals = [torch.rand(args.batch_size, 2, 48, 80, device=device) * 2 - 1 for _ in range(args.critic_steps)]
    reals_cl = [r.contiguous(memory_format=torch.channels_last) for r in reals]
    fp32 = make_variant(G, D, channels_last=False)
    fast = make_variant(G, D, channels_last=True)
    variants = {
        "fp32": lambda: run_once(fp32, reals, "fp32", device),
        "bf16+channels_last": lambda: run_once(fast, reals_cl, "bf16", device),
    }
    for _ in range(args.warmup):
        for run in variants.values():
            run()
    times: dict[str, list[float]] = {name: [] for name in variants}
    order = ["fp32", "bf16+channels_last"]
    for i in range(max(args.repeats, 5)):
        for name in order if i % 2 == 0 else order[::-1]:
            times[name].append(variants[name]())
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(
        f"device: {device} ({torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu'}), "
        f"torch {torch.__version__}, {args.model_type}, WGAN-GP, batch {args.batch_size}, "
        f"{args.critic_steps} critic steps, threads {torch.get_num_threads()}"
    )
    for name, value in medians.items():
        print(f"  {name:>20}: median {value * 1000:.1f} ms per iteration over {len(times[name])} runs")
    print(f"speed-up bf16+channels_last vs fp32: {medians['fp32'] / medians['bf16+channels_last']:.2f}x")


if __name__ == "__main__":
    main()
