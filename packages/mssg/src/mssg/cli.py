"""Console scripts with the original flag names and defaults (spec §2); bools take a value (``--cond=True``).

``mssg-train`` = ``stylegan3/train.py`` (single source), ``mssg-train-ms`` = ``train_ms.py`` (two sources,
latent-model imputation), ``mssg-train-real-ms`` = ``train_real_ms.py`` (two sources, imputation plus a
source flag covariate). Differences: no wandb (metrics.jsonl/csv + TensorBoard when installed), ``--device``
and ``--loss-impl`` added, ``--source`` names the source of a per-source data name explicitly, and
``--metrics``
defaults to ``none``: FID/KID are computed offline with ``mssg-eval`` (they need Inception weights on disk).
"""

from __future__ import annotations

import click
from insilico_core.augment import AUGPIPE_PRESETS

from mssg.covariates import DATA_NAMES
from mssg.train import CFGS, TrainOptions, training_loop

_BOOL = click.BOOL


def _common_options(kimg: int, snap: int):
    """The flags train.py and train_ms.py share, with the script's defaults."""

    def decorate(func):
        options = [
            click.option("--outdir", required=True, type=click.Path(file_okay=False), help="Results root"),
            click.option("--cfg", required=True, type=click.Choice(CFGS), help="Base configuration"),
            click.option(
                "--gpus", required=True, type=click.IntRange(min=1), help="Number of GPUs (processes)"
            ),
            click.option("--batch", required=True, type=click.IntRange(min=1), help="Total batch size"),
            click.option(
                "--gamma", required=True, type=click.FloatRange(min=0), help="R1 regularization weight"
            ),
            click.option(
                "--validation_metrics",
                default="fid50k_full",
                show_default=True,
                help="Stored in the options only (as the original)",
            ),
            click.option("--wandb_name", default=None, help="Accepted for compatibility; wandb is not used"),
            click.option("--wandb_pj_v", default=None, help="Accepted for compatibility; wandb is not used"),
            click.option(
                "--cond", type=_BOOL, default=True, show_default=True, help="Train conditional model"
            ),
            click.option(
                "--mirror", type=_BOOL, default=False, show_default=True, help="Enable dataset x-flips"
            ),
            click.option(
                "--aug", type=click.Choice(["noaug", "ada", "fixed"]), default="noaug", show_default=True
            ),
            click.option(
                "--augpipe",
                type=click.Choice(list(AUGPIPE_PRESETS)),
                default="bgc",
                show_default=True,
                help="Augmentation pipeline for --aug ada/fixed (StyleGAN2-ADA preset)",
            ),
            click.option(
                "--exact_resume",
                type=_BOOL,
                default=False,
                show_default=True,
                help="True: --resume is a snapshot; False: a metric-*.jsonl (lowest fid50k_full)",
            ),
            click.option("--resume", default=None, help="Resume from snapshot or metric jsonl"),
            click.option("--resume_kimg", type=click.IntRange(min=0), default=0, show_default=True),
            click.option("--freezed", type=click.IntRange(min=0), default=0, show_default=True),
            click.option(
                "--data_scenario", type=click.Choice(["high", "half"]), default="high", show_default=True
            ),
            click.option("--lambda_", type=click.FloatRange(min=0), default=0.1, show_default=True),
            click.option("--lambda_step", type=click.IntRange(min=1), default=1000, show_default=True),
            click.option("--p", type=click.FloatRange(0, 1), default=0.2, show_default=True),
            click.option("--target", type=click.FloatRange(0, 1), default=0.6, show_default=True),
            click.option("--batch-gpu", "batch_gpu", type=click.IntRange(min=1), default=None),
            click.option("--cbase", type=click.IntRange(min=1), default=16384, show_default=True),
            click.option("--cmax", type=click.IntRange(min=1), default=512, show_default=True),
            click.option("--glr", type=click.FloatRange(min=0), default=None, help="G lr [default: varies]"),
            click.option("--dlr", type=click.FloatRange(min=0), default=0.002, show_default=True),
            click.option("--map-depth", "map_depth", type=click.IntRange(min=1), default=None),
            click.option(
                "--mbstd-group", "mbstd_group", type=click.IntRange(min=1), default=4, show_default=True
            ),
            click.option("--desc", default=None, help="String to include in result dir name"),
            click.option(
                "--metrics",
                default="none",
                show_default=True,
                help="Comma-separated metrics at snapshots, or 'none'",
            ),
            click.option("--kimg", type=click.IntRange(min=1), default=kimg, show_default=True),
            click.option("--tick", type=click.IntRange(min=1), default=4, show_default=True),
            click.option("--snap", type=click.IntRange(min=1), default=snap, show_default=True),
            click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True),
            click.option("--fp32", type=_BOOL, default=False, show_default=True),
            click.option("--nobench", type=_BOOL, default=False, show_default=True),
            click.option("--workers", type=click.IntRange(min=1), default=3, show_default=True),
            click.option("-n", "--dry-run", "dry_run", is_flag=True, help="Print training options and exit"),
            click.option(
                "--loss-impl",
                "loss_impl",
                type=click.Choice(["bce_sigmoid", "softplus"]),
                default="bce_sigmoid",
                show_default=True,
                help="Adversarial loss: MSSG's BCE(sigmoid) or stock softplus",
            ),
            click.option(
                "--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N or mps"
            ),
            click.option(
                "--max-size",
                "max_size",
                type=click.IntRange(min=1),
                default=None,
                help="Use at most this many training images per source",
            ),
        ]
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


def _metrics(value: str) -> list[str]:
    return [] if value.strip().lower() in ("none", "") else [m.strip() for m in value.split(",")]


def _run(
    opts: dict,
    data: list[str],
    data_names: list[str],
    sources: list[str | None],
    use_ground_truth: bool,
    real_multisource: bool = False,
):
    for name in ("validation_metrics", "wandb_name", "wandb_pj_v"):
        opts.pop(name)
    opts["metrics"] = _metrics(opts["metrics"])
    options = TrainOptions(
        data=data,
        data_name=data_names,
        sources=sources,
        use_ground_truth=use_ground_truth,
        real_multisource=real_multisource,
        **opts,
    )
    if options.metrics:
        raise click.BadParameter(
            "metrics during training are not computed here; evaluate snapshots with `mssg-eval fid`",
            param_hint="--metrics",
        )
    training_loop(options)


@click.command()
@click.option(
    "--data", required=True, type=click.Path(exists=True), help="Dataset ROOT (trainset/ valset/ testset/)"
)
@click.option("--data_name", required=True, type=click.Choice(DATA_NAMES))
@click.option(
    "--source",
    default=None,
    type=click.Choice(["source1", "source2"]),
    help="Source of a per-source data name (explicit instead of parsed from the folder name)",
)
@_common_options(kimg=14000, snap=100)
def train(data: str, data_name: str, source: str | None, **opts) -> None:
    """Train a single-source conditional StyleGAN2/3 with MSSG's covariate-predicting discriminator."""
    _run(opts, [data], [data_name], [source], False)


def _latent_model_options(command):
    """Multi-source only: how the latent covariate models (saved next to the snapshots) are fitted/sampled."""
    command = click.option(
        "--latent_mssg_sampling",
        type=_BOOL,
        default=False,
        show_default=True,
        help="Sample imputed covariates as MSSG does (mixture regression with the marginal covariance, "
        "binary covariates at sigmoid(logit/2)) instead of correctly, for parity with the original",
    )(command)
    return click.option(
        "--refit",
        type=_BOOL,
        default=False,
        show_default=True,
        help="On --resume: fit the latent models anew instead of reusing the latent_model_source*.json "
        "beside the snapshot",
    )(command)


def _two_source_options(data_names: list[str]):
    """``--data1``/``--data_name1`` and ``--data2``/``--data_name2``; the data names are ``data_names``."""

    def decorate(func):
        for k in (2, 1):
            func = click.option(f"--data_name{k}", required=True, type=click.Choice(data_names))(func)
            func = click.option(
                f"--data{k}", required=True, type=click.Path(exists=True), help=f"Source {k} dataset ROOT"
            )(func)
        return func

    return decorate


# train_ms.py's data names.
_SEMI_MS_DATA_NAMES = [
    "ukb",
    "retinal",
    "mnist-thickness-intensity",
    "mnist-thickness-slant",
    "mnist-thickness-intensity-slant",
]
# train_real_ms.py's data names (its dataset_real_ms classes) and the Morpho-MNIST name this package imputes.
_REAL_MS_DATA_NAMES = ["ukb", "retinal", "eyepacs", "adni", "rfmid", "mnist-thickness-intensity-slant"]


@click.command()
@_two_source_options(_SEMI_MS_DATA_NAMES)
@click.option(
    "--use_ground_truth",
    required=True,
    type=_BOOL,
    help="Morpho-MNIST: impute with the known structural equations instead of fitted latent models",
)
@_common_options(kimg=25000, snap=200)
@_latent_model_options
def train_ms(
    data1: str, data_name1: str, data2: str, data_name2: str, use_ground_truth: bool, **opts
) -> None:
    """Train MSSG from two sources that observe different covariates (semi-multi-source)."""
    _run(opts, [data1, data2], [data_name1, data_name2], ["source1", "source2"], use_ground_truth)


@click.command()
@_two_source_options(_REAL_MS_DATA_NAMES)
@_common_options(kimg=25000, snap=100)
@_latent_model_options
def train_real_ms(data1: str, data_name1: str, data2: str, data_name2: str, **opts) -> None:
    """Train MSSG from two real sources: each row's unobserved covariates are imputed from the other source's
    latent model and D also predicts which source a row comes from. ``--resume_kimg`` counts only together
    with ``--resume`` (as the original)."""
    if opts["resume"] is None:
        opts["resume_kimg"] = 0
    _run(opts, [data1, data2], [data_name1, data_name2], ["source1", "source2"], False, real_multisource=True)
