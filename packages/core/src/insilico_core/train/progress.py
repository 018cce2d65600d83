"""Progress bars with an ETA for every long loop (training, sampling, metrics), quiet where they are noise.

Only the main process of a distributed run draws a bar (N identical bars interleave into garbage). When
standard error is not a terminal (CI logs, ``nohup``, batch schedulers), tqdm cannot redraw a line in place,
so the bar is refreshed at most every ``log_interval_s`` seconds: the log gets a readable line with rate and
ETA now and then instead of thousands of carriage-return updates.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any, TypeVar

from tqdm.auto import tqdm

from .distributed import current_rank

T = TypeVar("T")


def progress(
    iterable: Iterable[T] | None = None,
    total: int | None = None,
    desc: str | None = None,
    disable: bool | None = None,
    log_interval_s: float = 30.0,
    **tqdm_options: Any,
) -> tqdm:
    """A tqdm bar with rate and ETA over ``iterable`` (a manual bar of ``total`` steps when it is None).

    ``disable=None`` shows the bar on rank 0 only; ``True`` / ``False`` force it off / on. Other keyword
    arguments go to tqdm (``unit``, ``initial`` for a resumed run, ``leave``, ...).
    """
    if disable is None:
        disable = current_rank() != 0
    options: dict[str, Any] = {"dynamic_ncols": True}
    if not sys.stderr.isatty():
        options["mininterval"] = log_interval_s
    options.update(tqdm_options)
    return tqdm(iterable, total=total, desc=desc, disable=disable, **options)
