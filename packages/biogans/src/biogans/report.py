"""Tables 1-3 of the paper from evaluation logs and reconstruction results (the analysis notebooks).

- Table 1 (real vs real, 8 classes): logs ``seed0_split{k}_eval<C>_iter<N>_classes<A><B>.txt``; the score
  on the last line (``... equals <v>``); mean ± std over splits (population std, nan-aware) per (A, B).
- Table 2 (conditional models, WGAN-GP C2ST): logs
  ``seed0_split{k}_<model>_trainIter<i>_eval<C>_iter<N>.txt``; per-class scores from the
  ``<Class>: <v>;`` line and their mean ("all"); mean ± std over splits.
- Table 3 (reconstruction): ``reconstruction_data.pth`` of joint-z and red-first runs per model; median ±
  MAD (median absolute deviation) of ``lls_noise`` (NLL) and ``l2_dists`` over all test images.
Each table is returned as rows, written as CSV and printed as an aligned text table.
"""

from __future__ import annotations

import csv
import math
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from insilico_core.legacy import load_torch_file

_SCORE = re.compile(r"equals\s*([-+0-9.eEnaif]+)")
_CLASS_SCORE = re.compile(r"(\w+):\s*([-+0-9.eEnaif]+);")
_TABLE1_LOG = re.compile(r"^seed\d+_split(\d+)_eval([\w-]+?)_iter\d+_classes(\w+)\.txt$")
_TABLE2_LOG = re.compile(r"^seed\d+_split(\d+)_(.+)_trainIter(\d+)_eval([\w-]+?)_iter\d+\.txt$")


def parse_scores(log: str) -> tuple[float, dict[str, float]]:
    """(mean score, per-class scores) from an evaluation log's last lines."""
    lines = [line for line in log.strip().splitlines() if line.strip()]
    if not lines or not (match := _SCORE.search(lines[-1])):
        raise ValueError("no '<ALG>-score: equals <v>' line at the end of the log")
    per_class = dict(_CLASS_SCORE.findall(lines[-2])) if len(lines) > 1 and "per class" in lines[-2] else {}
    return float(match.group(1)), {k: float(v) for k, v in per_class.items()}


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and population std ignoring NaNs (numpy's nanmean / nanstd)."""
    finite = torch.tensor([v for v in values if not math.isnan(v)], dtype=torch.float64)
    if finite.numel() == 0:
        return math.nan, math.nan
    return float(finite.mean()), float(finite.std(unbiased=False)) if finite.numel() > 1 else 0.0


def median_mad(values: Sequence[float]) -> tuple[float, float]:
    """Median and median absolute deviation (medians average the two middle values, as ``np.median``)."""
    t = torch.tensor(list(values), dtype=torch.float64)
    if t.numel() == 0:
        return math.nan, math.nan
    median = float(t.quantile(0.5))
    return median, float((t - median).abs().quantile(0.5))


def _split_pair(names: str, classes: Sequence[str]) -> tuple[str, str] | None:
    for a in classes:
        if names.startswith(a) and names[len(a) :] in classes:
            return a, names[len(a) :]
    return None


def table1(log_dir: str | Path, classes: Sequence[str], algorithm: str = "WGAN-GP") -> list[list[str]]:
    """Real-vs-real C2ST matrix: rows A (train-set class), columns B (test-set class), cells 'mean±std' of
    the score over splits."""
    scores: dict[tuple[str, str], list[float]] = defaultdict(list)
    for path in sorted(Path(log_dir).glob("*.txt")):
        match = _TABLE1_LOG.match(path.name)
        if not match or match.group(2) != algorithm:
            continue
        pair = _split_pair(match.group(3), classes)
        if pair:
            scores[pair].append(parse_scores(path.read_text())[0])
    if not scores:
        raise ValueError(f"no real-vs-real logs for {algorithm} in {log_dir}")
    rows = [["A \\ B", *classes]]
    for a in classes:
        row = [a]
        for b in classes:
            mean, std = mean_std(scores.get((a, b), []))
            row.append(f"{mean:.1f}±{std:.1f}" if not math.isnan(mean) else "")
        rows.append(row)
    return rows


def table2(log_dir: str | Path, classes: Sequence[str], algorithm: str = "WGAN-GP") -> list[list[str]]:
    """Per-class C2ST of conditional models: rows = classes + 'all', columns = models (sorted by name)."""
    per_model: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for path in sorted(Path(log_dir).glob("*.txt")):
        match = _TABLE2_LOG.match(path.name)
        if not match or match.group(4) != algorithm:
            continue
        mean, per_class = parse_scores(path.read_text())
        model = match.group(2)
        for name in classes:
            per_model[model][name].append(per_class.get(name, math.nan))
        per_model[model]["all"].append(mean)
    if not per_model:
        raise ValueError(f"no conditional C2ST logs for {algorithm} in {log_dir}")
    models = sorted(per_model)
    rows = [["class", *models]]
    for name in [*classes, "all"]:
        cells = []
        for model in models:
            mean, std = mean_std(per_model[model][name])
            cells.append(f"{mean:.2f}±{std:.2f}")
        rows.append([name, *cells])
    return rows


def table3(runs: Mapping[str, Mapping[str, str | Path]]) -> list[list[str]]:
    """Reconstruction errors: ``runs`` = {model: {'joint': path, 'red-first': path}} of
    ``reconstruction_data.pth`` files; median ± MAD of NLL and L2 over all test images, plus the
    nearest-neighbour L2 of the first run."""
    header = ["model", "joint z: NLL", "joint z: L2", "red-first: NLL", "red-first: L2"]
    rows = [header]
    nn_dists: list[float] = []
    for model, files in runs.items():
        row = [model]
        for kind in ("joint", "red-first"):
            if kind not in files:
                row += ["", ""]
                continue
            data = load_torch_file(files[kind])
            nll = sum(data["lls_noise"].values(), [])
            l2 = sum(data["l2_dists"].values(), [])
            if not nn_dists:
                nn_dists = sum(data["nn_dists"].values(), [])
            row += ["{:.0f}±{:.0f}".format(*median_mad(nll)), "{:.3f}±{:.3f}".format(*median_mad(l2))]
        rows.append(row)
    if nn_dists:
        rows.append(
            ["nearest neighbour (train set)", "", "{:.3f}±{:.3f}".format(*median_mad(nn_dists)), "", ""]
        )
    return rows


def write_csv(rows: list[list[str]], path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def format_table(rows: list[list[str]]) -> str:
    """Rows as an aligned plain-text table (first row = header)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [" | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)
