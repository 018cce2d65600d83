"""Console scripts with the original command lines:

``tagan-train`` (train.py), ``tagan-test`` (test.py), ``tagan-train-cycle`` (train_cycle.py, TAGAN_cycle with
its loss.csv) and ``tagan-combine-bottomtop`` (data/combine_bottomtop.py, as a command with arguments).
E.g. ``tagan-train --dataroot=AxonalRingsDataset --model=TAGAN_AxonalRings`` and
``tagan-test --dataroot=AxonalRingsDataset --model=TAGAN_AxonalRings --epoch=1000 --name=AxonalRings``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from insilico_core.data import read_tiff, write_tiff


def _run(function, argv: list[str] | None) -> int:
    """Run ``function(argv)``; bad input (missing files, wrong values) ends with one clear error line."""
    try:
        function(argv)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


def train_main(argv: list[str] | None = None) -> int:
    """``tagan-train``: the original train.py."""
    from tagan.options import parse_options
    from tagan.training import train

    return _run(lambda args: train(parse_options(args, is_train=True)), argv)


def train_cycle_main(argv: list[str] | None = None) -> int:
    """``tagan-train-cycle``: the original train_cycle.py (per-epoch loss.csv with validation losses)."""
    from tagan.options import parse_options
    from tagan.training import train

    return _run(lambda args: train(parse_options(args, is_train=True), cycle_log=True), argv)


def test_main(argv: list[str] | None = None) -> int:
    """``tagan-test``: the original test.py."""
    from tagan.inference import run_test
    from tagan.options import parse_options

    return _run(lambda args: run_test(parse_options(args, is_train=False)), argv)


def combine_bottomtop(top: Path, bottom: Path, output: Path) -> list[Path]:
    """Merge the outputs of ``--preprocess tophalf`` and ``bottomhalf`` runs (same file names) by stacking
    rows: the original concatenated on axis 1, the channel axis of the (N, C, H, W) outputs; here axis -2."""
    for folder in (top, bottom):
        if not folder.is_dir():
            raise FileNotFoundError(f"folder {folder} does not exist")
    written = []
    for top_path in sorted(top.glob("*.tif")):
        bottom_path = bottom / top_path.name
        if not bottom_path.is_file():
            raise FileNotFoundError(f"{bottom_path} is missing: the bottom-half run has no {top_path.name}")
        upper, lower = read_tiff(top_path).array, read_tiff(bottom_path).array
        if upper.shape[:-2] != lower.shape[:-2] or upper.shape[-1] != lower.shape[-1]:
            raise ValueError(
                f"{top_path} {upper.shape} and {bottom_path} {lower.shape} cannot be stacked by rows"
            )
        written.append(write_tiff(output / top_path.name, np.concatenate([upper, lower], axis=-2)))
    if not written:
        raise ValueError(f"folder {top} holds no .tif files")
    return written


def combine_bottomtop_main(argv: list[str] | None = None) -> int:
    """``tagan-combine-bottomtop --top DIR --bottom DIR --output DIR``."""
    parser = argparse.ArgumentParser(prog="tagan-combine-bottomtop", description=combine_bottomtop.__doc__)
    parser.add_argument(
        "--top", type=Path, required=True, help="images/ folder of the --preprocess tophalf run"
    )
    parser.add_argument("--bottom", type=Path, required=True, help="images/ folder of the bottomhalf run")
    parser.add_argument("--output", type=Path, required=True, help="folder for the merged TIFFs")

    def combine(args: list[str] | None) -> None:
        options = parser.parse_args(args)
        paths = combine_bottomtop(options.top, options.bottom, options.output)
        print(f"tagan: {len(paths)} merged images written to {options.output}")

    return _run(combine, argv)
