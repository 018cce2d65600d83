"""Command-line flags of ``main.py`` (every name and default of the original) plus a few of ours.

String choices (``--mode``, ``--model_type``, ``--dataset_type``, ``--GAN_algorithm``, ``--optimizer``)
are matched case-insensitively and exactly. Ours: ``--device`` (auto: CUDA when present, else CPU; the
original's ``--cuda`` still selects CUDA), ``--precision`` (fp32 | bf16 autocast), ``--channels_last``,
``--flip_test_data`` (the original flipped held-out data at random too), ``--resume`` (continue from the
newest ``resume_*.pt`` in ``--experiment``).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from insilico_core.train import PRECISIONS

from .choices import canonical_choice
from .data import DATASET_TYPES
from .losses import ALGORITHMS, canonical_algorithm
from .models import MODEL_TYPES, canonical_model_type

MODES = ("train", "eval-gen-vs-real", "eval-real-vs-real", "reconstruction", "reconstruction-separable")
OPTIMIZERS = ("default", "adam", "rmsprop")

#: defaults picked by ``--optimizer default`` and unset ``--lrD/--lrG/--beta1/--beta2``, per algorithm
ALGORITHM_DEFAULTS = {
    "GAN": {"optimizer": "adam", "lr": 2e-4, "beta1": 0.5, "beta2": 0.999},
    "WGAN": {"optimizer": "rmsprop", "lr": 5e-5, "beta1": 0.0, "beta2": 0.9},
    "WGAN-GP": {"optimizer": "adam", "lr": 1e-4, "beta1": 0.0, "beta2": 0.9},
}


def _choice(choices: Sequence[str], flag: str):
    def parse(value: str) -> str:
        try:
            return canonical_choice(value, choices, flag)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{flag}: {value!r} is not one of {', '.join(choices)}"
            ) from None

    return parse


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of ``biogans-train`` (= the original ``main.py``)."""
    p = argparse.ArgumentParser(
        prog="biogans-train",
        description="BioGANs main.py: train GAN / WGAN / WGAN-GP models, evaluate them with the classifier "
        "two-sample test, reconstruct test images.",
    )
    p.add_argument("--mode", type=_choice(MODES, "--mode"), default="train", help=" | ".join(MODES))
    p.add_argument("--cuda", action="store_true", help="use CUDA (same as --device cuda)")
    p.add_argument("--random_seed", type=int, default=42, help="seed of python's random and torch")
    p.add_argument(
        "--dataroot", type=str, required=True, help="training data root (reconstruction: NN search set)"
    )
    p.add_argument("--dataset_type", type=_choice(DATASET_TYPES, "--dataset_type"), default="folder")
    p.add_argument("--image_height", type=int, default=64)
    p.add_argument("--image_width", type=int, default=64)
    p.add_argument(
        "--test_data", type=str, default="", help="test set root (eval-* and reconstruction modes)"
    )
    p.add_argument(
        "--extra_test_sets", default=[], nargs="+", type=str, help="two held-out sets (real vs real)"
    )
    p.add_argument("--model_type", type=_choice(MODEL_TYPES, "--model_type"), required=True)
    p.add_argument("--nz", type=int, default=100, help="size of the latent z vector")
    p.add_argument("--ngf", type=int, default=64)
    p.add_argument("--ndf", type=int, default=64)
    p.add_argument("--n_extra_layers", type=int, default=0, help="extra 3x3 conv layers in G and D")
    p.add_argument("--netG", default="", help="generator state dict to load (original or ours)")
    p.add_argument("--netD", default="", help="discriminator state dict to load (original or ours)")
    p.add_argument("--red_portion", type=float, default=0.5, help="fraction of channels in the red tower")
    p.add_argument("--independent_gens", action="store_true", help="accepted for compatibility; unused")
    p.add_argument("--red_nn_file", type=str, default="", help="nearest-neighbour file for fake-multichannel")
    p.add_argument("--GAN_algorithm", type=_choice(ALGORITHMS, "--GAN_algorithm"), default="GAN")
    p.add_argument("--batch_size", type=int, default=64, help="batch size (per class for conditional data)")
    p.add_argument("--num_disc_iters", type=int, default=1, help="critic steps per generator step")
    p.add_argument("--wgan_clamp_lower", type=float, default=-0.01)
    p.add_argument("--wgan_clamp_upper", type=float, default=0.01)
    p.add_argument("--wgangp_lambda", type=float, default=10.0)
    p.add_argument("--num_iter", type=int, default=3000, help="generator iterations (C2ST: critic steps)")
    p.add_argument("--optimizer", type=_choice(OPTIMIZERS, "--optimizer"), default="default")
    p.add_argument("--lrD", type=float, default=None)
    p.add_argument("--lrG", type=float, default=None)
    p.add_argument("--beta1", type=float, default=None)
    p.add_argument("--beta2", type=float, default=None)
    p.add_argument("--experiment", default=None, help="output folder (default: samples)")
    p.add_argument("--save_iter", type=int, default=None, help="extra checkpoint period")
    p.add_argument("--image_iter", type=int, default=500, help="sample-grid period")
    p.add_argument("--fixed_noise_file", type=str, default="", help="fixed z batch for sample grids")
    p.add_argument("--prefix_fake_samples", type=str, default="fake_samples")
    p.add_argument("--prefix_real_samples", type=str, default="real_samples")
    p.add_argument(
        "--num_workers", type=int, default=4, help="data loader workers and image-decoding threads"
    )
    ours = p.add_argument_group("insilico additions")
    ours.add_argument("--device", default="auto", help="auto | cpu | cuda | mps (auto: CUDA if available)")
    ours.add_argument("--precision", default="fp32", choices=PRECISIONS, help="fp32 | bf16 autocast | fp16")
    ours.add_argument("--channels_last", action="store_true", help="channels-last memory format")
    ours.add_argument("--flip_test_data", action="store_true", help="flip held-out data too (the original)")
    ours.add_argument("--resume", action="store_true", help="continue training from --experiment/resume_*.pt")
    ours.add_argument("--reconstruction_steps", type=int, default=50, help="L-BFGS steps per trial")
    ours.add_argument("--reconstruction_trials", type=int, default=5, help="random restarts per batch")
    return p


def parse_options(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parsed flags with main.py's derived values filled in: ``experiment``, optimiser defaults per
    algorithm, ``use_batch_norm`` (off for WGAN-GP); ValueError for inconsistent combinations."""
    options = build_parser().parse_args(argv)
    options.model_type = canonical_model_type(options.model_type)
    options.GAN_algorithm = canonical_algorithm(options.GAN_algorithm)
    if options.experiment is None:
        options.experiment = "samples"
    defaults = ALGORITHM_DEFAULTS[options.GAN_algorithm]
    if options.optimizer == "default":
        options.optimizer = defaults["optimizer"]
    for name, key in (("lrD", "lr"), ("lrG", "lr"), ("beta1", "beta1"), ("beta2", "beta2")):
        if getattr(options, name) is None:
            setattr(options, name, defaults[key])
    options.use_batch_norm = options.GAN_algorithm != "WGAN-GP"
    if options.mode == "eval-gen-vs-real" and not options.netG:
        raise ValueError("--mode eval-gen-vs-real needs --netG (the generator to evaluate)")
    if options.mode != "train" and not options.test_data:
        raise ValueError(f"--mode {options.mode} needs --test_data")
    if options.mode == "eval-real-vs-real":
        if len(options.extra_test_sets) != 2:
            raise ValueError("--mode eval-real-vs-real needs --extra_test_sets with exactly two folders")
        if options.dataset_type not in ("folder", "folder-cached"):
            raise ValueError("--mode eval-real-vs-real needs --dataset_type folder or folder-cached")
    if options.batch_size < 1 or options.num_iter < 0 or options.num_disc_iters < 1:
        raise ValueError("--batch_size and --num_disc_iters must be >= 1 and --num_iter >= 0")
    return options
