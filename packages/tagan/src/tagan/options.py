"""Command-line options of TA-GAN, with the original flag names, defaults and parsing order.

Parsing runs as in the original: base + phase options (``allow_abbrev`` on, so the README's ``--continue``
means ``--continue_train``), ``parse_known_args``, then the chosen model's ``modify_commandline_options``
sets its defaults and adds its flags, then a strict parse. Differences from the original (each documented in
the package README): ``--num_gens`` is defined once (the original crashed for TAGAN_SAureus / TAGAN_live);
``--gpu_ids`` falls back to the CPU when CUDA is absent; ``--load_size`` is raised to ``--crop_size`` when
it is only a resize target that no preprocess uses; new flags ``--seed``, ``--keep_bit_depth``,
``--precision``, ``--channels_last`` (train and test), ``--output_dtype``, ``--legacy_names`` (test).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import torch

from tagan.data.modes import DATASET_MODES, resolve_dataset_mode
from tagan.models import find_model_class

PRECISIONS = ("fp32", "bf16", "fp16")
# help of the original flags that change nothing here
UNUSED = "unused (kept for command-line compatibility)"
VISDOM_UNSUPPORTED = "unused: visdom display is not supported"


def add_base_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by training and test (the original base_options.py)."""
    add = parser.add_argument
    add("--dataroot", required=True, help="dataset root; images are read from <dataroot>/<phase>")
    add(
        "--name",
        type=str,
        default="experiment_name",
        help="experiment name: checkpoints/<name>, results/<name>",
    )
    add(
        "--gpu_ids",
        type=str,
        default="0",
        help="gpu ids, e.g. 0 or 0,1; -1 for CPU (implied when CUDA is absent)",
    )
    add("--checkpoints_dir", type=str, default="./checkpoints", help="models are saved here")
    add("--model", type=str, default="cycle_gan", help="which model (see tagan.models.MODEL_NAMES)")
    add("--input_nc", type=int, default=1, help="# of input image channels")
    add("--output_nc", type=int, default=1, help="# of output image channels")
    add("--ngf", type=int, default=64, help="# of generator filters in the last conv layer (also S filters)")
    add("--ndf", type=int, default=64, help="# of discriminator filters in the first conv layer")
    add("--nsf", type=int, default=16, help=UNUSED)
    add("--netD", type=str, default="basic", help="discriminator: basic | n_layers | pixel")
    add(
        "--netG",
        type=str,
        default="resnet_9blocks",
        help="generator: resnet_9blocks | resnet_6blocks | unet_256 | unet_128",
    )
    add("--netS", type=str, default="unet_16", help="task network: unet_32 | unet_128 | resnet_6blocks")
    add("--n_layers_D", type=int, default=3, help="only used if netD==n_layers")
    add("--norm", type=str, default="instance", help="instance | batch | none")
    add("--nl", type=str, default="relu", help=UNUSED)
    add("--nz", type=int, default=8, help=UNUSED)
    add("--init_type", type=str, default="normal", help="normal | xavier | kaiming | orthogonal")
    add("--init_gain", type=float, default=0.02, help="scaling factor for normal, xavier and orthogonal")
    add("--no_dropout", action="store_true", help="no dropout in the generator's ResNet blocks")
    add("--upsample", type=str, default="basic", help=UNUSED)
    add(
        "--dataset_mode",
        type=str,
        default="aligned",
        help=f"how data are loaded: {' | '.join(DATASET_MODES)}",
    )
    add("--direction", type=str, default="AtoB", help="AtoB or BtoA (generic TAGAN, pix2pix, cycle_gan)")
    add("--serial_batches", action="store_true", help="take images in order, otherwise shuffle")
    add("--num_threads", default=4, type=int, help="# data loading workers")
    add("--batch_size", type=int, default=1, help="input batch size")
    add("--load_size", type=int, default=286, help="resize target of the resize / scale_width preprocess")
    add("--crop_size", type=int, default=256, help="crop size")
    add("--max_dataset_size", type=int, default=math.inf, help="use at most this many (sorted) files")
    add(
        "--preprocess",
        type=str,
        default="none",
        help="keywords: crop, center, rotation, tophalf, bottomhalf, resize, scale_width, e.g. crop_rotation",
    )
    add("--no_flip", action="store_true", help="no random flips")
    add("--display_winsize", type=int, default=256, help="image width in the HTML pages")
    add("--psf", type=int, default=None, help=UNUSED)
    add("--bicubic", type=int, default=None, help=UNUSED)
    add(
        "--epoch",
        type=str,
        default="latest",
        help="checkpoint prefix to load (latest, 1000, best, pretrained)",
    )
    add("--load_iter", type=int, default=0, help="if > 0, load the iter_<load_iter> checkpoints")
    add("--verbose", action="store_true", help="print the network architectures")
    add("--suffix", default="", type=str, help="name += '_' + suffix.format(**options), e.g. {model}_{netG}")
    add("--where_add", type=str, default="all", help=UNUSED)
    add("--seed", type=int, default=None, help="seed python, numpy and torch RNGs (default: not seeded)")
    add(
        "--keep_bit_depth",
        action="store_true",
        help="scale integer images by their dtype's full range instead of the original 8-bit conversion "
        "(values above 255 are clipped by default, as the released networks expect)",
    )
    add(
        "--legacy_live_train_scaling",
        action="store_true",
        help="live_train as the original: [0, 1] scaling before the 8-bit conversion (black inputs)",
    )
    add(
        "--precision",
        type=str,
        default="fp32",
        choices=PRECISIONS,
        help="fp32 (default) or bf16 / fp16 autocast (bf16 is the fast choice on recent CPUs)",
    )
    add("--channels_last", action="store_true", help="channels-last memory format (faster with bf16)")


def add_train_options(parser: argparse.ArgumentParser) -> None:
    """Training-only options (the original train_options.py)."""
    add = parser.add_argument
    add("--display_freq", type=int, default=400, help=UNUSED)
    add("--display_ncols", type=int, default=4, help=VISDOM_UNSUPPORTED)
    add("--display_id", type=int, default=-1, help=VISDOM_UNSUPPORTED)
    add("--display_server", type=str, default="http://localhost", help=VISDOM_UNSUPPORTED)
    add("--display_env", type=str, default="main", help=VISDOM_UNSUPPORTED)
    add("--display_port", type=int, default=8097, help=VISDOM_UNSUPPORTED)
    add("--update_html_freq", type=int, default=1000, help=UNUSED)
    add("--print_freq", type=int, default=100, help="print and log losses every print_freq training samples")
    add(
        "--no_html", action="store_true", help="do not save training visuals to <checkpoints_dir>/<name>/web/"
    )
    add("--save_latest_freq", type=int, default=5000, help="save 'latest' every save_latest_freq samples")
    add(
        "--save_epoch_freq",
        type=int,
        default=50,
        help="save '<epoch>' and 'latest' every save_epoch_freq epochs",
    )
    add("--save_by_iter", action="store_true", help="save 'iter_<n>' instead of 'latest' within epochs")
    add("--continue_train", action="store_true", help="continue training from the --epoch checkpoints")
    add("--epoch_count", type=int, default=1, help="first epoch number")
    add("--phase", type=str, default="train", help="train, valid, test, ...")
    add("--niter", type=int, default=100, help="# epochs at the starting learning rate")
    add("--niter_decay", type=int, default=100, help="# epochs to decay the learning rate linearly to zero")
    add("--beta1", type=float, default=0.5, help="Adam beta1")
    add("--lr", type=float, default=0.0002, help="initial Adam learning rate")
    add("--gan_mode", type=str, default="lsgan", help="vanilla | lsgan | wgangp")
    add("--pool_size", type=int, default=50, help="size of the buffer of generated images (cycle models)")
    add("--lr_policy", type=str, default="linear", help="linear | step | plateau | cosine")
    add(
        "--lr_decay_iters",
        type=int,
        default=50,
        help="step policy: multiply by 0.1 every lr_decay_iters epochs",
    )
    add(
        "--save_best",
        action="store_true",
        help="evaluate on <dataroot>/valid after each epoch and save 'best' when validation S_fake drops",
    )


def add_test_options(parser: argparse.ArgumentParser) -> None:
    """Test-only options (the original test_options.py); --num_gens defined once for every model."""
    add = parser.add_argument
    add("--ntest", type=int, default=math.inf, help=UNUSED)
    add("--results_dir", type=str, default="./results/", help="results are saved here")
    add("--aspect_ratio", type=float, default=1.0, help="resize saved images to width*aspect_ratio (bicubic)")
    add("--phase", type=str, default="test", help="train, valid, test, or a folder name such as 20201130_cs4")
    add(
        "--eval",
        action="store_true",
        help="eval mode: BatchNorm running statistics, no dropout (deterministic)",
    )
    add("--num_test", type=int, default=50, help="how many test images to run (the original default, 50)")
    add("--num_gens", type=int, default=1, help="how many generations per input (uncertainty from dropout)")
    add(
        "--output_dtype",
        type=str,
        default="uint16",
        choices=("uint16", "float32"),
        help="uint16: rint((t+1)/2*255) as the original; float32: the network's values unquantised",
    )
    add(
        "--legacy_names",
        action="store_true",
        help="name outputs as the original did (<first character of the path>_<label>.tif, overwriting)",
    )
    parser.set_defaults(model="test", load_size=256)


def build_parser(is_train: bool) -> argparse.ArgumentParser:
    """The parser with base and phase options, before the model adds its own."""
    parser = argparse.ArgumentParser(
        prog="tagan-train" if is_train else "tagan-test",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_base_options(parser)
    (add_train_options if is_train else add_test_options)(parser)
    return parser


def cuda_device_ids(gpu_ids: str) -> list[int]:
    """Parse ``--gpu_ids`` (comma list, negatives dropped). Without CUDA, ids fall back to the CPU with a
    one-line notice instead of the original crash."""
    try:
        ids = [int(part) for part in str(gpu_ids).split(",") if part.strip() != ""]
    except ValueError as error:
        raise ValueError(
            f"--gpu_ids {gpu_ids!r} must be a comma-separated list of integers, e.g. 0 or 0,1 or -1"
        ) from error
    ids = [i for i in ids if i >= 0]
    if ids and not torch.cuda.is_available():
        print(f"tagan: CUDA is not available, running on the CPU (--gpu_ids {gpu_ids} replaced by -1)")
        return []
    if ids and max(ids) >= torch.cuda.device_count():
        raise ValueError(f"--gpu_ids {gpu_ids}: only {torch.cuda.device_count()} CUDA devices are visible")
    return ids


def parse_options(argv: list[str] | None, is_train: bool, save: bool = True) -> argparse.Namespace:
    """Parse ``argv`` as the original train.py / test.py; writes ``<checkpoints_dir>/<name>/<phase>_opt.txt``
    when ``save``. Returns the options with ``isTrain``, ``gpu_ids`` as a list and ``device``."""
    parser = build_parser(is_train)
    known, _ = parser.parse_known_args(argv)
    model_class = find_model_class(known.model)
    model_class.modify_commandline_options(parser, is_train)
    known, _ = parser.parse_known_args(argv)
    resolve_dataset_mode(known.dataset_mode)
    opt = parser.parse_args(argv)
    opt.model = model_class.model_name
    opt.dataset_mode = resolve_dataset_mode(opt.dataset_mode)
    opt.isTrain = is_train
    if opt.suffix:
        opt.name = f"{opt.name}_{opt.suffix.format(**vars(opt))}"
    check_sizes(opt)
    opt.gpu_ids = cuda_device_ids(opt.gpu_ids)
    opt.device = torch.device(f"cuda:{opt.gpu_ids[0]}") if opt.gpu_ids else torch.device("cpu")
    if opt.gpu_ids:
        torch.cuda.set_device(opt.gpu_ids[0])
    if save:
        write_options(opt, parser)
    return opt


def check_sizes(opt: argparse.Namespace) -> None:
    """The original asserted ``load_size >= crop_size`` in every dataset, even where no resize happens (the
    README's live test command failed on it): raise load_size where it is unused, refuse it where it is."""
    if opt.crop_size <= 0:
        raise ValueError(f"--crop_size must be positive, got {opt.crop_size}")
    if opt.load_size < opt.crop_size:
        if "resize" in opt.preprocess or "scale_width" in opt.preprocess:
            raise ValueError(
                f"--load_size {opt.load_size} is smaller than --crop_size {opt.crop_size} with --preprocess "
                f"{opt.preprocess}; the resized image must be at least as large as the crop"
            )
        opt.load_size = opt.crop_size


def format_options(opt: argparse.Namespace, parser: argparse.ArgumentParser) -> str:
    """The original options listing: sorted, ``'{:>25}: {:<30}'`` with ``[default: X]`` where changed."""
    lines = ["----------------- Options ---------------"]
    for key, value in sorted(vars(opt).items()):
        default = parser.get_default(key)
        comment = f"\t[default: {default}]" if value != default else ""
        lines.append(f"{key!s:>25}: {value!s:<30}{comment}")
    lines.append("----------------- End -------------------")
    return "\n".join(lines)


def write_options(opt: argparse.Namespace, parser: argparse.ArgumentParser) -> Path:
    """Print the options and write them to ``<checkpoints_dir>/<name>/<phase>_opt.txt``."""
    message = format_options(opt, parser)
    print(message)
    directory = Path(opt.checkpoints_dir) / opt.name
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{opt.phase}_opt.txt"
    path.write_text(message + "\n")
    return path


def default_options(model: str, is_train: bool = True, **overrides) -> argparse.Namespace:
    """The options a model gets with no flags (a placeholder dataroot), then ``overrides`` applied: the basis
    of :func:`tagan.build_network`. Unknown override names raise ValueError."""
    parser = build_parser(is_train)
    model_class = find_model_class(model)
    model_class.modify_commandline_options(parser, is_train)
    opt = parser.parse_args(["--dataroot", "."])
    for key, value in overrides.items():
        if not hasattr(opt, key):
            raise ValueError(f"unknown option {key!r} for model {model}; see tagan-train --help")
        setattr(opt, key, value)
    opt.model = model_class.model_name
    opt.isTrain = is_train
    opt.gpu_ids = []
    opt.device = torch.device("cpu")
    return opt
