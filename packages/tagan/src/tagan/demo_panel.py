"""Figure and scores of a tagan-test run of an axonal-rings model: ``python -m tagan.demo_panel RESULTS OUT``.

RESULTS is a ``results/<name>/<phase>_<epoch>`` folder written by ``tagan-test`` for a TA-GAN model with the
confocal / STED visuals (TAGAN_AxonalRings, Dendrites, SimulatedNanodomains). Writes ``OUT/panel.png``
(one row per input: confocal | real STED | generated STED | S(real STED) | S(generated STED) | ground-truth
mask) and ``OUT/scores.json`` with SSIM and PSNR (pixel scale 0..255) of the generated vs the real STED, and
of the confocal vs the real STED as the baseline the generator has to beat.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from insilico_core.data import read_tiff
from insilico_core.metrics import psnr, ssim
from PIL import Image, ImageDraw

COLUMNS = ("confocal", "STED", "fakeSTED", "seg_STED", "seg_fakeSTED", "seg_GT")
TITLES = ("confocal", "real STED", "generated STED", "S(real STED)", "S(generated)", "ground truth")


def read_visual(images: Path, stem: str, label: str) -> np.ndarray:
    """First channel of a saved visual as float64 ``(H, W)`` in the 0..255 scale."""
    array = read_tiff(images / f"{stem}_{label}.tif").array
    return array.reshape(-1, *array.shape[-2:])[0].astype(np.float64)


def display(image: np.ndarray, stretch: bool) -> np.ndarray:
    """8-bit view: intensity images stretched from their 0.5th to 99.5th percentile, segmentations as
    they are (0..255)."""
    if stretch:
        low, high = np.percentile(image, [0.5, 99.5])
        image = (image - low) / max(high - low, 1.0) * 255.0
    return np.clip(image, 0, 255).astype(np.uint8)


def stems(images: Path) -> list[str]:
    """``<input stem>_gen<k>`` of every generated image (not the ``_seg_fakeSTED`` files)."""
    names = (p.name for p in images.glob("*_fakeSTED.tif") if not p.name.endswith("_seg_fakeSTED.tif"))
    return sorted(name[: -len("_fakeSTED.tif")] for name in names)


def scores(images: Path) -> dict[str, float]:
    """Mean SSIM / PSNR over the inputs: generated vs real STED, and confocal vs real STED."""
    pairs = {"generated": [], "confocal": []}
    real = []
    for stem in stems(images):
        real.append(read_visual(images, stem, "STED"))
        pairs["generated"].append(read_visual(images, stem, "fakeSTED"))
        pairs["confocal"].append(read_visual(images, stem, "confocal"))
    if not real:
        raise FileNotFoundError(f"{images} holds no *_fakeSTED.tif outputs of tagan-test")
    reference = torch.from_numpy(np.stack(real)[:, None])
    result = {"images": len(real)}
    for name, values in pairs.items():
        candidate = torch.from_numpy(np.stack(values)[:, None])
        result[f"ssim_{name}_vs_real_sted"] = float(ssim(candidate, reference, data_range=255.0))
        result[f"psnr_{name}_vs_real_sted"] = float(psnr(candidate, reference, data_range=255.0))
    return result


def panel(images: Path, path: Path, rows: int = 4, tile: int = 224) -> Path:
    """PNG grid: one row per input (at most ``rows``), the six columns of COLUMNS with titles."""
    selected = stems(images)[:rows]
    header = 18
    canvas = Image.new("L", (tile * len(COLUMNS), header + tile * len(selected)), color=255)
    draw = ImageDraw.Draw(canvas)
    for column, title in enumerate(TITLES):
        draw.text((column * tile + 4, 3), title, fill=0)
    for row, stem in enumerate(selected):
        for column, label in enumerate(COLUMNS):
            picture = display(
                read_visual(images, stem, label), stretch=label in ("confocal", "STED", "fakeSTED")
            )
            canvas.paste(
                Image.fromarray(picture).resize((tile, tile), Image.NEAREST),
                (column * tile, header + row * tile),
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tagan.demo_panel",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("results", type=Path, help="results/<name>/<phase>_<epoch> folder of tagan-test")
    parser.add_argument("out", type=Path, help="folder for panel.png and scores.json")
    parser.add_argument("--rows", type=int, default=4, help="inputs shown in the panel")
    options = parser.parse_args(argv)
    images = options.results / "images"
    result = scores(images)
    panel(images, options.out / "panel.png", options.rows)
    (options.out / "scores.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
