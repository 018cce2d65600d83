"""Compiling the C++ (``cpu``) and CUDA (``cuda``) kernels once per environment; loading them from the cache.

Each backend is built with ``torch.utils.cpp_extension`` and ninja into
``$INSILICO_CACHE/ops/<name>/`` (default ``~/.cache/insilico``), where ``<name>`` carries a hash of everything
the binary depends on: the sources, the torch version, the compiler, the Python ABI and the CPU (the C++ code
is compiled with ``-march=native``). A later process finds ``<name>.so`` there and imports it directly (no
compiler, no ninja: milliseconds). A file lock keeps concurrent processes from building the same thing twice.

A build that fails, or cannot happen (no C++ compiler, no CUDA), makes that backend unavailable: one warning
names the build log, the ops use the reference path, and nothing is retried in this process. A failed build is
remembered in the cache (the same sources, torch and compiler would fail the same way), until
``insilico-core ops build`` retries it. ``INSILICO_OPS=ref`` disables the compiled backends altogether.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import os
import platform
import shutil
import subprocess
import sys
import sysconfig
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import torch

SOURCE_DIR = Path(__file__).parent / "csrc"

# sources compiled into each backend's extension (headers in csrc/ are hashed too)
BACKEND_SOURCES: dict[str, tuple[str, ...]] = {
    "cpu": ("cpu_binding.cpp", "bias_act_cpu.cpp", "upfirdn2d_cpu.cpp", "filtered_lrelu_cpu.cpp"),
    "cuda": ("cuda_binding.cpp", "bias_act.cu", "upfirdn2d.cu", "filtered_lrelu.cu"),
}
# -fno-trapping-math lets the compiler turn the activations' selects into vector blends; -fopenmp-simd honours
# the `omp simd` loops without the OpenMP runtime (threads come from ATen's pool, the same OpenMP as torch's)
CPU_CFLAGS = ["-O3", "-march=native", "-fopenmp-simd", "-fno-trapping-math"]
CUDA_CFLAGS = ["-O3"]


@dataclass
class BackendStatus:
    """Where one backend stands in this process.

    ``state``: ``"built"`` (compiled by this process), ``"loaded from cache"``, ``"not built"`` (builds on
    first use), ``"unavailable"`` or ``"disabled"``; ``reason`` says why it is unavailable or disabled.
    """

    name: str
    state: str
    reason: str = ""
    log: Path | None = None


_lock = threading.Lock()
_modules: dict[str, ModuleType | None] = {}
_status: dict[str, BackendStatus] = {}


def cache_dir() -> Path:
    """The cache root: ``$INSILICO_CACHE`` or ``~/.cache/insilico``."""
    return Path(os.environ.get("INSILICO_CACHE", Path.home() / ".cache" / "insilico")).expanduser()


def forced_ref() -> bool:
    """True when ``INSILICO_OPS=ref`` asks for the reference path everywhere."""
    return os.environ.get("INSILICO_OPS", "").strip().lower() == "ref"


def kernels(backend: str) -> ModuleType | None:
    """The compiled kernels of ``backend`` ("cpu" or "cuda"), built on first use; None if unavailable."""
    if backend in _modules:
        return _modules[backend]
    with _lock:
        if backend not in _modules:
            _modules[backend] = _load(backend, build_if_missing=True, retry_failed=False)
    return _modules[backend]


def backend_status(backend: str) -> BackendStatus:
    """The status of ``backend`` without building anything ("ref", "cpu" or "cuda")."""
    if backend == "ref":
        return BackendStatus("ref", "available", "pure PyTorch, any device and dtype")
    if backend in _status and not forced_ref():
        return _status[backend]
    reason = _unavailable_reason(backend)
    if reason:
        return BackendStatus(backend, "disabled" if forced_ref() else "unavailable", reason)
    name, directory, log = _paths(backend)
    if (directory / "BUILD_OK").exists():
        return BackendStatus(backend, "built (cached)", "", log)
    if (directory / "BUILD_FAILED").exists():
        return BackendStatus(backend, "unavailable", (directory / "BUILD_FAILED").read_text().strip(), log)
    return BackendStatus(backend, "not built", "builds on first use or with `insilico-core ops build`", log)


def status() -> list[BackendStatus]:
    """The status of every backend (ref, cpu, cuda), without building anything."""
    return [backend_status(b) for b in ("ref", "cpu", "cuda")]


def build(backends: tuple[str, ...] = ("cpu", "cuda"), force: bool = False) -> list[BackendStatus]:
    """Build (or load from the cache) the given backends now; ``force`` retries builds that failed before."""
    with _lock:
        for backend in backends:
            if backend not in _modules or (force and _modules[backend] is None):
                _status.pop(backend, None)
                _modules[backend] = _load(backend, build_if_missing=True, retry_failed=force, warn=False)
    return [backend_status(b) for b in backends]


def _unavailable_reason(backend: str) -> str:
    if forced_ref():
        return "INSILICO_OPS=ref forces the reference path"
    missing = [s for s in BACKEND_SOURCES[backend] if not (SOURCE_DIR / s).exists()]
    if missing:
        return f"sources missing from {SOURCE_DIR}: {', '.join(missing)}"
    if backend == "cuda":
        if torch.version.cuda is None:
            return "no CUDA: this torch build has no CUDA support"
        if not torch.cuda.is_available():
            return "no CUDA: no CUDA device is visible"
        from torch.utils.cpp_extension import CUDA_HOME

        if CUDA_HOME is None:
            return "no CUDA toolkit: nvcc not found (set CUDA_HOME)"
    if _compiler() is None:
        return "no C++ compiler found (set CXX or install g++/clang++)"
    return ""


def _compiler() -> str | None:
    return shutil.which(os.environ.get("CXX", "c++"))


def _compiler_identity() -> str:
    compiler = _compiler()
    try:
        version = subprocess.run([compiler, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        version = ""
    return f"{compiler}\n{version.splitlines()[0] if version else ''}"


def _cpu_identity() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return line
    except OSError:
        pass
    return platform.processor()


def _build_key(backend: str) -> str:
    digest = hashlib.sha256()
    for path in sorted(SOURCE_DIR.iterdir()):
        cuda_only = path.suffix == ".cu" or path.name.startswith("cuda_")
        if path.suffix in {".cpp", ".h", ".cu"} and (backend == "cuda" or not cuda_only):
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    parts = [
        backend,
        torch.__version__,
        str(torch.version.cuda),
        _compiler_identity(),
        _cpu_identity(),
        sys.implementation.cache_tag,
        str(sysconfig.get_config_var("EXT_SUFFIX")),
        platform.machine(),
        " ".join(CPU_CFLAGS + CUDA_CFLAGS),
    ]
    digest.update("\n".join(parts).encode())
    return digest.hexdigest()[:16]


_key_cache: dict[str, str] = {}


def _paths(backend: str) -> tuple[str, Path, Path]:
    """(module name, build directory, build log) of ``backend`` for the current sources and toolchain."""
    if backend not in _key_cache:
        _key_cache[backend] = _build_key(backend)
    name = f"insilico_ops_{backend}_{_key_cache[backend]}"
    directory = cache_dir() / "ops" / name
    return name, directory, directory / "build.log"


def _import(name: str, directory: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, directory / f"{name}.so")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _load(backend: str, build_if_missing: bool, retry_failed: bool, warn: bool = True) -> ModuleType | None:
    reason = _unavailable_reason(backend)
    if reason:
        _status[backend] = BackendStatus(backend, "disabled" if forced_ref() else "unavailable", reason)
        if warn and not forced_ref():
            _warn(backend, reason, None)
        return None
    name, directory, log = _paths(backend)
    ok, failed = directory / "BUILD_OK", directory / "BUILD_FAILED"
    if ok.exists():
        _status[backend] = BackendStatus(backend, "loaded from cache", "", log)
        return _import(name, directory)
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory.parent / f"{name}.lock", "w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            if ok.exists():  # another process built it while we waited
                _status[backend] = BackendStatus(backend, "loaded from cache", "", log)
                return _import(name, directory)
            if failed.exists() and not retry_failed:
                module, message = None, failed.read_text().strip()
            else:
                module, message = _compile(backend, name, directory, log)
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)
    if module is not None:
        _status[backend] = BackendStatus(backend, "built", "", log)
        return module
    _status[backend] = BackendStatus(backend, "unavailable", message, log)
    if warn:
        _warn(backend, message, log)
    return None


def _warn(backend: str, reason: str, log: Path | None) -> None:
    where = f" Build log: {log}" if log is not None else ""
    warnings.warn(
        f"insilico ops: the {backend} backend is unavailable ({reason}); "
        f"using the reference PyTorch path.{where}",
        RuntimeWarning,
        stacklevel=6,
    )


def _compile(backend: str, name: str, directory: Path, log: Path) -> tuple[ModuleType | None, str]:
    """Build the extension into ``directory``: (module, "") or (None, one-line reason; details in log)."""
    from torch.utils import cpp_extension

    sources = [str(SOURCE_DIR / s) for s in BACKEND_SOURCES[backend]]
    started = time.time()
    header = (
        f"insilico ops: building the {backend} backend as {name}\nsources: {sources}\n"
        f"torch {torch.__version__}, compiler {_compiler_identity()}\n"
    )
    log.write_text(header)
    (directory / "BUILD_FAILED").unlink(missing_ok=True)
    module = None
    if not cpp_extension.is_ninja_available():
        reason = "build failed: ninja is not installed (pip install ninja)"
    else:
        try:
            module = cpp_extension.load(
                name=name,
                sources=sources,
                extra_cflags=CPU_CFLAGS if backend == "cpu" else ["-O3"],
                extra_cuda_cflags=CUDA_CFLAGS,
                build_directory=str(directory),
                verbose=False,
            )
            reason = ""
        except Exception as error:  # the compiler's output is in the message
            with open(log, "a") as f:
                f.write(f"\n{error}\n")
            reason = f"build failed: {type(error).__name__} while compiling"
    with open(log, "a") as f:
        f.write(f"\n{reason or 'ok'} after {time.time() - started:.1f} s\n")
    (directory / ("BUILD_FAILED" if reason else "BUILD_OK")).write_text(reason or "ok")
    return module, reason
