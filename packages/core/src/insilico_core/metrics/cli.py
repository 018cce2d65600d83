"""``insilico-core metrics`` (a metric over two folders) and ``insilico-core weights`` (list / fetch files).

Distribution metrics compare a folder of real and a folder of generated images (FVD: clips); paired metrics
(SSIM, PSNR, LPIPS) compare the images of the two folders that share a file name.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import torch

from . import weights as weights_registry

DISTRIBUTION_METRICS = ("fid", "kid", "is", "fid-multistylegan", "is-multistylegan", "fvd")
PAIRED_METRICS = ("ssim", "psnr", "lpips-alex", "lpips-vgg", "lpips-squeeze")


@click.command("metrics")
@click.argument("name", type=click.Choice(DISTRIBUTION_METRICS + PAIRED_METRICS))
@click.argument("real", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("fake", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--weights",
    "weights_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Weights file of the feature network (LPIPS: the backbone); default: the weights directories.",
)
@click.option(
    "--lpips-heads",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="LPIPS v0.1 linear heads file; default: the weights directories.",
)
@click.option("--batch-size", type=int, default=50, show_default=True, help="Images (or clips) per batch.")
@click.option("--device", default="auto", show_default=True, help="auto | cpu | cuda | cuda:N | mps.")
@click.option("--num-subsets", type=int, default=100, show_default=True, help="KID: subsets.")
@click.option("--subset-size", type=int, default=1000, show_default=True, help="KID: samples per subset.")
@click.option("--splits", type=int, default=1, show_default=True, help="IS: splits.")
@click.option("--seed", type=int, default=0, show_default=True, help="KID subset sampling.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def metrics(
    name,
    real,
    fake,
    weights_path,
    lpips_heads,
    batch_size,
    device,
    num_subsets,
    subset_size,
    splits,
    seed,
    as_json,
) -> None:
    """Compute metric NAME between the folders REAL and FAKE of TIFF/PNG images.

    \b
    fid, kid, is          TF-FID Inception-v3 (pytorch-fid weights), images read into [0, 1]
    fid-multistylegan     torchvision Inception-v3 with Multi-StyleGAN's per-sample normalisation
    is-multistylegan      Multi-StyleGAN's Inception Score (FAKE only; REAL is not read)
    fvd                   Multi-StyleGAN's FVD (I3D, 1024-d): REAL and FAKE hold clips, each a sub-folder
                          of frames (name order) or a multi-page TIFF
    ssim, psnr            paired by file name; data range: the pixel type's full scale, as scikit-image
    lpips-alex, lpips-vgg paired by file name, LPIPS v0.1
    lpips-squeeze         paired by file name, LPIPS v0.1 on SqueezeNet 1.1 (MSSG's, torchmetrics')
    """
    from ..train import resolve_device

    try:
        torch_device = resolve_device(device)
        if name in PAIRED_METRICS:
            value, details = _paired(name, real, fake, weights_path, lpips_heads, batch_size, torch_device)
        else:
            value, details = _distribution(
                name,
                real,
                fake,
                weights_path,
                batch_size,
                torch_device,
                num_subsets,
                subset_size,
                splits,
                seed,
            )
    except (FileNotFoundError, ValueError) as error:  # missing weights, unreadable or mismatched inputs
        raise click.ClickException(str(error)) from error
    if as_json:
        click.echo(
            json.dumps({"metric": name, "value": value, "real": str(real), "fake": str(fake), **details})
        )
    else:
        click.echo(f"{name}: {value:.6g}")


def _distribution(name, real, fake, weights_path, batch_size, device, num_subsets, subset_size, splits, seed):
    from .feature_extraction import batched, extract_features
    from .frechet import FrechetDistance
    from .i3d import I3DFeatures, load_i3d
    from .image_folders import clip_sources, image_files, read_clips, read_images
    from .inception import InceptionFeatures, load_inception
    from .inception_score import inception_score
    from .kid import KernelDistance

    if name == "fvd":
        extractor = I3DFeatures(load_i3d(weights_path))
        listing, reader = clip_sources, read_clips
    else:
        variant, preprocessing = (
            ("torchvision", "multistylegan") if "multistylegan" in name else ("tf-fid", "pytorch-fid")
        )
        extractor = InceptionFeatures(load_inception(variant, weights_path), preprocessing)
        listing, reader = image_files, read_images

    def features(folder, role, head=None):
        files = listing(folder)
        total = -(-len(files) // batch_size)
        network = extractor if head is None else _Head(extractor, head)
        return len(files), extract_features(
            network, batched(reader(files), batch_size), device, total, desc=role
        )

    if name.startswith("is"):
        count, stream = features(fake, "fake", head="probabilities")
        mean, std = inception_score(torch.cat([p.cpu() for p in stream]), splits)
        return mean, {"std": std, "num_fake": count, "splits": splits}
    metric = (
        KernelDistance(num_subsets=num_subsets, subset_size=subset_size, seed=seed)
        if name == "kid"
        else (FrechetDistance())
    )
    counts = {}
    for role, folder in (("real", real), ("fake", fake)):
        counts[f"num_{role}"], stream = features(folder, role)
        for batch in stream:
            metric.update(**{role: batch})
    details = dict(counts)
    if name == "kid":
        details.update(std=metric.compute_std(), num_subsets=num_subsets, subset_size=subset_size, seed=seed)
    return metric.compute(), details


class _Head(torch.nn.Module):
    """Calls another method of a feature module (e.g. ``probabilities``) as its forward."""

    def __init__(self, module: torch.nn.Module, method: str) -> None:
        super().__init__()
        self.module, self.method = module, method

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return getattr(self.module, self.method)(x)


def _paired(name, real, fake, weights_path, lpips_heads, batch_size, device):
    from ..train import progress
    from .feature_extraction import batched
    from .image_folders import image_files, read_images
    from .lpips import load_lpips, lpips
    from .paired import PairedImageMetric
    from .psnr import psnr
    from .ssim import ssim

    real_files = {p.name: p for p in image_files(real)}
    fake_files = {p.name: p for p in image_files(fake)}
    common = sorted(set(real_files) & set(fake_files))
    if not common:
        raise click.BadParameter(
            f"no file names shared by {real} and {fake}; paired metrics pair files by name"
        )
    if name == "ssim":
        metric = PairedImageMetric(lambda x, y: ssim(x, y, 1.0, reduction="none"))
    elif name == "psnr":
        metric = PairedImageMetric(lambda x, y: psnr(x, y, 1.0, reduction="none"))
    else:
        model = load_lpips(name.split("-")[1], weights_path, lpips_heads).to(device)
        metric = PairedImageMetric(lambda x, y: lpips(x.to(device), y.to(device), model, normalize=True))
    pairs = zip(
        batched(read_images([real_files[n] for n in common]), batch_size),
        batched(read_images([fake_files[n] for n in common]), batch_size),
        strict=True,
    )
    for real_batch, fake_batch in progress(pairs, total=-(-len(common) // batch_size), desc=name):
        metric.update(real_batch, fake_batch)
    return metric.compute(), {
        "std": metric.compute_std(),
        "num_pairs": len(common),
        "unpaired": len(real_files) + len(fake_files) - 2 * len(common),
    }


@click.group("weights")
def weights() -> None:
    """Pretrained weights files the metrics read (never downloaded unless you ask)."""


@weights.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines instead of text.")
def list_weights(as_json: bool) -> None:
    """Each file's name, URL, checksum, where it is looked for and whether it is there."""
    target_dir = weights_registry.default_directory()
    for entry in weights_registry.REGISTRY.values():
        try:
            found = str(weights_registry.resolve_weights(entry.name))
        except FileNotFoundError:
            found = None
        record = {
            "name": entry.name,
            "file_name": entry.file_name,
            "url": entry.url,
            "checksum": entry.checksum_text(),
            "put_it_at": str(target_dir / entry.file_name),
            "found": found,
            "description": entry.description,
        }
        if as_json:
            click.echo(json.dumps(record))
        else:
            click.echo(
                f"{entry.name}\n  file:     {entry.file_name}\n  url:      {entry.url}\n"
                f"  checksum: {record['checksum']}\n  put at:   {record['put_it_at']}\n"
                f"  found:    {found or 'no'}\n  use:      {entry.description}"
            )


@weights.command("fetch")
@click.argument("name", type=click.Choice(sorted(weights_registry.REGISTRY)))
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Target directory (default: first $INSILICO_WEIGHTS entry, else ~/.cache/insilico/weights).",
)
def fetch_weights(name: str, directory: Path | None) -> None:
    """Download weights file NAME and verify its checksum (needs internet access)."""
    path = weights_registry.fetch_weights(name, directory)
    click.echo(f"{name}: {path}")
