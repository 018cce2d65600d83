"""Crash-safe checkpoint files: atomic writes, numbered checkpoints, keep-the-last-N, resume from the newest.

A training run that is killed (SIGKILL, out-of-memory, pre-emption, power loss) must never leave a
half-written file where a checkpoint is expected. Every write here goes to a temporary file in the destination
folder, is flushed and fsynced, and is then renamed over the destination with ``os.replace`` (atomic on POSIX
and Windows); the folder itself is fsynced so the rename survives a power cut. A reader therefore sees either
the previous complete file or the new complete file, never a mix.

Our checkpoints hold only tensors, numbers, strings and containers, so they load with
``torch.load(weights_only=True)``: opening a checkpoint never runs code from the file.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import re
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import torch

_TEMP_SUFFIX = ".tmp"


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Files made by ``tempfile.mkstemp`` are private (0600); a checkpoint should get the permissions an ordinary
# ``open(path, "wb")`` would give it. The umask is read once, at import, because reading it means setting it.
_FILE_MODE = 0o666 & ~_current_umask()


def _fsync_directory(directory: Path) -> None:
    """Make a rename inside ``directory`` durable. Platforms that cannot open a folder (Windows) skip this."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _atomic_write(path: str | os.PathLike[str], write: Callable[[IO[bytes]], None]) -> Path:
    """Run ``write(file)`` on a temporary file beside ``path``, then move it onto ``path`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=_TEMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            if hasattr(os, "fchmod"):
                os.fchmod(handle.fileno(), _FILE_MODE)
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
    _fsync_directory(path.parent)
    return path


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file, fsync, rename); parent folders are created.

    Returns the path written. If anything fails, ``path`` keeps its previous content (or stays absent) and the
    temporary file is removed.
    """
    return _atomic_write(path, lambda handle: handle.write(data))


def atomic_save(obj: Any, path: str | os.PathLike[str]) -> Path:
    """``torch.save(obj, path)`` made atomic: after a crash ``path`` is either old or new, never torn.

    ``obj`` should hold only tensors, numbers, strings, ``None`` and containers so that it loads back with
    ``torch.load(path, weights_only=True)`` (see :func:`load_checkpoint`). Returns the path written.
    """
    return _atomic_write(path, lambda handle: torch.save(obj, handle))


def load_checkpoint(path: str | os.PathLike[str], map_location: Any = "cpu") -> Any:
    """Load one of our checkpoint files with ``torch.load(weights_only=True)`` (never runs code from it)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint file {path} does not exist")
    return torch.load(path, map_location=map_location, weights_only=True)


class CheckpointManager:
    """Numbered checkpoints ``<directory>/<prefix>_<step:09d>.pt`` with pruning and resume.

    ``save(step, state)`` writes atomically and then deletes all but the ``keep_last`` newest checkpoints of
    this prefix (``keep_last=None`` keeps all). ``latest()`` / ``load_latest()`` find the highest step.
    Temporary files left behind by a process that was killed in the middle of a write (they can never be
    mistaken for a checkpoint: they start with a dot and end in ``.tmp``) are removed when the manager is
    created.

    Under ``torch.distributed`` only one process (rank 0) should call ``save``; every process may load.
    """

    def __init__(
        self, directory: str | os.PathLike[str], prefix: str = "checkpoint", keep_last: int | None = 3
    ):
        if keep_last is not None and keep_last < 1:
            raise ValueError(
                f"keep_last must be a positive number of checkpoints or None (keep all), got {keep_last}"
            )
        if not prefix or "/" in prefix or os.sep in prefix:
            raise ValueError(
                f"prefix must be a non-empty file-name prefix without path separators, got {prefix!r}"
            )
        self.directory = Path(directory)
        self.prefix = prefix
        self.keep_last = keep_last
        self._pattern = re.compile(rf"^{re.escape(prefix)}_(\d+)\.pt$")
        self._remove_stale_temporaries()

    def path_for(self, step: int) -> Path:
        """File name of the checkpoint of ``step`` (zero-padded so that names sort by step)."""
        if step < 0:
            raise ValueError(f"checkpoint step must be >= 0, got {step}")
        return self.directory / f"{self.prefix}_{step:09d}.pt"

    def checkpoints(self) -> list[tuple[int, Path]]:
        """All checkpoints of this prefix as ``(step, path)``, oldest first."""
        if not self.directory.is_dir():
            return []
        found = []
        for entry in self.directory.iterdir():
            match = self._pattern.match(entry.name)
            if match and entry.is_file():
                found.append((int(match.group(1)), entry))
        return sorted(found)

    def latest(self) -> Path | None:
        """Path of the checkpoint with the highest step, or ``None`` when there is none."""
        found = self.checkpoints()
        return found[-1][1] if found else None

    def save(self, step: int, state: Any) -> Path:
        """Atomically write ``state`` as the checkpoint of ``step``, then prune; returns the path."""
        path = atomic_save(state, self.path_for(step))
        self._prune()
        return path

    def load_latest(self, map_location: Any = "cpu") -> Any | None:
        """Load the newest checkpoint (``weights_only=True``); ``None`` when the folder holds none.

        A newest file that cannot be read (for example damaged by copying it between machines) is reported
        with a warning and the next older one is tried; if none can be read the last error is raised.
        """
        found = self.checkpoints()
        error: Exception | None = None
        for _, path in reversed(found):
            try:
                return load_checkpoint(path, map_location=map_location)
            except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError) as exc:
                warnings.warn(f"could not read checkpoint {path} ({exc}); trying an older one", stacklevel=2)
                error = exc
        if error is not None:
            raise RuntimeError(
                f"no readable checkpoint with prefix {self.prefix!r} in {self.directory}"
            ) from error
        return None

    def _prune(self) -> None:
        if self.keep_last is None:
            return
        for _, path in self.checkpoints()[: -self.keep_last]:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def _remove_stale_temporaries(self) -> None:
        if not self.directory.is_dir():
            return
        for entry in self.directory.glob(f".{self.prefix}_*.pt.*{_TEMP_SUFFIX}"):
            with contextlib.suppress(FileNotFoundError):
                entry.unlink()
