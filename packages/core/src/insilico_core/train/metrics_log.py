"""Scalar training metrics on disk: JSON lines, CSV, and TensorBoard when it is installed.

``metrics.jsonl`` gets one object per :meth:`MetricsLogger.log` call (``{"step": 100, "wall_time": ...,
"loss_G": 0.7, ...}``; non-finite values are written as ``null`` so that every line is strict JSON).
``metrics.csv`` holds the same rows for spreadsheets and pandas; when a later call brings a metric the header
does not have yet (say FID every 10 epochs), the file is rewritten atomically with the union of the columns
and empty cells where a row has no value. With ``torch.utils.tensorboard`` importable (the ``tensorboard``
package installed) the scalars also go to ``<directory>/tensorboard``; without it that part is skipped
silently.
"""

from __future__ import annotations

import csv
import io
import json
import math
import numbers
import os
import time
from pathlib import Path
from typing import Any

import torch

from .checkpoint import atomic_write_bytes
from .distributed import current_rank

_RESERVED = ("step", "wall_time")


def _scalar(name: str, value: Any) -> int | float:
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f"metric {name!r} must be a scalar, got a tensor of shape {tuple(value.shape)}")
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"metric {name!r} must be a real number or a one-element tensor, got {value!r}")
    return int(value) if isinstance(value, numbers.Integral) else float(value)


def _json_value(value: int | float) -> int | float | None:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _parse_json_record(line: str) -> dict[str, Any] | None:
    """The record on one metrics.jsonl line, or ``None`` for a blank or incomplete line."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return None
    return record if isinstance(record, dict) and isinstance(record.get("step"), int) else None


def _csv_row_step(row: dict[str | None, Any]) -> int | None:
    """The step of a complete metrics.csv row, or ``None`` for a row with missing or extra cells."""
    if None in row or None in row.values() or not str(row["step"]).isdigit():
        return None
    return int(row["step"])


class MetricsLogger:
    """Append scalar metrics per step to ``<directory>/metrics.jsonl`` and ``metrics.csv`` (and TensorBoard).

    ``enabled=None`` logs on the main process only (rank 0); on other ranks every call is a no-op, so the
    training code needs no ``if rank == 0``. An existing log in ``directory`` is continued; after resuming
    from a checkpoint of step S call :meth:`drop_after` ``(S)`` to forget the rows the killed run wrote
    past it.
    """

    def __init__(
        self, directory: str | os.PathLike[str], enabled: bool | None = None, tensorboard: bool = True
    ):
        self.directory = Path(directory)
        self.enabled = current_rank() == 0 if enabled is None else enabled
        self.jsonl_path = self.directory / "metrics.jsonl"
        self.csv_path = self.directory / "metrics.csv"
        self._columns: list[str] = list(_RESERVED)
        self._writer = None
        if not self.enabled:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.csv_path.is_file():
            with self.csv_path.open(newline="") as handle:
                header = next(csv.reader(handle), None)
            if header:
                self._columns = header
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                SummaryWriter = None
            if SummaryWriter is not None:
                self._writer = SummaryWriter(log_dir=str(self.directory / "tensorboard"))

    def log(self, step: int, **scalars: Any) -> None:
        """Record ``scalars`` (numbers or one-element tensors) for training ``step``."""
        if not self.enabled:
            return
        for name in _RESERVED:
            if name in scalars:
                raise ValueError(f"{name!r} is written by the logger itself and cannot be a metric name")
        values = {name: _scalar(name, value) for name, value in scalars.items()}
        record: dict[str, Any] = {"step": int(step), "wall_time": time.time(), **values}
        with self.jsonl_path.open("a") as handle:
            handle.write(json.dumps({k: _json_value(v) for k, v in record.items()}) + "\n")
        new_columns = [name for name in record if name not in self._columns]
        if new_columns or not self.csv_path.is_file():
            self._rewrite_csv(self._read_csv_rows(), self._columns + new_columns)
        with self.csv_path.open("a", newline="") as handle:
            csv.DictWriter(handle, fieldnames=self._columns).writerow(record)
        if self._writer is not None:
            for name, value in values.items():
                self._writer.add_scalar(name, value, global_step=int(step))

    def drop_after(self, step: int) -> None:
        """Remove every record with a step greater than ``step`` (for a run resumed from that step).

        A line or row that a killed process left incomplete is removed as well.
        """
        if not self.enabled:
            return
        if self.jsonl_path.is_file():
            kept = [
                line
                for line in self.jsonl_path.read_text().splitlines()
                if (record := _parse_json_record(line)) is not None and record["step"] <= step
            ]
            atomic_write_bytes(self.jsonl_path, "".join(line + "\n" for line in kept).encode())
        if self.csv_path.is_file():
            rows = [
                row
                for row in self._read_csv_rows()
                if (row_step := _csv_row_step(row)) is not None and row_step <= step
            ]
            self._rewrite_csv(rows, self._columns)

    def close(self) -> None:
        """Flush and close the TensorBoard writer (the text files are closed after every call already)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def __enter__(self) -> MetricsLogger:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _read_csv_rows(self) -> list[dict[str, str]]:
        if not self.csv_path.is_file():
            return []
        with self.csv_path.open(newline="") as handle:
            return list(csv.DictReader(handle))

    def _rewrite_csv(self, rows: list[dict[str, Any]], columns: list[str]) -> None:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_bytes(self.csv_path, buffer.getvalue().encode())
        self._columns = columns
