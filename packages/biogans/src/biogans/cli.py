"""Console scripts: ``biogans-train`` (= the original ``main.py``, every mode and flag),
``biogans-make-splits``, ``biogans-nearest-neighbors``, ``biogans-report`` (Tables 1-3) and
``biogans-figures`` (class grids, cell-cycle GIF)."""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Sequence
from pathlib import Path

import torch
from insilico_core.legacy import load_torch_file
from insilico_core.train import resolve_device, to_channels_last

from .checkpoints import load_original_checkpoint, load_weights_into
from .data import BatchStream, ConditionalCachedDataset, make_dataset, make_loader
from .evaluation import (
    ImageBatches,
    c2st_generated_vs_real,
    c2st_real_vs_real,
    classifier_factory,
    format_scores,
)
from .figures import cell_cycle_gif, class_sample_grids
from .models import (
    CONDITIONAL_TYPES,
    MULTICHANNEL_TYPES,
    SEPARABLE_TYPES,
    MultiChannelAsConditional,
    build_model,
)
from .nearest_neighbors import build_neighbour_file
from .noise import load_fixed_noise, make_fixed_noise
from .options import parse_options
from .reconstruction import run_reconstruction, summary_lines
from .report import format_table, table1, table2, table3, write_csv
from .samples import save_sample_grids
from .splits import LAYOUTS, make_splits
from .train import TrainConfig, make_optimizers, train


def _fail(prog: str, error: Exception) -> int:
    print(f"{prog}: error: {error}", file=sys.stderr)
    return 2


def run(options: argparse.Namespace) -> None:
    """Execute one main.py run (``options`` from :func:`biogans.options.parse_options`)."""
    experiment = Path(options.experiment)
    experiment.mkdir(parents=True, exist_ok=True)
    print("Random Seed: ", options.random_seed)
    random.seed(options.random_seed)
    torch.manual_seed(options.random_seed)
    device = resolve_device("cuda" if options.cuda else options.device)
    if (
        options.precision == "bf16"
        and device.type == "cpu"
        and "AVX512" not in torch.backends.cpu.get_cpu_capability()
    ):
        print(
            "warning: this CPU has no bf16 instructions; --precision bf16 will be much slower than fp32",
            file=sys.stderr,
        )
    image_size = (options.image_height, options.image_width)
    mode = options.mode
    if options.dataset_type == "fake-multichannel" and not options.red_nn_file:
        raise ValueError("--dataset_type fake-multichannel needs --red_nn_file")
    neighbours = load_torch_file(options.red_nn_file) if options.dataset_type == "fake-multichannel" else None

    def dataset(root: str, flips: bool):
        return make_dataset(options.dataset_type, root, image_size, flips, options.num_workers, neighbours)

    def loader(data, shuffle: bool):
        return make_loader(data, options.batch_size, shuffle, options.num_workers, options.random_seed)

    def fixed_noise() -> torch.Tensor:
        """``--fixed_noise_file``, else a new batch (grouped by shared red z for separable models)."""
        if options.fixed_noise_file:
            return load_fixed_noise(options.fixed_noise_file, options.nz).to(device)
        separable = options.model_type in SEPARABLE_TYPES
        return make_fixed_noise(options.batch_size, options.nz, options.red_portion, separable, device)

    train_data = test_data = None
    if mode not in ("reconstruction", "reconstruction-separable"):
        train_data = dataset(options.dataroot, True)
        class_names = train_data.classes
    if mode != "train":
        test_data = dataset(options.test_data, options.flip_test_data)
        if train_data is not None and mode != "eval-real-vs-real" and test_data.classes != class_names:
            raise ValueError(
                f"classes differ: {class_names} in --dataroot, {test_data.classes} in --test_data"
            )
        if train_data is None or mode == "eval-real-vs-real":
            class_names = test_data.classes
    n_classes = len(class_names)
    conditional_data = isinstance(train_data or test_data, ConditionalCachedDataset)
    if options.model_type in CONDITIONAL_TYPES and not conditional_data and mode != "eval-real-vs-real":
        raise ValueError(f"--model_type {options.model_type} needs --dataset_type conditional-cached")
    judged_per_class = options.model_type in MULTICHANNEL_TYPES and mode != "train"
    if conditional_data and options.model_type not in CONDITIONAL_TYPES and not judged_per_class:
        raise ValueError(
            f"--model_type {options.model_type} is trained on joint data, not conditional-cached"
        )

    G, D = build_model(
        options.model_type,
        options.GAN_algorithm,
        image_size,
        options.nz,
        options.ngf,
        options.ndf,
        2,
        n_classes,
        options.red_portion,
        options.n_extra_layers,
    )
    for name, network, path in (("netG", G, options.netG), ("netD", D, options.netD)):
        if path:
            print(f"Loading {name} from", path)
            load_weights_into(network, path, name)
    G, D = G.to(device), D.to(device)
    if options.channels_last:
        G, D = to_channels_last(G), to_channels_last(D)
    multichannel = options.model_type in MULTICHANNEL_TYPES
    if multichannel and mode in ("eval-gen-vs-real", "reconstruction", "reconstruction-separable"):
        G = MultiChannelAsConditional(n_classes, G)

    if mode == "train":
        noise = fixed_noise()
        optD, optG = make_optimizers(
            G, D, options.optimizer, options.lrD, options.lrG, options.beta1, options.beta2
        )
        nc = n_classes + 1 if multichannel else 2
        stream = BatchStream(loader(train_data, True), nc, device)
        config = TrainConfig(
            options.GAN_algorithm,
            options.num_iter,
            options.num_disc_iters,
            options.wgan_clamp_lower,
            options.wgan_clamp_upper,
            options.wgangp_lambda,
            str(experiment),
            options.save_iter,
            options.image_iter,
            options.prefix_fake_samples,
            options.prefix_real_samples,
            options.precision,
            options.resume,
        )
        train(G, D, optG, optD, stream, noise, config, class_names)
        return

    c2st_options = {
        "algorithm": options.GAN_algorithm,
        "num_iter": options.num_iter,
        "batch_size": options.batch_size,
        "optimizer": options.optimizer,
        "lr": options.lrD,
        "betas": (options.beta1, options.beta2),
        "wgan_clamp": (options.wgan_clamp_lower, options.wgan_clamp_upper),
        "wgangp_lambda": options.wgangp_lambda,
        "seed": options.random_seed,
        "device": device,
    }
    classifier = classifier_factory(
        options.model_type, options.GAN_algorithm, image_size, options.ndf, n_classes, options.n_extra_layers
    )
    if mode == "eval-gen-vs-real":
        G.eval()
        with torch.no_grad():
            save_sample_grids(G(fixed_noise()), experiment / options.prefix_fake_samples, class_names)
        result = c2st_generated_vs_real(
            G,
            classifier,
            ImageBatches(loader(train_data, True)),
            ImageBatches(loader(test_data, False)),
            nz=options.nz,
            **c2st_options,
        )
    elif mode == "eval-real-vs-real":
        extra = [
            ImageBatches(loader(dataset(root, options.flip_test_data), True))
            for root in options.extra_test_sets
        ]
        result = c2st_real_vs_real(
            classifier,
            ImageBatches(loader(train_data, True)),
            ImageBatches(loader(test_data, True)),
            *extra,
            **c2st_options,
        )
    else:
        if not isinstance(test_data, ConditionalCachedDataset):
            raise ValueError(f"--mode {mode} needs --dataset_type conditional-cached")
        red_portion = options.red_portion if mode == "reconstruction-separable" else None
        results = run_reconstruction(
            G,
            ImageBatches(loader(test_data, False)),
            class_names,
            options.dataroot,
            experiment,
            options.nz,
            red_portion,
            options.reconstruction_trials,
            options.reconstruction_steps,
            device=device,
        )
        print("\n".join(summary_lines(results)))
        return
    print(format_scores(result, options.GAN_algorithm, class_names))


def main(argv: Sequence[str] | None = None) -> int:
    """``biogans-train``: the original main.py with all its modes and flags."""
    try:
        run(parse_options(argv))
    except (ValueError, FileNotFoundError) as error:
        return _fail("biogans-train", error)
    return 0


def make_splits_main(argv: Sequence[str] | None = None) -> int:
    """``biogans-make-splits SOURCE TARGET``: the 10 random halves per class of the C2ST experiments."""
    parser = argparse.ArgumentParser(prog="biogans-make-splits", description=make_splits.__doc__)
    parser.add_argument("source", help="folder with one sub-folder of images per class")
    parser.add_argument("target", help="output folder (split{k}/{train,test}/...)")
    parser.add_argument("--num_splits", type=int, default=10)
    parser.add_argument("--classes", nargs="+", default=None, help="classes to split (default: all)")
    parser.add_argument(
        "--layout", choices=LAYOUTS, default="joint", help="joint: <C>/<file>; conditional: <C>/<C>/<file>"
    )
    parser.add_argument("--copy", action="store_true", help="copy files instead of relative symlinks")
    args = parser.parse_args(argv)
    try:
        target = make_splits(args.source, args.target, args.num_splits, args.classes, args.layout, args.copy)
    except (ValueError, FileNotFoundError, FileExistsError) as error:
        return _fail(parser.prog, error)
    print(f"wrote {args.num_splits} splits to {target}")
    return 0


def nearest_neighbors_main(argv: Sequence[str] | None = None) -> int:
    """``biogans-nearest-neighbors``: the red-channel neighbour file of the multi-channel models."""
    parser = argparse.ArgumentParser(prog="biogans-nearest-neighbors")
    parser.add_argument(
        "--query_datasets", nargs="+", required=True, help="e.g. the LIN train and test folders"
    )
    parser.add_argument("--search_dataset", required=True, help="the LIN train folder")
    parser.add_argument(
        "--out", required=True, help="e.g. red_neighbors_LIN_Normalized_WT_size-48-80_all_to_train.pth"
    )
    parser.add_argument(
        "--classes", nargs="+", default=None, help="default: the class folders of the search set"
    )
    parser.add_argument("--num_neighbors", type=int, default=5)
    parser.add_argument("--cuda", action="store_true")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    try:
        device = resolve_device("cuda" if args.cuda else args.device)
        path = build_neighbour_file(
            args.query_datasets, args.search_dataset, args.out, args.classes, args.num_neighbors, device
        )
    except (ValueError, FileNotFoundError) as error:
        return _fail(parser.prog, error)
    print(f"wrote {path}")
    return 0


def report_main(argv: Sequence[str] | None = None) -> int:
    """``biogans-report table1|table2|table3``: the paper's tables as CSV and a printed table."""
    parser = argparse.ArgumentParser(prog="biogans-report")
    sub = parser.add_subparsers(dest="table", required=True)
    for name in ("table1", "table2"):
        p = sub.add_parser(name)
        p.add_argument("--logs", required=True, help="folder of evaluation logs")
        p.add_argument("--classes", nargs="+", required=True)
        p.add_argument("--algorithm", default="WGAN-GP")
        p.add_argument("--csv", required=True)
    p = sub.add_parser("table3")
    p.add_argument(
        "--run",
        nargs=3,
        action="append",
        required=True,
        metavar=("MODEL", "KIND", "PTH"),
        help="MODEL joint|red-first path/to/reconstruction_data.pth (repeat)",
    )
    p.add_argument("--csv", required=True)
    args = parser.parse_args(argv)
    try:
        if args.table == "table1":
            rows = table1(args.logs, args.classes, args.algorithm)
        elif args.table == "table2":
            rows = table2(args.logs, args.classes, args.algorithm)
        else:
            runs: dict[str, dict[str, str]] = {}
            for model, kind, path in args.run:
                if kind not in ("joint", "red-first"):
                    raise ValueError(f"--run KIND must be joint or red-first, got {kind!r}")
                runs.setdefault(model, {})[kind] = path
            rows = table3(runs)
    except (ValueError, FileNotFoundError) as error:
        return _fail(parser.prog, error)
    write_csv(rows, args.csv)
    print(format_table(rows))
    return 0


def figures_main(argv: Sequence[str] | None = None) -> int:
    """``biogans-figures``: per-class sample grids and, for conditional generators, the cell-cycle GIF."""
    parser = argparse.ArgumentParser(prog="biogans-figures")
    parser.add_argument("--netG", required=True, help="netG_iter_N.pth (original layout) of the model")
    parser.add_argument("--model_type", default=None, help="checked against the file when given")
    parser.add_argument("--class_names", nargs="+", default=None, help="default: class0, class1, ...")
    parser.add_argument("--out", required=True)
    parser.add_argument("--random_seed", type=int, default=1)
    parser.add_argument("--fixed_noise_file", default="")
    parser.add_argument("--num_samples", type=int, default=64)
    parser.add_argument("--steps_per_leg", type=int, default=64)
    args = parser.parse_args(argv)
    try:
        G = load_original_checkpoint(args.netG, args.model_type)
        config = G.original_config
        n_classes = config.get("n_classes", 1)
        names = args.class_names or [f"class{k}" for k in range(n_classes)]
        if config["model_type"] in CONDITIONAL_TYPES and len(names) != n_classes:
            raise ValueError(f"--class_names: the generator has {n_classes} classes, got {len(names)} names")
        torch.manual_seed(args.random_seed)
        if args.fixed_noise_file:
            noise = load_fixed_noise(args.fixed_noise_file, config["nz"])
        else:
            separable = config["model_type"] in SEPARABLE_TYPES
            noise = make_fixed_noise(args.num_samples, config["nz"], config["red_portion"], separable)
        written = class_sample_grids(G, noise, args.out, names)
        if config["model_type"] in CONDITIONAL_TYPES:
            anchors = torch.randn(3, config["nz"], 1, 1)
            written.append(cell_cycle_gif(G, anchors, Path(args.out) / "cell_cycle.gif", args.steps_per_leg))
    except (ValueError, FileNotFoundError) as error:
        return _fail(parser.prog, error)
    print("\n".join(str(p) for p in written))
    return 0
