"""neuron-gan speed: ratios of variants measured in one process (interleaved, warmed up, medians).

1. Generator forward at 512 x 512 (the released final stage, eval mode, no grad), batch 8.
2. One training iteration at the 64 x 64 stable stage, batch 8: critic loss + gradient penalty + backward +
   Adam step, then generator loss + backward + Adam step (three G forwards and a double backward through D,
   as the original's loop).

Variants: ``original`` replays the original code's arithmetic on the same weights (every equalized layer
multiplies its full-size *input* by the He constant; PixelNorm divides by sqrt(mean(x^2) + eps); PyTorch's
bilinear and average-pooling kernels; fromRGB before pooling) and, in the iteration, its order of work (a
graph recorded for each detached generator pass, separate generator and critic passes per batch, critic
parameter gradients computed in the generator step, a per-tensor Adam). Ours is ``neurongan.train``'s
iteration (see the package README's speed notes): ``fp32`` (float32, contiguous), ``channels_last`` (NHWC),
``bf16`` (bfloat16 autocast) and ``bf16+cl``. Ratios are ``original`` time /
variant time; the issue's target is >= 1.5x. bfloat16 pays off on GPUs and on CPUs with native bf16
(AVX-512 BF16 / AMX); on AVX2-only CPUs it is emulated and much slower, so those variants are skipped there
unless ``--bf16``. On a machine shared by many processes pass ``--threads`` to avoid OpenMP
oversubscription; on a GPU pass ``--device cuda``.

    python tools/bench/neurongan.py                          # both benchmarks, 5 repeats
    python tools/bench/neurongan.py --quick                  # batch 2, 3 repeats
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

# This script shares its name with the package: drop its own folder from the import path so that
# ``import neurongan`` finds the package and not this file.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import neurongan  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from insilico_core.train import autocast, to_channels_last  # noqa: E402
from neurongan.losses import critic_loss, g_wasserstein_loss  # noqa: E402
from neurongan.train import frozen  # noqa: E402

VARIANTS = {
    "fp32": ("fp32", False),
    "bf16": ("bf16", False),
    "channels_last": ("fp32", True),
    "bf16+cl": ("bf16", True),
}


def interleaved_medians(
    variants: dict[str, Callable[[], object]], repeats: int, device: torch.device
) -> dict:
    """Median seconds per variant: one warm-up each, then rounds A B C .. / .. C B A."""

    def timed(run):
        run()
        if device.type == "cuda":
            torch.cuda.synchronize()

    for run in variants.values():
        timed(run)
    times: dict[str, list[float]] = {name: [] for name in variants}
    order = list(variants)
    for index in range(repeats):
        for name in order if index % 2 == 0 else reversed(order):
            start = time.perf_counter()
            timed(variants[name])
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def networks(res: int, channels_last: bool, device: torch.device):
    torch.manual_seed(0)
    G, D = neurongan.GeneratorPG(), neurongan.DiscriminatorPG()
    G.set_resolution(res)
    D.set_resolution(res)
    G.to(device)
    D.to(device)
    if channels_last:
        to_channels_last(G)
        to_channels_last(D)
    return G, D


def generator_forward(batch: int, device: torch.device) -> dict[str, Callable[[], object]]:
    z = neurongan.sample_latent(batch, 512, seed=0, device=device)
    G_original, _ = networks(512, False, device)

    def original():
        with torch.no_grad():
            return original_generator(G_original, z)

    runs = {"original": original}
    for name, (precision, channels_last) in VARIANTS.items():
        G, _ = networks(512, channels_last, device)
        G.eval()

        def run(G=G, precision=precision):
            with torch.no_grad(), autocast(device, precision):
                return G(z)

        runs[name] = run
    return runs


# ---- the original code's arithmetic on the same weights ----
# neuron-gan's layers multiply every layer *input* by the He constant (a full-size multiply per layer) and
# divide by sqrt(mean(x^2) + eps) in PixelNorm; the functions below replay that on our modules' parameters.

GAIN = math.sqrt(2 / (1 + 0.2**2))


def _original_eq(layer, x):
    weight = layer.weight
    scale = GAIN / math.sqrt(weight[0].numel())
    if weight.ndim == 2:
        return F.linear(x * scale, weight)
    return F.conv2d(x * scale, weight, layer.bias, padding=layer.padding[0])


def _original_act_norm(x):
    x = F.leaky_relu(x, 0.2)
    return x / torch.sqrt(torch.mean(x**2, dim=1, keepdim=True) + 1e-8)


def _original_resample(step, x):
    """The original block's first step: ``Interpolate(scale_factor=2, mode='bilinear')``, ``AvgPool2d(2)``."""
    if step.scale_factor == 0.5:
        return F.avg_pool2d(x, 2)
    return F.interpolate(x, scale_factor=step.scale_factor, mode="bilinear", align_corners=False)


def _original_block(block, x):
    x = _original_resample(block[0], x)
    x = _original_act_norm(_original_eq(block[1], x))
    return _original_act_norm(_original_eq(block[4], x))


def original_generator(G, z):
    """The original ``Generator_PG.forward`` at a stable stage."""
    layers = G.layers
    x = layers[1](_original_eq(layers[0], z))
    x = _original_act_norm(_original_eq(layers[4], _original_act_norm(x)))
    for block in list(layers)[7:]:
        x = _original_block(block, x)
    return G.ToIm(x)


def original_discriminator(D, x):
    """The original ``Discriminator_PG.forward`` at a stable stage."""
    x = D.FromIm(x)
    blocks = len(D.layers) - 5
    for block in list(D.layers)[:blocks]:
        x = _original_block(block, x)
    x = _original_act_norm(_original_eq(D.layers[blocks], x))
    return _original_eq(D.layers[blocks + 3], x).flatten(1)


def original_iteration(G, D, opt_g, opt_d, x) -> None:
    """The original loop's arithmetic and order of work: every G forward records a graph (then
    ``.detach()``), and the generator step also computes the critic's parameter gradients."""
    batch = x.shape[0]
    real_scores = original_discriminator(D, x)
    fake = original_generator(G, neurongan.sample_latent(batch, G.latent_dim)).detach()
    loss = original_discriminator(D, fake).mean() - real_scores.mean() + 1e-3 * real_scores.square().mean()
    fake = original_generator(G, neurongan.sample_latent(batch, G.latent_dim)).detach()
    t = torch.rand(batch, 1, 1, 1)
    x_hat = (t * x + (1 - t) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(original_discriminator(D, x_hat).sum(), x_hat, create_graph=True)
    loss = loss + 10 * (grad.flatten(1).norm(2, dim=1) - 1).square().mean()
    D.zero_grad()
    loss.backward()
    opt_d.step()
    G.zero_grad()
    (
        -original_discriminator(D, original_generator(G, neurongan.sample_latent(batch, G.latent_dim))).mean()
    ).backward()
    opt_g.step()


def our_iteration(G, D, opt_g, opt_d, x, precision: str, device: torch.device) -> None:
    """neurongan.train's iteration: both fake batches of the critic step from one generator pass without a
    graph, real and fake scored in one critic pass, the critic frozen in the generator step."""
    with autocast(device, precision):
        loss = critic_loss(G, D, x).loss
    D.zero_grad(set_to_none=True)
    loss.backward()
    opt_d.step()
    G.zero_grad(set_to_none=True)
    with frozen(D), autocast(device, precision):
        g_loss = g_wasserstein_loss(G, D, batch_size=x.shape[0])
    g_loss.backward()
    opt_g.step()


def training_iteration(batch: int, device: torch.device) -> dict[str, Callable[[], object]]:
    real = torch.rand(batch, 1, 64, 64, device=device) * 2 - 1
    runs = {}
    for name, (precision, channels_last) in {"original": ("fp32", False), **VARIANTS}.items():
        G, D = networks(64, channels_last, device)
        fused = name != "original"  # neurongan.train fuses Adam on CPU and CUDA; the original did not
        opt_g = torch.optim.Adam(G.parameters_in_build_order(), lr=1e-4, betas=(0.5, 0.999), fused=fused)
        opt_d = torch.optim.Adam(D.parameters_in_build_order(), lr=1e-4, betas=(0.5, 0.999), fused=fused)
        x = real.contiguous(memory_format=torch.channels_last) if channels_last else real
        if name == "original":
            runs[name] = lambda G=G, D=D, opt_g=opt_g, opt_d=opt_d, x=x: original_iteration(
                G, D, opt_g, opt_d, x
            )
        else:
            runs[name] = lambda G=G, D=D, o=opt_g, p=opt_d, x=x, q=precision: our_iteration(
                G, D, o, p, x, q, device
            )
    return runs


def report(title: str, medians: dict[str, float], baseline: str) -> None:
    base = medians[baseline]
    print(title)
    for name, seconds in medians.items():
        print(f"  {name:<14} {seconds * 1e3:9.1f} ms   ratio {baseline}/{name}: {base / seconds:5.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quick", action="store_true", help="batch 2, 3 repeats")
    parser.add_argument("--only", choices=["forward", "iteration"], default=None)
    parser.add_argument("--bf16", action="store_true", help="run the bf16 variants even on an AVX2-only CPU")
    args = parser.parse_args()
    if args.quick:
        args.batch, args.repeats = 2, 3
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cpu" and not args.bf16 and "AVX512" not in torch.backends.cpu.get_cpu_capability():
        for name in ("bf16", "bf16+cl"):
            VARIANTS.pop(name)
        print(
            "note: this CPU has no native bfloat16 (torch reports "
            f"{torch.backends.cpu.get_cpu_capability()}); bf16 variants skipped (--bf16 runs them anyway)"
        )
    print(
        f"torch {torch.__version__}, device {device}, threads {torch.get_num_threads()}, batch {args.batch}, "
        f"{args.repeats} interleaved repeats (medians)"
    )
    if args.only in (None, "forward"):
        report(
            "G forward at 512x512 (eval, no grad):",
            interleaved_medians(generator_forward(args.batch, device), args.repeats, device),
            "original",
        )
    if args.only in (None, "iteration"):
        report(
            "training iteration at 64x64 (D step with GP + G step):",
            interleaved_medians(training_iteration(args.batch, device), args.repeats, device),
            "original",
        )


if __name__ == "__main__":
    main()
