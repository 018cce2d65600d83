"""The demo figure and scores from a tagan-test results folder."""

from __future__ import annotations

import json

import numpy as np
import tifffile
from PIL import Image
from tagan import demo_panel

LABELS = ("confocal", "STED", "fakeSTED", "seg_STED", "seg_fakeSTED", "seg_GT")


def write_results(folder, perfect: bool) -> None:
    images = folder / "images"
    images.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for stem in ("0_gen0", "1_gen0"):
        sted = rng.integers(0, 60, size=(1, 1, 32, 32)).astype(np.uint16)
        for label in LABELS:
            array = (
                sted
                if label == "STED" or (label == "fakeSTED" and perfect)
                else rng.integers(0, 255, size=(1, 1, 32, 32)).astype(np.uint16)
            )
            tifffile.imwrite(images / f"{stem}_{label}.tif", array)


def test_scores_and_panel(tmp_path):
    write_results(tmp_path / "perfect", perfect=True)
    assert demo_panel.main([str(tmp_path / "perfect"), str(tmp_path / "out")]) == 0
    scores = json.loads((tmp_path / "out" / "scores.json").read_text())
    assert scores["images"] == 2
    assert np.isclose(scores["ssim_generated_vs_real_sted"], 1.0) and np.isinf(
        scores["psnr_generated_vs_real_sted"]
    )
    assert scores["ssim_confocal_vs_real_sted"] < 0.5
    panel = Image.open(tmp_path / "out" / "panel.png")
    assert panel.size == (6 * 224, 18 + 2 * 224)
    write_results(tmp_path / "noisy", perfect=False)
    noisy = demo_panel.scores(tmp_path / "noisy" / "images")
    assert noisy["ssim_generated_vs_real_sted"] < 0.5 and noisy["psnr_generated_vs_real_sted"] < 20
