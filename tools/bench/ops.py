"""Benchmark of the custom ops: the compiled ``cpu`` backend against the ``ref`` (PyTorch) path, same process.

For each StyleGAN-typical case and dtype it times the forward pass and the forward + backward pass of both
backends, interleaved (ref, cpu, cpu, ref, ...) after a warm-up, and prints the medians and their ratio
(ref time / cpu time: > 1 means the compiled kernel is faster). Targets on a 2-core machine: bias_act >= 2.0x
forward + backward, upsample2d / downsample2d >= 1.5x.

The filtered_lrelu rows are StyleGAN3-T hidden layers at 32..256 px (the layer's size with its 10-px
margins, up 2, down 2, 12-tap Kaiser low-pass filters, clamp 256; batch 1 and a quarter of the layer's
channels, to keep the run short: the ratio does not depend on the channel count). The rows marked
"vs composed" time the fused kernel against the composition of the compiled bias_act and upfirdn2d in the
"ref" column: where that ratio is > 1, impl=None picks the fused kernel (``FUSED_AUTO_BACKENDS`` in
ops/filtered_lrelu.py).

    python tools/bench/ops.py            # 9 timed repeats per variant
    python tools/bench/ops.py --quick    # 5 repeats, for tools/demo.sh
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from insilico_core import ops
from insilico_core.ops.filtered_lrelu import composed_filtered_lrelu


@dataclass
class Case:
    name: str
    shape: tuple[int, ...]
    run: Callable[[torch.Tensor, torch.Tensor | None, str], torch.Tensor]
    with_bias: bool = False


def _kaiser_lowpass(taps: int, cutoff: float, width: float, fs: float) -> torch.Tensor:
    """A Kaiser-windowed sinc low-pass with StyleGAN3's design parameters, normalised to unit sum."""
    atten = 2.285 * (taps - 1) * np.pi * (width / (fs / 2)) + 7.95
    if atten > 50:
        beta = 0.1102 * (atten - 8.7)
    elif atten > 21:
        beta = 0.5842 * (atten - 21) ** 0.4 + 0.07886 * (atten - 21)
    else:
        beta = 0.0
    t = np.arange(taps) - (taps - 1) / 2
    f = np.sinc(2 * cutoff / fs * t) * np.kaiser(taps, beta)
    return torch.as_tensor(f / f.sum(), dtype=torch.float32)


def _filtered_lrelu_cases() -> list[Case]:
    """StyleGAN3-T hidden layers (sampling rate = resolution, temporary rate 2x): fused kernel vs ref, and at
    two sizes vs the composition of the compiled ops."""
    cases = []
    for resolution, channels in ((32, 128), (64, 128), (128, 64), (256, 32)):
        f = _kaiser_lowpass(12, cutoff=resolution / 2, width=resolution / 2, fs=2 * resolution)
        size = resolution + 20
        shape = (1, channels, size, size)
        kwargs = dict(up=2, down=2, padding=[11, 10, 11, 10], clamp=256.0)

        def run(x, b, impl, f=f, kwargs=kwargs):
            return ops.filtered_lrelu(x, f, f, b, impl=impl, **kwargs)

        def run_vs_composed(x, b, impl, f=f, kwargs=kwargs):
            if impl == "cpu":
                return ops.filtered_lrelu(x, f, f, b, impl="cpu", **kwargs)
            args = (kwargs["up"], kwargs["down"], kwargs["padding"], 2**0.5, 0.2, kwargs["clamp"], False)
            return composed_filtered_lrelu(x, f, f, b, *args, impl="cpu")

        cases.append(Case(f"filtered_lrelu {resolution}px", shape, run, True))
        if resolution in (64, 256):
            cases.append(Case(f"filtered_lrelu {resolution}px vs composed", shape, run_vs_composed, True))
    return cases


def _cases() -> list[Case]:
    fir = ops.setup_filter([1, 3, 3, 1])
    rosinality_kernel = torch.outer(torch.tensor([1.0, 3, 3, 1]), torch.tensor([1.0, 3, 3, 1]))
    rosinality_kernel = rosinality_kernel / rosinality_kernel.sum()
    return [
        Case(
            "bias_act lrelu",
            (8, 512, 32, 32),
            lambda x, b, impl: ops.bias_act(x, b, act="lrelu", impl=impl),
            True,
        ),
        Case(
            "bias_act lrelu",
            (8, 128, 128, 128),
            lambda x, b, impl: ops.bias_act(x, b, act="lrelu", impl=impl),
            True,
        ),
        Case("upsample2d [1,3,3,1]", (8, 256, 64, 64), lambda x, b, impl: ops.upsample2d(x, fir, impl=impl)),
        Case(
            "downsample2d [1,3,3,1]", (8, 256, 64, 64), lambda x, b, impl: ops.downsample2d(x, fir, impl=impl)
        ),
        Case(
            "upfirdn2d_rosinality up=2 pad=(2,1)",
            (8, 256, 64, 64),
            lambda x, b, impl: ops.upfirdn2d_rosinality(x, rosinality_kernel, up=2, pad=(2, 1), impl=impl),
        ),
        *_filtered_lrelu_cases(),
    ]


def _time(fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _measure(case: Case, dtype: torch.dtype, repeats: int, seed: int) -> dict[str, dict[str, float]]:
    """Median seconds per (mode, impl), the impls interleaved ref, cpu, cpu, ref, ..."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(case.shape, generator=g).to(dtype)
    b = torch.randn(case.shape[1], generator=g).to(dtype) if case.with_bias else None
    grad = None

    def forward(impl: str) -> None:
        with torch.no_grad():
            case.run(x, b, impl)

    def forward_backward(impl: str) -> None:
        nonlocal grad
        xg = x.detach().requires_grad_(True)
        bg = b.detach().requires_grad_(True) if b is not None else None
        y = case.run(xg, bg, impl)
        if grad is None:
            grad = torch.randn(y.shape, generator=g).to(dtype)
        y.backward(grad)

    results: dict[str, dict[str, float]] = {}
    for mode, fn in (("fwd", forward), ("fwd+bwd", forward_backward)):
        times: dict[str, list[float]] = {"ref": [], "cpu": []}
        for impl in ("ref", "cpu"):  # warm-up
            fn(impl)
        for i in range(repeats):
            order = ("ref", "cpu") if i % 2 == 0 else ("cpu", "ref")
            for impl in order:
                times[impl].append(_time(lambda impl=impl, fn=fn: fn(impl)))
        results[mode] = {impl: statistics.median(t) for impl, t in times.items()}
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="5 timed repeats per variant instead of 9")
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats per variant (>= 5)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random inputs")
    parser.add_argument("--dtypes", default="float32,bfloat16", help="comma-separated dtypes")
    parser.add_argument("--only", default="", help="run only the cases whose name contains this text")
    args = parser.parse_args(argv)
    repeats = args.repeats or (5 if args.quick else 9)
    if repeats < 5:
        parser.error("--repeats must be >= 5 (the medians need them)")
    if ops._build.kernels("cpu") is None:
        print(f"cpu backend unavailable: {ops._build.backend_status('cpu').reason}", file=sys.stderr)
        return 1

    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, median of {repeats}; "
        "ratio = ref time / cpu time"
    )
    header = (
        f"{'case':38s} {'shape':18s} {'dtype':8s} {'fwd ms ref/cpu':>16s} {'ratio':>6s} "
        f"{'fwd+bwd ms ref/cpu':>20s} {'ratio':>6s}"
    )
    print(header)
    print("-" * len(header))
    for case in [c for c in _cases() if args.only in c.name]:
        for dtype_name in args.dtypes.split(","):
            dtype = getattr(torch, dtype_name)
            r = _measure(case, dtype, repeats, args.seed)
            f, fb = r["fwd"], r["fwd+bwd"]
            shape = "x".join(map(str, case.shape))
            print(
                f"{case.name:38s} {shape:18s} {dtype_name:8s} "
                f"{f['ref'] * 1e3:7.1f}/{f['cpu'] * 1e3:<8.1f} {f['ref'] / f['cpu']:5.2f}x "
                f"{fb['ref'] * 1e3:9.1f}/{fb['cpu'] * 1e3:<10.1f} {fb['ref'] / fb['cpu']:5.2f}x",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
