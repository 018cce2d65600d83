"""neurongan-eval (the original grid geometry, seeds, per-sample export) and neurongan-fetch (published
sources, checksum verification, download through a Google-Drive-style confirmation page, locally served)."""

from __future__ import annotations

import hashlib
import http.server
import io
import threading
import zipfile

import neurongan
import numpy as np
import pytest
import torch
from neurongan import fetch
from neurongan.cli import eval_main, fetch_main
from PIL import Image


@pytest.fixture
def tiny_checkpoint(tmp_path):
    torch.manual_seed(0)
    G = neurongan.GeneratorPG([16, 8, 8], image_size_init=8, latent_dim=16)
    D = neurongan.DiscriminatorPG([8, 8, 16], image_size_init=8)
    G.set_resolution(16)
    D.set_resolution(16)
    return neurongan.save_checkpoint(tmp_path / "weights" / "GenDisc_x.pth", G, D, epoch=1, lr=1e-4)


def test_eval_writes_the_original_grid_and_per_sample_files(tmp_path, tiny_checkpoint):
    out = tmp_path / "grid.png"
    eval_main(
        ["-n", "5", "-weights", str(tiny_checkpoint), "-output", str(out), "--outdir", str(tmp_path / "s")]
    )
    grid = Image.open(out)
    # nrow = round(sqrt(5)) = 2 per row, 3 rows of 32 px (upsampled to the final size) with 2 px padding
    assert grid.size == (2 * 34 + 2, 3 * 34 + 2) and grid.mode == "RGB"
    pixels = np.asarray(grid)
    assert pixels[:2].max() == 0 and pixels.max() == 255 and pixels[2:34, 2:34].min() == 0  # joint min-max
    samples = sorted((tmp_path / "s").glob("sample_*.png"))
    assert len(samples) == 5 and Image.open(samples[0]).size == (16, 16)
    G = neurongan.load_generator(tiny_checkpoint)
    expected = neurongan.generate(G, 5, seed=0)
    first = np.asarray(Image.open(samples[0])).astype(np.float64) / 127.5 - 1
    np.testing.assert_allclose(first, expected[0, 0].numpy(), atol=1 / 127.5)


def test_eval_single_sample_seed_and_weights_folder(tmp_path, tiny_checkpoint, monkeypatch):
    monkeypatch.chdir(tmp_path)  # "-weights NAME" is also looked up in ./weights, as the original
    eval_main(["-n", "1", "-weights", "GenDisc_x.pth", "-output", "one.png", "--seed", "7"])
    eval_main(["-n", "1", "-weights", "GenDisc_x.pth", "-output", "again.png", "--seed", "7"])
    eval_main(["-n", "1", "-weights", "GenDisc_x.pth", "-output", "other.png", "--seed", "8"])
    one = np.asarray(Image.open("one.png"))
    assert one.shape == (32, 32, 3)  # one image: no padding
    assert np.array_equal(one, np.asarray(Image.open("again.png")))
    assert not np.array_equal(one, np.asarray(Image.open("other.png")))
    with pytest.raises(SystemExit, match="neurongan-fetch"):
        eval_main(["-weights", "missing.pth"])


def _zip_bytes(name: str, content: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, content)
    return buffer.getvalue()


class _DriveLikeHandler(http.server.BaseHTTPRequestHandler):
    """First request: Google Drive's virus-scan warning form; the confirmed request: the zip."""

    payload = b""

    def do_GET(self):  # noqa: N802 (http.server API)
        if "confirm=t" in self.path:
            body, kind = self.payload, "application/zip"
        else:
            body = (
                b'<html><form id="download-form" action="/download" method="get">'
                b'<input type="hidden" name="id" value="abc"><input type="hidden" name="confirm" value="t">'
                b"</form></html>"
            )
            kind = "text/html; charset=utf-8"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_fetch_download_through_confirmation_page_and_verify(tmp_path, capsys):
    payload = _zip_bytes("gen_dis_default.pth", b"weights")
    _DriveLikeHandler.payload = payload
    server = http.server.HTTPServer(("127.0.0.1", 0), _DriveLikeHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/uc?export=download&id=abc"
        digest = hashlib.sha256(payload).hexdigest()
        path = fetch.download("weights", tmp_path / "w", url=url, expected_sha256=digest)
        assert path.read_bytes() == b"weights"
        with pytest.raises(ValueError, match="differs"):
            fetch.download("weights", tmp_path / "w2", url=url, expected_sha256="0" * 64)
    finally:
        server.shutdown()
    fetch_main(["--verify", str(path), "--sha256", hashlib.sha256(b"weights").hexdigest()])
    assert "OK" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="does NOT match"):
        fetch_main(["--verify", str(path), "--sha256", "1" * 64])
    fetch_main([])
    listing = capsys.readouterr().out
    assert fetch.PUBLISHED["weights"].drive_id in listing and "dryad" in listing.lower()


def test_archive_entries_cannot_escape_the_destination(tmp_path):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(_zip_bytes("../escape.txt", b"x"))
    with zipfile.ZipFile(bad) as archive, pytest.raises(ValueError, match="outside"):
        fetch._safe_extract(archive, tmp_path / "dest")
