"""Metrics speed: ratios of variants measured in one process (interleaved, warmed up, medians).

1. FID from two sets of feature vectors (default 10,000 x 2048, float32 as feature networks return them):
   ours      ``RunningMoments`` fed batches of 500 (as during extraction; rows shifted by the running mean,
             float32 BLAS syrk products of 1024-row slices folded into float64 every 8192 rows), then the
             Fréchet distance: Cholesky, LAPACK's congruence dsygst, eigenvalues (``insilico_core.metrics``)
   ours64    the same on the features converted to float64 (float64 products: the accuracy reference)
   scipy     numpy ``cov`` and pytorch-fid's formula with ``scipy.linalg.sqrtm`` (Multi-StyleGAN's code)
   Both statistics and distance times are printed; our goal is FID < 2 s for 10k x 2048, which the last
   line times end to end (both sets' statistics and the distance as one unit, median and best) beside the
   speed of a float32 matrix product at that moment: these shared machines vary by 2x within minutes.
   scipy's sqrtm at 2048 dims takes about 20 s here, so it is timed ``--baseline-repeats`` times (default 1).
   On a machine shared by many processes, ``--threads 1`` avoids OpenMP oversubscription (torch's threads;
   scipy's BLAS and LAPACK follow OPENBLAS_NUM_THREADS).
2. Feature extraction: the TF-FID Inception-v3 (random weights) streamed over synthetic 64 x 64 grey images
   into a ``FrechetDistance`` at two batch sizes; images/s, their ratio, and the metric state's size next to
   what keeping every feature would cost.

    python tools/bench/metrics.py                       # 10,000 x 2048 features, 5 repeats
    python tools/bench/metrics.py --dims 512 --quick    # fast check
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import scipy.linalg
import torch
from insilico_core.metrics import (
    FrechetDistance,
    InceptionFeatures,
    InceptionV3,
    RunningMoments,
    frechet_distance,
)


def timed(run: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    value = run()
    return time.perf_counter() - start, value


def interleaved_medians(variants: dict[str, Callable[[], object]], repeats: int) -> tuple[dict, dict]:
    """Median seconds per variant and its last value: one warm-up each, then A B .. / .. B A rounds."""
    values = {name: run() for name, run in variants.items()}
    times: dict[str, list[float]] = {name: [] for name in variants}
    order = list(variants)
    for round_index in range(repeats):
        for name in order if round_index % 2 == 0 else reversed(order):
            elapsed, values[name] = timed(variants[name])
            times[name].append(elapsed)
    return {name: statistics.median(t) for name, t in times.items()}, values


def synthetic_features(count: int, dims: int, seed: int, shift: float) -> torch.Tensor:
    """Non-negative correlated features like pooled ReLU activations, float32 ``[count, dims]``."""
    generator = torch.Generator().manual_seed(seed)
    mixing = torch.randn(dims, dims, generator=generator) / dims**0.5
    return torch.relu(torch.randn(count, dims, generator=generator) @ mixing + shift)


def ours_statistics(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    moments = RunningMoments()
    for batch in features.split(500):
        moments.update(batch)
    return moments.mean, moments.covariance()


def scipy_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return features.mean(axis=0), np.cov(features, rowvar=False)


def scipy_frechet(mu1, sigma1, mu2, sigma2) -> float:
    """pytorch-fid's calculate_frechet_distance (without its eps retry, which these inputs do not need)."""
    covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean.real))


def bench_fid(count: int, dims: int, repeats: int, baseline_repeats: int) -> None:
    real, fake = synthetic_features(count, dims, 0, 0.0), synthetic_features(count, dims, 1, 0.1)
    real64, fake64 = real.double(), fake.double()
    real_np, fake_np = real64.numpy(), fake64.numpy()
    stats_times, stats = interleaved_medians(
        {
            "ours": lambda: (ours_statistics(real), ours_statistics(fake)),
            "ours64": lambda: (ours_statistics(real64), ours_statistics(fake64)),
            "scipy": lambda: (scipy_statistics(real_np), scipy_statistics(fake_np)),
        },
        repeats,
    )
    fd_times, values = interleaved_medians(
        {
            name: (lambda pair=stats[name]: frechet_distance(*pair[0], *pair[1]))
            for name in ("ours", "ours64")
        },
        repeats,
    )
    # scipy's sqrtm of a 2048 x 2048 product takes about 20 s here: timed baseline_repeats times
    (nmu1, ns1), (nmu2, ns2) = stats["scipy"]
    scipy_runs = [timed(lambda: scipy_frechet(nmu1, ns1, nmu2, ns2)) for _ in range(baseline_repeats)]
    fd_times["scipy"] = statistics.median(t for t, _ in scipy_runs)
    values["scipy"] = scipy_runs[-1][1]
    threads = torch.get_num_threads()
    print(
        f"FID from {count:,} + {count:,} features of {dims} dims (torch threads {threads}; medians of "
        f"{repeats}, scipy sqrtm {baseline_repeats}); ours = float32 features as networks return them, "
        f"ours64 = the same features in float64 (float64 products throughout):"
    )
    totals = {name: stats_times[name] + fd_times[name] for name in stats_times}
    for name in stats_times:
        print(
            f"  {name:6s}  statistics {stats_times[name]:7.3f} s   distance {fd_times[name]:7.3f} s   "
            f"total {totals[name]:7.3f} s   FID {values[name]:.6f}"
        )
    for name in ("ours64", "scipy"):
        difference = abs(values["ours"] - values[name]) / abs(values[name])
        print(
            f"  ratio {name} / ours: statistics {stats_times[name] / stats_times['ours']:.2f}x, distance "
            f"{fd_times[name] / fd_times['ours']:.2f}x, total {totals[name] / totals['ours']:.2f}x; "
            f"relative difference of the values {difference:.2e}"
        )
    bench_fid_end_to_end(real, fake, repeats)


def matmul_gflops(size: int = 2048) -> float:
    """This machine's float32 matrix-product speed right now (it varies by 2x on shared hosts)."""
    a = torch.randn(size, size)
    elapsed, _ = timed(lambda: a @ a)
    return 2 * size**3 / elapsed / 1e9


def bench_fid_end_to_end(real: torch.Tensor, fake: torch.Tensor, repeats: int) -> None:
    """Ours as a user runs it, statistics of both sets and the distance in one timing, next to a matrix
    product that shows how fast the machine is at that moment."""

    def fid() -> float:
        return frechet_distance(*ours_statistics(real), *ours_statistics(fake))

    fid()
    runs = [(matmul_gflops(), timed(fid)[0]) for _ in range(repeats)]
    seconds = [t for _, t in runs]
    print(
        f"  ours end to end (both sets' statistics + distance, {repeats} runs): median "
        f"{statistics.median(seconds):.3f} s, best {min(seconds):.3f} s (goal: under 2 s); float32 2048^3 "
        f"matrix product meanwhile {statistics.median(g for g, _ in runs):.0f} GFLOPS "
        f"({max(g for g, _ in runs):.0f} at best)"
    )


def bench_extraction(images: int, repeats: int) -> None:
    torch.manual_seed(0)
    extractor = InceptionFeatures(InceptionV3("tf-fid").eval(), "pytorch-fid")
    data = torch.rand(images, 1, 64, 64)

    def stream(batch_size: int) -> Callable[[], int]:
        def run() -> int:
            metric = FrechetDistance(extractor)
            for batch in data.split(batch_size):
                metric.update(real=batch)
            return metric.real_moments.count

        return run

    times, _ = interleaved_medians({"batch 8": stream(8), "batch 32": stream(32)}, repeats)
    print(
        f"Feature extraction, TF-FID Inception-v3 (random weights), {images} grey 64x64 images resized "
        f"to 299 (median of {repeats}):"
    )
    for name, seconds in times.items():
        print(f"  {name:9s} {images / seconds:7.2f} images/s")
    print(f"  ratio batch 32 / batch 8 throughput: {times['batch 8'] / times['batch 32']:.2f}x")
    dims = 2048
    state_mib, all_features_mib = (dims + dims * dims) * 8 / 2**20, 50_000 * dims * 4 / 2**20
    print(
        f"  streaming state (mean + scatter, float64): {state_mib:.0f} MiB at any count; "
        f"keeping the features of 50,000 images would take {all_features_mib:.0f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=10_000, help="feature vectors per set")
    parser.add_argument("--dims", type=int, default=2048, help="feature dimension")
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds per variant (median)")
    parser.add_argument("--images", type=int, default=32, help="images for the extraction benchmark")
    parser.add_argument("--baseline-repeats", type=int, default=1, help="timed scipy sqrtm runs (slow)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--quick", action="store_true", help="fewer images for the extraction benchmark")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    bench_fid(args.count, args.dims, args.repeats, args.baseline_repeats)
    bench_extraction(8 if args.quick else args.images, args.repeats)


if __name__ == "__main__":
    main()
