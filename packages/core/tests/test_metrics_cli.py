"""Weights registry and the ``metrics`` / ``weights`` commands, without any download."""

import hashlib
import io
import json

import numpy as np
import pytest
import tifffile
import torch
from click.testing import CliRunner
from insilico_core.metrics import (
    REGISTRY,
    InceptionV3,
    psnr,
    resolve_weights,
    ssim,
    verify_weights,
)
from insilico_core.metrics import weights as weights_module
from insilico_core.metrics.cli import metrics, weights
from insilico_core.metrics.image_folders import clip_sources, read_clips
from PIL import Image

pytestmark = pytest.mark.usefixtures("single_torch_thread")


@pytest.fixture
def weights_dir(tmp_path, monkeypatch):
    directory = tmp_path / "weights"
    directory.mkdir()
    monkeypatch.setenv("INSILICO_WEIGHTS", str(directory))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return directory


def test_registry_lists_every_network_file():
    assert set(REGISTRY) == {
        "inception-fid",
        "inception-torchvision",
        "i3d-rgb-imagenet",
        "lpips-alex",
        "lpips-vgg",
        "lpips-squeeze",
        "squeezenet1_1-torchvision",
        "alexnet-torchvision",
        "vgg16-torchvision",
    }
    for entry in REGISTRY.values():
        assert entry.url.startswith("https://")
        if entry.checksum_kind == "sha256-prefix":  # torch hub convention: name-<sha256 prefix>.pth
            assert entry.file_name.rsplit("-", 1)[1].startswith(entry.checksum)


def test_missing_file_error_says_what_where_and_how(weights_dir):
    with pytest.raises(FileNotFoundError) as error:
        resolve_weights("inception-fid")
    message = str(error.value)
    for fact in (
        "pt_inception-2015-12-05-6726825d.pth",
        "6726825d",
        "github.com/mseitzer/pytorch-fid",
        str(weights_dir),
    ):
        assert fact in message
    with pytest.raises(FileNotFoundError, match="rgb_imagenet.pt"):
        resolve_weights("i3d-rgb-imagenet", weights_dir / "nowhere.pt")
    with pytest.raises(ValueError, match="unknown weights"):
        resolve_weights("inception")


def test_resolve_finds_files_in_the_weights_directory(weights_dir):
    (weights_dir / "rgb_imagenet.pt").write_bytes(b"x")
    assert resolve_weights("i3d-rgb-imagenet") == weights_dir / "rgb_imagenet.pt"


def test_checksums_match_hashlib_and_git(tmp_path):
    path = tmp_path / "file"
    path.write_bytes(b"hello\n")
    assert weights_module.file_checksum(path, "sha256") == hashlib.sha256(b"hello\n").hexdigest()
    # `printf 'hello\n' | git hash-object --stdin`
    assert weights_module.file_checksum(path, "git-blob-sha1") == "ce013625030ba8dba906f756967f9e9ca394464a"
    with pytest.raises(ValueError, match="checksum mismatch"):
        verify_weights("lpips-alex", path)


def test_fetch_keeps_nothing_when_the_download_does_not_verify(weights_dir, monkeypatch):
    monkeypatch.setattr(weights_module.urllib.request, "urlopen", lambda url: io.BytesIO(b"not the weights"))
    with pytest.raises(ValueError, match="checksum mismatch"):
        weights_module.fetch_weights("lpips-vgg")
    assert list(weights_dir.iterdir()) == []


def test_fetch_puts_a_verified_download_in_place(weights_dir, monkeypatch):
    content = b"published bytes"
    entry = weights_module.WeightsFile(
        "toy",
        "toy.pth",
        "https://example.invalid/toy.pth",
        "sha256",
        hashlib.sha256(content).hexdigest(),
        "test entry",
    )
    monkeypatch.setitem(weights_module.REGISTRY, "toy", entry)
    monkeypatch.setattr(weights_module.urllib.request, "urlopen", lambda url: io.BytesIO(content))
    path = weights_module.fetch_weights("toy")
    assert path == weights_dir / "toy.pth" and path.read_bytes() == content


def test_weights_list_command(weights_dir):
    result = CliRunner().invoke(weights, ["list", "--json"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.output.splitlines()]
    assert [r["name"] for r in records] == list(REGISTRY)
    fid = records[0]
    assert (
        fid["put_it_at"] == str(weights_dir / "pt_inception-2015-12-05-6726825d.pth") and fid["found"] is None
    )
    assert "6726825d" in fid["checksum"] and fid["url"].endswith("pt_inception-2015-12-05-6726825d.pth")


def write_pngs(folder, arrays):
    folder.mkdir()
    for index, array in enumerate(arrays):
        Image.fromarray(array).save(folder / f"img{index:02d}.png")
    return folder


def test_paired_metrics_command_matches_the_functions(tmp_path):
    rng = np.random.default_rng(0)
    real = [rng.integers(0, 256, size=(24, 20), dtype=np.uint8) for _ in range(3)]
    fake = [
        np.clip(a.astype(int) + rng.integers(-20, 21, size=a.shape), 0, 255).astype(np.uint8) for a in real
    ]
    real_dir, fake_dir = write_pngs(tmp_path / "real", real), write_pngs(tmp_path / "fake", fake)
    x = torch.from_numpy(np.stack(real)[:, None] / 255.0)
    y = torch.from_numpy(np.stack(fake)[:, None] / 255.0)
    for name, expected in (("ssim", ssim(x, y, 1.0)), ("psnr", psnr(x, y, 1.0))):
        result = CliRunner().invoke(
            metrics, [name, str(real_dir), str(fake_dir), "--json", "--batch-size", "2"]
        )
        assert result.exit_code == 0, result.output
        record = json.loads(result.stdout.strip().splitlines()[-1])
        assert record["value"] == pytest.approx(float(expected), rel=1e-5) and record["num_pairs"] == 3


@pytest.mark.slow
def test_kid_and_is_commands_with_weights_from_a_file(tmp_path):
    """Every image the same: all features equal, so KID (unbiased MMD²) is 0 and IS is 1 exactly."""
    torch.manual_seed(0)
    state = {
        k: v for k, v in InceptionV3("tf-fid").state_dict().items() if not k.endswith("num_batches_tracked")
    }
    weights_file = tmp_path / "pt_inception.pth"
    torch.save(state, weights_file)
    image = np.random.default_rng(1).integers(0, 256, size=(16, 16), dtype=np.uint8)
    folder = write_pngs(tmp_path / "images", [image, image])
    common = ["--weights", str(weights_file), "--json", "--device", "cpu"]
    kid_run = CliRunner().invoke(metrics, ["kid", str(folder), str(folder), "--subset-size", "2", *common])
    assert kid_run.exit_code == 0, kid_run.output
    record = json.loads(kid_run.stdout.strip().splitlines()[-1])
    assert record["value"] == pytest.approx(0.0, abs=1e-6)
    assert record["num_real"] == record["num_fake"] == 2 and record["metric"] == "kid"
    is_run = CliRunner().invoke(metrics, ["is", str(folder), str(folder), *common])
    assert is_run.exit_code == 0, is_run.output
    assert json.loads(is_run.stdout.strip().splitlines()[-1])["value"] == pytest.approx(1.0, abs=1e-6)


def test_clip_folders_read_frame_folders_and_multipage_tiffs(tmp_path):
    rng = np.random.default_rng(2)
    pages = rng.integers(0, 65536, size=(3, 8, 6), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "clip_a.tif", pages, photometric="minisblack")
    frames = [rng.integers(0, 256, size=(8, 6), dtype=np.uint8) for _ in range(3)]
    write_pngs(tmp_path / "clip_b", frames)
    clips = list(read_clips(clip_sources(tmp_path)))
    assert [tuple(c.shape) for c in clips] == [(1, 3, 8, 6), (1, 3, 8, 6)]
    torch.testing.assert_close(clips[0][0], torch.from_numpy(pages / 65535.0).float())
    torch.testing.assert_close(clips[1][0, 2], torch.from_numpy(frames[2] / 255.0).float())


def test_metrics_command_reports_missing_weights_without_a_traceback(tmp_path, weights_dir):
    image = np.zeros((8, 8), dtype=np.uint8)
    folder = write_pngs(tmp_path / "images", [image, image])
    result = CliRunner().invoke(metrics, ["fid-multistylegan", str(folder), str(folder), "--device", "cpu"])
    assert result.exit_code == 1 and result.exception is not None
    assert "inception_v3_google-0cc3c7bd.pth" in result.output and "download.pytorch.org" in result.output
    assert "Traceback" not in result.output
