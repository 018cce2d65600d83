"""Where neuron-gan's dataset and weights are published, checksum verification, and an explicit download.

Replaces the original's interactive ``setup.py``: nothing is asked on stdin, nothing is downloaded unless
asked, Google Drive's "cannot scan for viruses" confirmation page is followed instead of being saved as a
broken zip, archives are checked and extracted without letting entries escape the destination folder.
"""

from __future__ import annotations

import hashlib
import html
import os
import re
import shutil
import tempfile
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PublishedFile:
    """One published archive: its Google Drive id, what it extracts to, and its SHA-256 when recorded."""

    name: str
    drive_id: str
    archive: str
    extracts_to: str
    default_dest: str
    description: str
    sha256: str | None = None

    @property
    def url(self) -> str:
        return f"https://drive.google.com/uc?export=download&id={self.drive_id}"


PUBLISHED = {
    "dataset": PublishedFile(
        name="dataset",
        drive_id="10Aqv57jU1RPsf2duOPHJe2asc6HYHOGc",
        archive="science_2022.zip",
        extracts_to="science_2022/",
        default_dest="data",
        description="16 images (512x512, 8-bit) of Drosophila class IV neurons, first frames of the movies "
        "in 24_hr_RAW_DATA.zip of Dryad doi:10.5061/dryad.djh9w0w2r",
    ),
    "weights": PublishedFile(
        name="weights",
        drive_id="12oYbsfjyvYR_MosDfzhPjuEwZcF5LrF3",
        archive="weights_default.zip",
        extracts_to="gen_dis_default.pth",
        default_dest="weights",
        description="the authors' trained generator and discriminator at 512 px (about 70 MB zipped)",
    ),
}


def describe() -> str:
    """Human-readable list of the published files and where they go."""
    lines = []
    for item in PUBLISHED.values():
        checksum = item.sha256 or "not recorded (run neurongan-fetch --verify FILE to print it)"
        lines += [
            f"{item.name}: {item.description}",
            f"  url:      {item.url}",
            f"  archive:  {item.archive} -> {item.default_dest}/{item.extracts_to}",
            f"  sha256:   {checksum}",
        ]
    return "\n".join(lines)


def sha256_of(path: str | os.PathLike[str], chunk_size: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def verify(path: str | os.PathLike[str], expected: str) -> bool:
    """True when the file's SHA-256 equals ``expected`` (hex, case-insensitive)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    if not re.fullmatch(r"[0-9a-fA-F]{64}", expected):
        raise ValueError(f"expected SHA-256 must be 64 hex digits, got {expected!r}")
    return sha256_of(path) == expected.lower()


def _confirmation_url(page: str, base_url: str) -> str | None:
    """The download URL behind Google Drive's virus-scan warning page (form with hidden inputs), if any."""
    form = re.search(r'<form[^>]*id="download-form"[^>]*action="([^"]+)"(.*?)</form>', page, re.S)
    if form:
        fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form.group(2)))
        action = urllib.parse.urljoin(base_url, html.unescape(form.group(1)))
        return f"{action}?{urllib.parse.urlencode(fields)}"
    token = re.search(r"confirm=([0-9A-Za-z_-]+)", page)
    if token:
        return f"{base_url}&confirm={token.group(1)}"
    return None


def _download(url: str, target: Path, timeout: float) -> None:
    for _ in range(3):
        with urllib.request.urlopen(url, timeout=timeout) as response:
            if "text/html" in response.headers.get("Content-Type", ""):
                page = response.read().decode("utf-8", errors="replace")
                next_url = _confirmation_url(page, url)
                if next_url is None:
                    raise RuntimeError(
                        f"{url} returned a web page instead of the file (quota exceeded or "
                        "the file moved); download it in a browser and pass it to --verify"
                    )
                url = next_url
                continue
            with target.open("wb") as handle:
                shutil.copyfileobj(response, handle)
            return
    raise RuntimeError(f"{url}: too many confirmation pages")


def _safe_extract(archive: zipfile.ZipFile, dest: Path) -> None:
    root = dest.resolve()
    for member in archive.namelist():
        target = (dest / member).resolve()
        if root != target and root not in target.parents:
            raise ValueError(f"archive entry {member!r} would be written outside {dest}")
    archive.extractall(dest)


def download(
    name: str,
    dest: str | os.PathLike[str] | None = None,
    url: str | None = None,
    expected_sha256: str | None = None,
    timeout: float = 60.0,
) -> Path:
    """Download the published ``name`` ('dataset' or 'weights') archive and extract it into ``dest``.

    ``url`` overrides the published address (mirrors, tests). The archive's SHA-256 is checked against
    ``expected_sha256`` (or the recorded one) when known. Returns the extracted path.
    """
    if name not in PUBLISHED:
        raise ValueError(f"unknown published file {name!r}; expected one of {', '.join(PUBLISHED)}")
    item = PUBLISHED[name]
    dest = Path(dest or item.default_dest)
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest) as scratch:
        archive_path = Path(scratch) / item.archive
        _download(url or item.url, archive_path, timeout)
        checksum = expected_sha256 or item.sha256
        if checksum and not verify(archive_path, checksum):
            raise ValueError(f"{item.archive}: SHA-256 {sha256_of(archive_path)} differs from {checksum}")
        if not zipfile.is_zipfile(archive_path):
            raise ValueError(f"{item.archive} from {url or item.url} is not a zip archive")
        with zipfile.ZipFile(archive_path) as archive:
            _safe_extract(archive, dest)
    return dest / item.extracts_to
