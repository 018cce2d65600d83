"""Metrics logs (JSON lines + CSV), progress bars, PNG sample grids and cadences."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
import torch
from insilico_core.train import Cadence, MetricsLogger, make_image_grid, progress, save_image_grid
from PIL import Image


def _csv_rows(path):
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_metrics_logger_writes_jsonl_and_csv_with_header_union(tmp_path):
    with MetricsLogger(tmp_path, enabled=True) as logger:
        logger.log(1, loss_G=0.5, loss_D=torch.tensor(1.25))
        logger.log(2, loss_G=0.25, loss_D=1.0)
        logger.log(10, loss_G=0.125, fid=float("nan"), kimg=3)
    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [line["step"] for line in lines] == [1, 2, 10]
    assert lines[0]["loss_D"] == 1.25 and lines[2]["fid"] is None and lines[2]["kimg"] == 3
    rows = _csv_rows(tmp_path / "metrics.csv")
    assert list(rows[0]) == ["step", "wall_time", "loss_G", "loss_D", "fid", "kimg"]
    assert [row["loss_G"] for row in rows] == ["0.5", "0.25", "0.125"]
    assert rows[0]["fid"] == "" and math.isnan(float(rows[2]["fid"])) and rows[2]["loss_D"] == ""


def test_metrics_logger_continues_and_drops_rows_past_a_resume_step(tmp_path):
    logger = MetricsLogger(tmp_path, enabled=True)
    for step in range(1, 6):
        logger.log(step, loss=float(step))
    resumed = MetricsLogger(tmp_path, enabled=True)
    resumed.drop_after(3)
    resumed.log(4, loss=40.0, lr=0.1)
    assert [row["loss"] for row in _csv_rows(tmp_path / "metrics.csv")] == ["1.0", "2.0", "3.0", "40.0"]
    steps = [json.loads(line)["step"] for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4]


def test_drop_after_removes_lines_a_killed_writer_left_incomplete(tmp_path):
    logger = MetricsLogger(tmp_path, enabled=True)
    for step in range(1, 4):
        logger.log(step, loss=float(step), lr=0.5)
    with (tmp_path / "metrics.jsonl").open("a") as handle:
        handle.write('{"step": 4, "wall_ti')
    with (tmp_path / "metrics.csv").open("a") as handle:
        handle.write("4,17000")
    resumed = MetricsLogger(tmp_path, enabled=True)
    resumed.drop_after(10)
    resumed.log(4, loss=4.0, lr=0.5)
    assert [row["loss"] for row in _csv_rows(tmp_path / "metrics.csv")] == ["1.0", "2.0", "3.0", "4.0"]
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [1, 2, 3, 4]


def test_metrics_logger_refuses_bad_values_and_is_silent_when_disabled(tmp_path):
    logger = MetricsLogger(tmp_path / "on", enabled=True)
    with pytest.raises(ValueError, match="scalar"):
        logger.log(1, loss=torch.zeros(2))
    with pytest.raises(ValueError, match="wall_time"):
        logger.log(1, wall_time=3.0)
    with pytest.raises(ValueError, match="real number"):
        logger.log(1, name="text")
    MetricsLogger(tmp_path / "off", enabled=False).log(1, loss=1.0)
    assert not (tmp_path / "off").exists()


def test_metrics_logger_defaults_to_rank_zero_only(tmp_path, monkeypatch):
    monkeypatch.setenv("RANK", "1")
    MetricsLogger(tmp_path / "rank1").log(1, loss=1.0)
    assert not (tmp_path / "rank1").exists()
    monkeypatch.setenv("RANK", "0")
    MetricsLogger(tmp_path / "rank0").log(1, loss=1.0)
    assert (tmp_path / "rank0" / "metrics.csv").is_file()


def test_progress_counts_and_is_silent_off_rank_zero(monkeypatch, capsys):
    assert list(progress(range(5), desc="x", disable=False)) == list(range(5))
    err = capsys.readouterr().err
    assert "5/5" in err
    monkeypatch.setenv("RANK", "1")
    bar = progress(range(3), desc="hidden")
    assert bar.disable and list(bar) == [0, 1, 2]
    assert capsys.readouterr().err == ""
    assert progress(range(2), disable=False, log_interval_s=12.0).mininterval == 12.0  # stderr is captured
    manual = progress(total=4, disable=False, initial=2)
    manual.update(2)
    assert manual.n == 4
    manual.close()


def test_grid_layout_matches_torchvision_convention():
    # BioGANs: 64 images of 48x80, 8 per row, 2-px padding -> 658 x 402 pixels
    grid = make_image_grid(torch.zeros(64, 3, 48, 80), nrow=8)
    assert grid.shape == (402, 658, 3)
    grid = make_image_grid(torch.zeros(5, 1, 4, 6))  # default ceil(sqrt(5)) = 3 per row, 2 rows
    assert grid.shape == (2 * 6 + 2, 3 * 8 + 2)


def test_grid_values_and_placement_by_hand():
    images = torch.tensor([-1.0, 0.0, 1.0, 3.0]).view(4, 1, 1, 1).expand(4, 1, 2, 2)
    grid = make_image_grid(images, nrow=2, padding=1, pad_value=7)
    # value -> floor((x + 1) / 2 * 255 + 0.5) after clamping to [-1, 1]
    expected = np.array(
        [
            [7, 7, 7, 7, 7, 7, 7],
            [7, 0, 0, 7, 128, 128, 7],
            [7, 0, 0, 7, 128, 128, 7],
            [7, 7, 7, 7, 7, 7, 7],
            [7, 255, 255, 7, 255, 255, 7],
            [7, 255, 255, 7, 255, 255, 7],
            [7, 7, 7, 7, 7, 7, 7],
        ],
        dtype=np.uint8,
    )
    np.testing.assert_array_equal(grid, expected)


def test_two_channel_images_are_red_green_composites(tmp_path):
    images = torch.zeros(1, 2, 3, 3)
    images[:, 0] = 1.0  # channel 0 -> red; channel 1 (green) stays 0
    path = save_image_grid(images, tmp_path / "grids" / "sample.png", value_range=(0, 1), padding=0)
    image = Image.open(path)
    assert image.mode == "RGB" and image.size == (3, 3)
    assert image.getpixel((1, 1)) == (255, 0, 0)
    images[:, 1] = 0.5  # channel 1 -> green at half intensity
    save_image_grid(images, path, value_range=(0, 1), padding=0)
    assert Image.open(path).getpixel((0, 2)) == (255, 128, 0)


def test_grey_png_round_trip(tmp_path):
    images = torch.linspace(0, 1, 16).view(1, 1, 4, 4)
    path = save_image_grid(images, tmp_path / "grey.png", value_range=(0, 1), padding=0)
    with Image.open(path) as image:
        assert image.mode == "L"
        np.testing.assert_array_equal(np.asarray(image), np.floor(images[0, 0].numpy() * 255 + 0.5))


@pytest.mark.parametrize(
    ("images", "kwargs", "message"),
    [
        (torch.zeros(2, 4, 3, 3), {}, "1, 2 or 3 channels"),
        (torch.zeros(3, 3, 3), {}, r"\[N, C, H, W\]"),
        (torch.zeros(2, 1, 3, 3), {"value_range": (1, 1)}, "value_range"),
        (torch.zeros(2, 1, 3, 3), {"nrow": 0}, "nrow"),
    ],
)
def test_grid_rejects_bad_input(images, kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_image_grid(images, **kwargs)


def test_grid_file_must_be_png(tmp_path):
    with pytest.raises(ValueError, match="PNG"):
        save_image_grid(torch.zeros(1, 1, 2, 2), tmp_path / "grid.jpg")
    assert not list(tmp_path.iterdir())


def test_cadence():
    biogans = Cadence(every=1000, milestones=(10, 100))
    assert [step for step in range(1, 3001) if biogans(step)] == [10, 100, 1000, 2000, 3000]
    assert not Cadence()(5)
    assert not Cadence(every=5)(0)
    with pytest.raises(ValueError):
        Cadence(every=0)
