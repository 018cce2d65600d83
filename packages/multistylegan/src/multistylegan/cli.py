"""Command lines: ``multistylegan-train``, ``multistylegan-samples``, ``multistylegan-interpolate``.

Flags keep the original scripts' names (underscores) and defaults; ours are added (``--device``,
``--seed``, ``--out``, ...). ``--cuda_devices`` sets ``CUDA_VISIBLE_DEVICES`` when given, as the originals
did; ``--data_parallel`` is accepted: multi-GPU training runs under ``torchrun`` (DDP).
"""

from __future__ import annotations

import os
from pathlib import Path

import click
from insilico_core.train import resolve_device, seed_everything

__all__ = ["interpolate", "samples", "train"]

_DEVICE = click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N or mps.")
_SEED = click.option("--seed", default=0, show_default=True, type=int, help="Seed of every random draw.")


def _apply_cuda_devices(context: click.Context, cuda_devices: str) -> None:
    if context.get_parameter_source("cuda_devices") == click.core.ParameterSource.COMMANDLINE:
        os.environ["CUDA_VISIBLE_DEVICES"] = cuda_devices.replace(" ", "")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--cuda_devices", default="0, 1, 2, 3", show_default=True, help="CUDA device indexes to use.")
@click.option("--batch_size", default=24, show_default=True, type=int, help="Global training batch size.")
@click.option(
    "--data_parallel",
    is_flag=True,
    help="Accepted for the original's command line; multi-GPU "
    "training runs as `torchrun --nproc_per_node N multistylegan-train ...`.",
)
@click.option("--epochs", default=100, show_default=True, type=int)
@click.option(
    "--lr_generator", default=2e-4, show_default=True, type=float, help="Mapping network: lr / 100."
)
@click.option("--lr_discriminator", default=6e-4, show_default=True, type=float)
@click.option(
    "--path_to_data",
    default="./60x_10BF_200GFP_200RFP20_3Z_10min",
    show_default=True,
    help="Dataset root (Pos<n>/img_<t>_<channel>_<z>_trap_<k>.tif).",
)
@click.option("--load_checkpoint", default="", help="Checkpoint to start from (original or ours).")
@click.option(
    "--resume_training",
    is_flag=True,
    help="The original's 'resumed' schedule: CutMix and "
    "wrong-order sequences from the start, top-k at v=0.5.",
)
@click.option("--no_top_k", is_flag=True, help="Train the generator on all fakes.")
@click.option("--no_ada", is_flag=True, help="No adaptive discriminator augmentation.")
@_DEVICE
@_SEED
@click.option("--out", default="experiments", show_default=True, help="Runs go to <out>/<date_time>/.")
@click.option("--generator_channels", type=int, default=None, help="Generator width (original 512).")
@click.option("--discriminator_channels", type=int, default=None, help="First discriminator width (128).")
@click.option("--resolution", type=int, default=None, help="Train at this side (data are downscaled).")
@click.option("--save_every", default=5, show_default=True, type=int, help="Checkpoint every N epochs.")
@click.option("--validate_every", default=10, show_default=True, type=int, help="FID/FVD/IS every N epochs.")
@click.option("--num_workers", type=int, default=None, help="Data loader workers (default min(batch, 4)).")
@click.option("--inception_weights", default=None, help="Inception-v3 weights file for FID and IS.")
@click.option("--i3d_weights", default=None, help="I3D rgb_imagenet.pt for FVD.")
@click.option("--metric_samples", default=5000, show_default=True, type=int)
@click.option(
    "--max_iterations", type=int, default=None, help="Stop after this many iterations (tests, demos)."
)
@click.option("--cache_hdf5", default=None, help="Read the TIFFs once into this HDF5 file (built if absent).")
@click.pass_context
def train(context: click.Context, **flags: object) -> None:
    """Train Multi-StyleGAN on the trapped-yeast time-lapse data."""
    from .train import TrainOptions
    from .train import train as run_training

    _apply_cuda_devices(context, str(flags["cuda_devices"]))
    if flags["data_parallel"] and int(os.environ.get("WORLD_SIZE", "1")) == 1:
        click.echo(
            "[multistylegan] --data_parallel: one process here; for several GPUs start "
            "`torchrun --nproc_per_node <N> multistylegan-train ...`",
            err=True,
        )
    run_dir = run_training(TrainOptions(**flags))
    click.echo(f"[multistylegan] run written to {run_dir}")


def _seeded_generator(
    context: click.Context, cuda_devices: str, checkpoint: str, device: str, which: str, seed: int
):
    """The ``which`` generator of ``checkpoint`` on ``device`` (``--cuda_devices`` applied first), with every
    random generator seeded with ``seed`` once it is loaded."""
    from .checkpoints import load_generator

    _apply_cuda_devices(context, cuda_devices)
    generator = load_generator(checkpoint, which=which, device=resolve_device(device))
    seed_everything(seed)
    return generator


_CHECKPOINT = click.option(
    "--load_checkpoint",
    default="checkpoint_100.pt",
    show_default=True,
    help="Checkpoint whose generator is used.",
)
_WHICH = click.option(
    "--which", type=click.Choice(["generator_ema", "generator"]), default="generator_ema", show_default=True
)
_PRECISION = click.option(
    "--precision",
    type=click.Choice(["fp32", "bf16"]),
    default="fp32",
    show_default=True,
    help="bf16 autocast is several times faster on recent CPUs and GPUs.",
)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--cuda_devices", default="0", show_default=True)
@click.option("--samples", default=100, show_default=True, type=int, help="Number of sequences.")
@_CHECKPOINT
@_SEED
@click.option("--out", default=".", show_default=True, help="Output folder.")
@_DEVICE
@click.option("--batch_size", default=1, show_default=True, type=int)
@click.option(
    "--format",
    "file_format",
    type=click.Choice(["png", "tiff"]),
    default="png",
    show_default=True,
    help="png: sample_bf_{i}.png / sample_gfp_{i}.png; tiff: ImageJ hyperstacks sample_{i}.tif.",
)
@_WHICH
@_PRECISION
@click.pass_context
def samples(
    context: click.Context,
    cuda_devices: str,
    samples: int,
    load_checkpoint: str,
    seed: int,
    out: str,
    device: str,
    batch_size: int,
    file_format: str,
    which: str,
    precision: str,
) -> None:
    """Generate sample sequences (BF + GFP, 3 time steps) from a checkpoint."""
    from .sample import generate_samples

    generator = _seeded_generator(context, cuda_devices, load_checkpoint, device, which, seed)
    files = generate_samples(
        generator,
        samples,
        out,
        seed=seed,
        batch_size=batch_size,
        file_format=file_format,
        precision=precision,
    )
    click.echo(f"[multistylegan] wrote {len(files)} files to {Path(out).resolve()}")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--cuda_devices", default="0", show_default=True)
@_CHECKPOINT
@_SEED
@click.option("--out", default=".", show_default=True, help="Output folder (frames go to <out>/video_gan/).")
@_DEVICE
@click.option("--batch_size", default=32, show_default=True, type=int)
@click.option("--anchors", default=16, show_default=True, type=int, help="Random latents to pass through.")
@click.option("--frames", default=1600, show_default=True, type=int, help="Video frames.")
@click.option("--fps", default=60, show_default=True, type=int)
@click.option("--video_name", default="video_gan_2.mp4", show_default=True)
@click.option(
    "--encoder",
    type=click.Choice(["auto", "ffmpeg", "imageio", "gif"]),
    default="auto",
    show_default=True,
    help="auto: ffmpeg on the PATH, else imageio-ffmpeg, else an animated GIF.",
)
@_WHICH
@_PRECISION
@click.pass_context
def interpolate(
    context: click.Context,
    cuda_devices: str,
    load_checkpoint: str,
    seed: int,
    out: str,
    device: str,
    batch_size: int,
    anchors: int,
    frames: int,
    fps: int,
    video_name: str,
    encoder: str,
    which: str,
    precision: str,
) -> None:
    """Render a latent-space interpolation video from a checkpoint."""
    from .sample import choose_video_encoder, render_interpolation

    allow = ("ffmpeg", "imageio", "gif") if encoder == "auto" else (encoder,)
    try:
        chosen = choose_video_encoder(allow=allow)
    except ValueError as error:
        raise click.BadParameter(
            f"{encoder} is not available on this machine", param_hint="--encoder"
        ) from error
    generator = _seeded_generator(context, cuda_devices, load_checkpoint, device, which, seed)
    frame_files, video = render_interpolation(
        generator,
        out,
        seed=seed,
        anchors=anchors,
        frames=frames,
        batch_size=batch_size,
        fps=fps,
        video_name=video_name,
        encoder=chosen,
        precision=precision,
    )
    click.echo(f"[multistylegan] {len(frame_files)} frames in {frame_files[0].parent}, video {video}")
