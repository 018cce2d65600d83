"""``mssg-eval``: FID/KID, LPIPS/SSIM/PSNR, regressors, strata prediction score, sweeps (spec §2.6, §6).

Flags keep the originals' spellings (``--network_specific``, ``--data-path1``, ``--num-samples``, ``--trunc``,
``--noise-mode``, ``--regr_model0`` ...). The covariate layout and latent models come from our snapshots'
metadata;
for an original ``.pkl`` (which records neither) or with ``--refit True`` they are refitted from the sources'
``trainset`` labels, as the original scripts do at every start.
"""

from __future__ import annotations

import csv
import functools
import json
from dataclasses import dataclass
from pathlib import Path

import click
import numpy as np
import torch

from mssg.checkpoint import load_snapshot
from mssg.data import CovariateImageDataset
from mssg.evaluation.generate import generate_for_labels
from mssg.evaluation.regressor import load_regressor, save_regressor, train_regressor
from mssg.evaluation.strata import SWEEP_COVARIATES, joint_labels, morpho_ground_truth, morpho_strata_score
from mssg.evaluation.sweep import covariate_sweep, write_sweep
from mssg.multisource import MORPHO, LabelCompleter
from mssg.train import build_completer

_BOOL = click.BOOL

# Options spelled and documented alike in every sub-command that takes them.
_data_path1 = click.option("--data-path1", "data_path1", required=True, type=click.Path(exists=True))
_data_path2 = click.option("--data-path2", "data_path2", required=True, type=click.Path(exists=True))
_trunc = click.option("--trunc", "truncation_psi", type=float, default=1.0, show_default=True)
_outdir = click.option("--outdir", required=True, type=click.Path(file_okay=False))


def _sources(path1: str, path2: str, mode: str) -> list[CovariateImageDataset]:
    return [
        CovariateImageDataset(p, MORPHO, s, mode=mode) for p, s in ((path1, "source1"), (path2, "source2"))
    ]


def _load(network: str, path1: str, path2: str, refit: bool, use_ground_truth: bool, device: str):
    snap = load_snapshot(network, device=device)
    meta = snap.get("meta") or {}
    if "completer" in meta and not refit:
        completer = LabelCompleter.from_dict(meta["completer"])
    else:
        source_flag = bool(meta.get("completer", {}).get("source_flag", False))  # mssg-train-real-ms run
        completer = build_completer(_sources(path1, path2, "train"), use_ground_truth, source_flag)
    G = snap["G_ema"]
    if G.c_dim != completer.c_dim:
        raise click.BadParameter(
            f"{network}: G has c_dim={G.c_dim}, the sources' layout {completer.layout} has "
            f"c_dim={completer.c_dim}",
            param_hint="--network_specific",
        )
    return G, completer


def _test_labels(test_sets, completer) -> list[torch.Tensor]:
    return [
        torch.from_numpy(joint_labels(morpho_ground_truth(ds), s, completer))
        for s, ds in enumerate(test_sets)
    ]


@dataclass(frozen=True)
class GeneratorRun:
    """What the generator-scoring sub-commands (fid, paired, strata) share: the snapshot, both sources,
    how many images to generate and how, where to write, and how to get the covariate layout."""

    network: str
    data_path1: str
    data_path2: str
    num_samples: int
    truncation_psi: float
    noise_mode: str
    outdir: str
    refit: bool
    use_ground_truth: bool
    device: str
    seed: int

    def load(self):
        """``(G_ema, LabelCompleter)`` of the snapshot, the latent models refitted where needed."""
        return _load(
            self.network, self.data_path1, self.data_path2, self.refit, self.use_ground_truth, self.device
        )

    def test_sets(self) -> list[CovariateImageDataset]:
        """Both sources' ``testset`` (source 1 first)."""
        return _sources(self.data_path1, self.data_path2, "test")


def _generator_run_options(func):
    """Add the :class:`GeneratorRun` flags; the command receives them as one ``run`` argument."""

    @functools.wraps(func)
    def command(**kwargs):
        run = GeneratorRun(**{name: kwargs.pop(name) for name in GeneratorRun.__dataclass_fields__})
        return func(run, **kwargs)

    options = [
        click.option(
            "--network_specific",
            "network",
            required=True,
            type=click.Path(exists=True, dir_okay=False),
            help="Snapshot (ours or the original network-snapshot-*.pkl)",
        ),
        _data_path1,
        _data_path2,
        click.option(
            "--num-samples", "num_samples", type=click.IntRange(min=1), default=10000, show_default=True
        ),
        _trunc,
        click.option(
            "--noise-mode",
            "noise_mode",
            type=click.Choice(["const", "random", "none"]),
            default="const",
            show_default=True,
        ),
        _outdir,
        click.option(
            "--refit",
            type=_BOOL,
            default=False,
            show_default=True,
            help="Refit the latent models from the sources' trainsets",
        ),
        click.option("--use_ground_truth", type=_BOOL, default=False, show_default=True),
        click.option("--device", default="cpu", show_default=True),
        click.option("--seed", type=int, default=64, show_default=True),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.group()
def evaluate() -> None:
    """Evaluate MSSG generators."""


@evaluate.command()
@_generator_run_options
@click.option("--metric", type=click.Choice(["fid", "kid"]), default="fid", show_default=True)
@click.option(
    "--inception-weights",
    "inception_weights",
    default=None,
    type=click.Path(dir_okay=False),
    help="pt_inception-2015-12-05 weights file (else the weights directories)",
)
def fid(run: GeneratorRun, metric: str, inception_weights: str | None) -> None:
    """FID / KID between both sources' test images and generated images with test-set labels."""
    from insilico_core.metrics import FrechetDistance, InceptionFeatures, KernelDistance, load_inception

    G, completer = run.load()
    tests = run.test_sets()
    extractor = InceptionFeatures(load_inception("tf-fid", inception_weights), "pytorch-fid").to(run.device)
    score = FrechetDistance(extractor) if metric == "fid" else KernelDistance(extractor, subset_size=64)
    for ds in tests:
        for start in range(0, len(ds), 64):
            batch = torch.stack([ds[i][0] for i in range(start, min(start + 64, len(ds)))]).float() / 255
            score.update(real=batch.to(run.device))
    torch.manual_seed(run.seed)
    labels = torch.cat(_test_labels(tests, completer))
    picks = torch.randint(len(labels), (run.num_samples,))
    for chunk in picks.split(64):
        fake = generate_for_labels(G, labels[chunk], 64, run.truncation_psi, run.noise_mode).float() / 255
        score.update(fake=fake.to(run.device))
    value = float(score.compute())
    _write_csv(Path(run.outdir) / f"ms_general_{metric}.csv", [[metric], [value]])
    click.echo(f"{metric}: {value:.4f}")


@evaluate.command()
@_generator_run_options
@click.option("--metric", type=click.Choice(["lpips", "ssim", "psnr"]), default="lpips", show_default=True)
@click.option("--which-source", "which_source", type=click.Choice(["first", "second"]), default="first")
def paired(run: GeneratorRun, metric: str, which_source: str) -> None:
    """LPIPS / SSIM / PSNR between each test image and one generated image with its covariates."""
    from insilico_core.metrics import lpips, psnr, ssim

    G, completer = run.load()
    s = 0 if which_source == "first" else 1
    tests = run.test_sets()
    ds = tests[s]
    labels = _test_labels(tests[: s + 1], completer)[-1]
    torch.manual_seed(run.seed)
    values = []
    for start in range(0, min(len(ds), run.num_samples), 128):
        idx = range(start, min(start + 128, len(ds), run.num_samples))
        real = torch.stack([ds[i][0] for i in idx]).float()
        fake = generate_for_labels(G, labels[list(idx)], 128, run.truncation_psi, run.noise_mode).float()
        if metric == "lpips":
            values.append(float(lpips(real / 255, fake / 255, net="squeeze", normalize=True).mean()))
        elif metric == "ssim":
            values.append(float(ssim(real / 255, fake / 255, data_range=1.0)))
        else:
            values.append(float(psnr(real, fake, data_range=255.0, reduction="pooled")))
    _write_csv(
        Path(run.outdir) / f"ms_general_{metric}.csv", [["mean", "std"], [np.mean(values), np.std(values)]]
    )
    click.echo(f"{metric}: {np.mean(values):.4f} +- {np.std(values):.4f}")


@evaluate.command("train-regressor")
@_outdir
@click.option(
    "--data_dir",
    required=True,
    multiple=True,
    type=click.Path(exists=True),
    help="Dataset ROOT(s); give it once per source (sources are concatenated)",
)
@click.option("--data_name", default=MORPHO, show_default=True)
@click.option("--covariate", default="thickness", show_default=True, type=click.Choice(SWEEP_COVARIATES))
@click.option("--task", type=click.Choice(["regression", "classification"]), default="regression")
@click.option("--ncls", type=int, default=1, show_default=True)
@click.option("--which_model", type=click.Choice(["resnet18", "resnet34", "resnet50"]), default="resnet50")
@click.option("--batch_size", type=int, default=128, show_default=True)
@click.option("--epochs", type=int, default=300, show_default=True)
@click.option("--patience", type=int, default=60, show_default=True)
@click.option("--base-width", "base_width", type=int, default=64, show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--device", default="cpu", show_default=True)
def train_regressor_command(
    outdir,
    data_dir,
    data_name,
    covariate,
    task,
    ncls,
    which_model,
    batch_size,
    epochs,
    patience,
    base_width,
    seed,
    device,
) -> None:
    """Train the regressor of one covariate on the sources' train sets (validated on their val sets).

    Targets are the covariate's ground-truth values z-scored with the pooled train statistics of all sources.
    """
    column = SWEEP_COVARIATES.index(covariate)
    images, raws = {}, {}
    for mode in ("train", "val"):
        sets = [
            CovariateImageDataset(path, data_name, source, mode=mode)
            for path, source in zip(data_dir, ("source1", "source2"), strict=False)
        ]
        images[mode] = (
            torch.cat([torch.stack([ds[i][0] for i in range(len(ds))]) for ds in sets]).float() / 255
        )
        raws[mode] = np.concatenate([morpho_ground_truth(ds)[:, column] for ds in sets])
    mean, std = raws["train"].mean(), raws["train"].std()
    targets = {mode: torch.from_numpy((raws[mode] - mean) / std).float() for mode in raws}
    model = train_regressor(
        images["train"],
        targets["train"],
        images["val"],
        targets["val"],
        task,
        ncls,
        int(which_model.removeprefix("resnet")),
        base_width,
        epochs,
        batch_size,
        patience,
        seed,
        device,
    )
    path = save_regressor(Path(outdir) / f"regressor_{covariate}.pt", model, covariate, task)
    click.echo(f"wrote {path}")


@evaluate.command()
@_generator_run_options
@click.option("--regr_model0", required=True, type=click.Path(exists=True), help="thickness regressor")
@click.option("--regr_model1", required=True, type=click.Path(exists=True), help="intensity regressor")
@click.option("--regr_model2", required=True, type=click.Path(exists=True), help="slant regressor")
@click.option(
    "--batch-size",
    "batch_size",
    type=click.IntRange(min=2),
    default=64,
    show_default=True,
    help="Images per draw within a stratum (MSSG: 64 = 32 per source)",
)
@click.option(
    "--min-count",
    "min_count",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Smallest stratum (test images of both sources together) that is scored",
)
def strata(
    run: GeneratorRun, regr_model0: str, regr_model1: str, regr_model2: str, batch_size: int, min_count: int
) -> None:
    """Strata prediction score: ``stratified_loss_{cov}.csv`` per covariate and a summary JSON."""
    G, completer = run.load()
    predictors = {}
    for path in (regr_model0, regr_model1, regr_model2):
        model, covariate, _task = load_regressor(path, run.device)
        predictors[covariate] = model
    result = morpho_strata_score(
        G,
        completer,
        run.test_sets(),
        predictors,
        num_samples=run.num_samples,
        batch_size=batch_size,
        seed=run.seed,
        truncation_psi=run.truncation_psi,
        noise_mode=run.noise_mode,
        min_count=min_count,
    )
    if not any(result.strata.values()):
        raise click.ClickException(f"no stratum holds --min-count {min_count} test images; nothing to score")
    outdir = Path(run.outdir)
    summary = {}
    for covariate, rows in result.strata.items():
        header = ["num_real", "c1_lo", "c1_hi", "c2_lo", "c2_hi", "c3_lo", "c3_hi", "mse", "mae", "corr"]
        _write_csv(outdir / f"stratified_loss_{covariate}.csv", [header] + [row.row() for row in rows])
        summary[covariate] = {
            "weighted_mse": result.weighted(covariate, "mse"),
            "weighted_mae": result.weighted(covariate, "mae"),
        }
    (outdir / "strata_mse_config.json").write_text(
        json.dumps({"network": str(run.network), "summary": summary})
    )
    click.echo(json.dumps(summary, indent=1))


@evaluate.command()
@click.option("--network_pkl", "network", required=True, type=click.Path(exists=True, dir_okay=False))
@_data_path1
@_data_path2
@click.option(
    "--group-by", "group_by", type=click.Choice(["c1", "c2", "c3"]), default="c1", show_default=True
)
@click.option("--seeds", required=True, help="e.g. 0,1,4-6")
@_trunc
@click.option("--noise-mode", "noise_mode", type=click.Choice(["const", "random", "none"]), default="const")
@_outdir
@click.option("--refit", type=_BOOL, default=False, show_default=True)
def sweep(
    network, data_path1, data_path2, group_by, seeds, truncation_psi, noise_mode, outdir, refit
) -> None:
    """Covariate-sweep grids (the paper's Fig. 1): ``{outdir}/seed_NNNN/{cov}_{value}.png``."""
    G, completer = _load(network, data_path1, data_path2, refit, False, "cpu")
    tests = _sources(data_path1, data_path2, "test")
    raw1, raw2 = (morpho_ground_truth(ds) for ds in tests)
    for seed in _parse_seeds(seeds):
        images, name, value = covariate_sweep(
            G, completer, raw1, raw2, seed, group_by, 7, truncation_psi, noise_mode
        )
        click.echo(f"wrote {write_sweep(Path(outdir), images, seed, name, value)}")


def _parse_seeds(text: str) -> list[int]:
    seeds = []
    for part in text.split(","):
        if "-" in part:
            lo, hi = part.split("-")
            seeds.extend(range(int(lo), int(hi) + 1))
        else:
            seeds.append(int(part))
    return seeds


def _write_csv(path: Path, rows: list[list]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        csv.writer(f).writerows(rows)
