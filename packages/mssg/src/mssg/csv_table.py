"""The small part of pandas that MSSG's dataset tools rely on, without pandas: read a CSV, drop rows with
missing values, split rows like sklearn, and write labels in ``DataFrame.to_dict()`` form.

* Missing values are pandas' default NA strings (empty field, ``NA``, ``NaN``, ``null``, ``None``, ...).
* Column types are inferred per column as ``pd.read_csv`` does for plain numbers: int when every field is an
  integer and none is missing, float when every present field is a number, else str.
* Each row keeps its 0-based position in the file as its index (the pandas default ``RangeIndex``); label
  dicts are keyed by it, as strings once written to JSON: ``{"age": {"17": 63.0}, "ventricle": {...}}``.
* :func:`train_test_split_indices` reproduces ``sklearn.model_selection.train_test_split(test_size,
  random_state, shuffle=True)``: ``n_test = ceil(test_size * n)``, ``permutation =
  RandomState(random_state).permutation(n)``, test = its first ``n_test`` entries, train = the rest, both in
  permutation order (that order becomes the order of the written images).
"""

from __future__ import annotations

import csv
import io
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# pandas.read_csv's default na_values (plus the empty field)
NA_STRINGS = frozenset(
    {
        "",
        "#N/A",
        "#N/A N/A",
        "#NA",
        "-1.#IND",
        "-1.#QNAN",
        "-NaN",
        "-nan",
        "1.#IND",
        "1.#QNAN",
        "<NA>",
        "N/A",
        "NA",
        "NULL",
        "NaN",
        "None",
        "n/a",
        "nan",
        "null",
    }
)

Value = int | float | str | None  # None = missing


@dataclass
class Table:
    """Rows of a CSV file: ``columns[name][k]`` is the value of row ``index[k]`` (None when missing)."""

    path: Path
    columns: dict[str, list[Value]]
    index: list[int]

    def __len__(self) -> int:
        return len(self.index)

    def require(self, names: tuple[str, ...] | list[str]) -> None:
        """Raise ``ValueError`` naming the file and every column of ``names`` it lacks."""
        missing = [name for name in names if name not in self.columns]
        if missing:
            raise ValueError(f"{self.path}: missing column(s) {missing}; the file has {list(self.columns)}")

    def take(self, positions: np.ndarray | list[int]) -> Table:
        """The rows at ``positions`` (0-based positions in this table, in the given order)."""
        positions = [int(p) for p in positions]
        columns = {name: [values[p] for p in positions] for name, values in self.columns.items()}
        return Table(self.path, columns, [self.index[p] for p in positions])

    def where(self, keep: list[bool]) -> Table:
        """The rows whose ``keep`` entry is true, in order."""
        return self.take([p for p, k in enumerate(keep) if k])

    def dropna(self, names: tuple[str, ...] | list[str]) -> Table:
        """Rows with a value in every column of ``names`` (``df[names].dropna()`` keeps these rows)."""
        self.require(names)
        return self.where([all(self.columns[n][p] is not None for n in names) for p in range(len(self))])


def _typed(values: list[str | None]) -> list[Value]:
    present = [v for v in values if v is not None]
    try:
        ints = [int(v) for v in present]
    except ValueError:
        ints = None
    if ints is not None and len(present) == len(values):
        return list(ints)
    try:
        floats = iter([float(v) for v in present])
    except ValueError:
        return list(values)
    return [None if v is None else next(floats) for v in values]


def read_csv(path: str | Path) -> Table:
    """Read a CSV file with a header row (pandas ``read_csv`` semantics for NA strings and number columns).

    A ``.zip`` path reads the archive's first member (how the EyePACS labels are distributed).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such CSV file")
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if not members:
                raise ValueError(f"{path}: empty zip archive (expected a CSV file inside)")
            text = archive.read(members[0]).decode("utf-8-sig")
    else:
        text = path.read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows or not any(rows[0]):
        raise ValueError(f"{path}: empty CSV file (expected a header row)")
    header, body = rows[0], [r for r in rows[1:] if r]
    for line, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise ValueError(f"{path}: line {line} has {len(row)} fields, the header has {len(header)}")
    raw = {name: [None if r[k] in NA_STRINGS else r[k] for r in body] for k, name in enumerate(header)}
    return Table(path, {name: _typed(values) for name, values in raw.items()}, list(range(len(body))))


def train_test_split_indices(
    n: int, test_size: float, random_state: int = 42
) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) positions exactly as ``sklearn.model_selection.train_test_split(shuffle=True)``."""
    if not 0 < test_size < 1:
        raise ValueError(f"test_size must be a fraction in (0, 1), got {test_size}")
    n_test = math.ceil(test_size * n)
    if n - n_test < 1:
        raise ValueError(f"splitting {n} rows with test_size {test_size} leaves an empty train set")
    permutation = np.random.RandomState(random_state).permutation(n)
    return permutation[n_test:], permutation[:n_test]


LabelDict = dict[str, dict[str, Value]]


def label_dicts(table: Table, key: str, names: tuple[str, ...] | list[str]) -> list[LabelDict]:
    """Per row, ``table.loc[table[key] == row_key][names].to_dict()``: ``{name: {str(index): value}}`` over
    every row of ``table`` that shares the row's ``key`` value (one entry unless a key repeats)."""
    table.require([key, *names])
    by_key: dict[Value, list[int]] = {}
    for position, value in enumerate(table.columns[key]):
        by_key.setdefault(value, []).append(position)
    labels = []
    for value in table.columns[key]:
        rows = by_key[value]
        labels.append({n: {str(table.index[p]): table.columns[n][p] for p in rows} for n in names})
    return labels
