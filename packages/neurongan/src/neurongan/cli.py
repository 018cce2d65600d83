"""Console scripts: ``neurongan-train`` (train.py's flags), ``neurongan-eval`` (eval.py's single-dash flags
plus ``--seed`` / ``--outdir``), ``neurongan-fetch`` (replaces the interactive setup.py)."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

from .config import TrainConfig

_FLAG_TYPES: dict[str, type] = {
    "root_dir": str,
    "dataset_dir": str,
    "images_dir": str,
    "weights_dir": str,
    "plots_dir": str,
    "n_critic": int,
    "unroll_steps": int,
    "weights_init": str,
    "grad_pen_lambda": float,
    "transit_period": int,
    "alpha_step": float,
    "learning_rate": float,
    "batch_size": int,
    "N_epochs": int,
    "beta1": float,
    "sim_loss_lambda": float,
    "sim_loss_lambda_decay_rate": float,
    "drift_epsilon": float,
    "ID": str,
    "seed": int,
    "checkpointing_period": int,
    "translation": float,
    "N_workers": int,
    # new
    "N_epochs_session": int,
    "snapshot_period": int,
    "features_preset": str,
    "logs_dir": str,
    "image_preprocessing": str,
}
_SWITCHES = ("wgan", "adapt_critic", "pggan", "RMSprop", "resume", "pin_memory", "channels_last")


def train_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="neurongan-train",
        argument_default=argparse.SUPPRESS,
        allow_abbrev=False,
        description="Train neuron-gan. Defaults come from the built-in config (the original "
        "configs/config.py), then --configs NAME (a .toml or .py file, or configs/NAME.toml|.py), "
        "then the flags given.",
    )
    parser.add_argument("--configs", help="config file name in ./configs or a path to a .toml / .py file")
    defaults = TrainConfig()
    for name, kind in _FLAG_TYPES.items():
        parser.add_argument(f"--{name}", type=kind, help=f"default: {getattr(defaults, name)!r}")
    for name in _SWITCHES:
        parser.add_argument(f"--{name}", action="store_true", help=f"default: {getattr(defaults, name)!r}")
    parser.add_argument(
        "--transit_sch", type=float, nargs="*", help="epochs at which a resolution transition starts"
    )
    parser.add_argument("--device", choices=["default", "auto", "cpu", "cuda", "mps"])
    parser.add_argument("--precision", choices=["fp32", "bf16"], help="new: bf16 autocast (fp32 = original)")
    parser.add_argument("--dis_weights", help="accepted for compatibility; unused (as in the original)")
    parser.add_argument("--no_progress", action="store_true", help="new: no progress bar")
    return parser


def train_main(argv: list[str] | None = None) -> None:
    """``neurongan-train [--configs NAME] [--flag value ...]``."""
    from .config import build_config
    from .train import train

    args = vars(train_parser().parse_args(argv))
    config_file = args.pop("configs", None)
    show_progress = not args.pop("no_progress", False)
    if args.pop("dis_weights", None):
        warnings.warn("--dis_weights is unused (as in the original)", stacklevel=1)
    if args.get("unroll_steps"):
        warnings.warn("--unroll_steps is unused (as in the original)", stacklevel=1)
    if "transit_sch" in args:
        args["transit_sch"] = [int(t) for t in args["transit_sch"]]
    if args.get("device") == "auto":
        args["device"] = "default"
    try:
        config = build_config(config_file, args)
        print(
            f"neurongan-train: ID {config.ID}, checkpoint {config.checkpoint_path}, samples in "
            f"{config.samples_sub_dir}"
        )
        train(config, show_progress=show_progress)
    except (ValueError, FileNotFoundError) as error:  # bad configuration, data or checkpoint
        sys.exit(f"neurongan-train: {error}")


def _find_weights(name: str) -> Path:
    path = Path(name)
    if path.is_file():
        return path
    in_weights = Path("weights") / name
    if in_weights.is_file():
        return in_weights
    raise FileNotFoundError(
        f"weights file {name} not found (looked at {path} and {in_weights}); "
        "run neurongan-fetch to see where the published weights are"
    )


def eval_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="neurongan-eval",
        allow_abbrev=False,
        description="Generate samples from a neuron-gan checkpoint.",
    )
    parser.add_argument("-n", type=int, default=16, help="number of generated samples (default 16)")
    parser.add_argument(
        "-weights",
        default="gen_dis_default.pth",
        help="checkpoint path (or a file name inside ./weights, as the original)",
    )
    parser.add_argument("-output", default="samples_default.png", help="grid PNG to write")
    parser.add_argument("--seed", type=int, default=0, help="new: latent seed (the original was unseeded)")
    parser.add_argument("--outdir", help="new: also write every sample as its own file in this folder")
    parser.add_argument(
        "--format",
        choices=["png", "tiff"],
        default="png",
        help="new: per-sample format for --outdir (png 8-bit; tiff float32 in [-1, 1])",
    )
    parser.add_argument("--device", default="cpu", help="cpu (default, as the original), cuda, mps or auto")
    parser.add_argument(
        "--contiguous",
        action="store_true",
        help="keep NCHW tensors (default: channels-last, ~1.5x faster on CPU; same values up to rounding)",
    )
    parser.add_argument(
        "--trust",
        action="store_true",
        help="load the file with full unpickling (only for files from a trusted source)",
    )
    return parser


def eval_main(argv: list[str] | None = None) -> None:
    """``neurongan-eval -n 20 -weights PATH -output FILE [--seed S] [--outdir DIR]``."""
    from insilico_core.data import write_png, write_tiff
    from insilico_core.train import resolve_device, to_channels_last

    from .checkpoints import load_checkpoint, load_generator
    from .sampling import generate, save_sample_grid

    args = eval_parser().parse_args(argv)
    if args.n < 1:
        sys.exit("neurongan-eval: -n must be at least 1")
    try:
        data = load_checkpoint(_find_weights(args.weights), trust=args.trust)
        generator = load_generator(data, map_location=resolve_device(args.device))
        if not args.contiguous:
            to_channels_last(generator)
    except (ValueError, FileNotFoundError) as error:
        sys.exit(f"neurongan-eval: {error}")
    images = generate(generator, args.n, seed=args.seed)
    grid = save_sample_grid(images, args.output, final_size=generator.image_size_max)
    print(f"wrote {grid} ({args.n} samples at {generator.image_size} px, alpha {float(generator.alpha):g})")
    if args.outdir:
        outdir = Path(args.outdir)
        for index, image in enumerate(images[:, 0].numpy()):
            if args.format == "png":
                pixels = np.clip(np.floor((image + 1) * 127.5 + 0.5), 0, 255).astype(np.uint8)
                write_png(outdir / f"sample_{index:04d}.png", pixels)
            else:
                write_tiff(outdir / f"sample_{index:04d}.tif", image.astype(np.float32))
        print(f"wrote {len(images)} {args.format.upper()} files to {outdir}")


def fetch_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="neurongan-fetch",
        allow_abbrev=False,
        description="Show where neuron-gan's dataset and weights are published, verify a local copy, or "
        "download one (only when asked).",
    )
    parser.add_argument(
        "--verify", metavar="FILE", help="print the SHA-256 of FILE (and compare with --sha256)"
    )
    parser.add_argument("--sha256", help="expected SHA-256 (hex) for --verify or --download")
    parser.add_argument(
        "--download", choices=["dataset", "weights"], help="download and extract this archive"
    )
    parser.add_argument("--dest", help="folder to extract into (default data/ or weights/)")
    parser.add_argument("--url", help="download from this address instead of the published one")
    return parser


def fetch_main(argv: list[str] | None = None) -> None:
    """``neurongan-fetch [--verify FILE [--sha256 HEX]] [--download dataset|weights [--dest DIR]]``."""
    from . import fetch

    args = fetch_parser().parse_args(argv)
    if not args.verify and not args.download:
        print(fetch.describe())
        return
    try:
        if args.verify:
            digest = fetch.sha256_of(args.verify) if Path(args.verify).is_file() else None
            if digest is None:
                raise FileNotFoundError(f"{args.verify} does not exist")
            print(f"{digest}  {args.verify}")
            if args.sha256:
                if not fetch.verify(args.verify, args.sha256):
                    sys.exit(f"neurongan-fetch: {args.verify} does NOT match {args.sha256}")
                print("OK: checksum matches")
        if args.download:
            path = fetch.download(args.download, args.dest, url=args.url, expected_sha256=args.sha256)
            print(f"downloaded {args.download} to {path}")
    except (ValueError, FileNotFoundError, RuntimeError, OSError) as error:
        sys.exit(f"neurongan-fetch: {error}")
