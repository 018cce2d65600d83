"""Building, caching and choosing the compiled backends: status, INSILICO_OPS=ref, cache, failed builds."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import pytest
import torch
from click.testing import CliRunner
from insilico_core import ops
from insilico_core.ops import _build, _dispatch
from insilico_core.ops.cli import ops as ops_cli


@pytest.fixture
def fresh_build_state(monkeypatch, tmp_path):
    """This process's view of the backends reset, with an empty cache of its own."""
    monkeypatch.setattr(_build, "_modules", {})
    monkeypatch.setattr(_build, "_status", {})
    monkeypatch.setattr(_build, "_key_cache", {})
    monkeypatch.setenv("INSILICO_CACHE", str(tmp_path / "cache"))
    return tmp_path


def test_status_command_lists_every_backend():
    result = CliRunner().invoke(ops_cli, ["status"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split()[0] for line in lines if line and not line.startswith(" ")][:3] == [
        "ref",
        "cpu",
        "cuda",
    ]
    assert "cache dir:" in result.output
    if torch.version.cuda is None:
        assert "no CUDA" in next(line for line in lines if line.startswith("cuda"))


def test_insilico_ops_ref_forces_the_reference(monkeypatch):
    monkeypatch.setenv("INSILICO_OPS", "ref")
    x = torch.randn(2, 3)
    assert _dispatch.resolve_impl(None, x) is None
    assert _build.backend_status("cpu").state == "disabled"
    with pytest.raises(RuntimeError, match="INSILICO_OPS=ref"):
        ops.bias_act(x, act="lrelu", impl="cpu")


def test_second_process_loads_the_cached_build_fast():
    if _build.kernels("cpu") is None:
        pytest.skip(f"cpu backend unavailable: {_build.backend_status('cpu').reason}")
    code = (
        "import time, torch\n"
        "from insilico_core.ops import _build\n"
        "start = time.perf_counter()\n"
        "module = _build.kernels('cpu')\n"
        "print(time.perf_counter() - start, _build.backend_status('cpu').state)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ
    )
    seconds, state = out.stdout.split(maxsplit=1)
    assert state.strip() == "loaded from cache"
    assert float(seconds) < 1.0


def _write_broken_sources(directory):
    directory.mkdir()
    for name in _build.BACKEND_SOURCES["cpu"]:
        (directory / name).write_text("#error this source is broken on purpose\n")


def test_failed_build_warns_once_and_falls_back_to_ref(fresh_build_state, monkeypatch):
    sources = fresh_build_state / "csrc"
    _write_broken_sources(sources)
    monkeypatch.setattr(_build, "SOURCE_DIR", sources)
    x = torch.randn(2, 3, 4, dtype=torch.float64)
    b = torch.randn(3, dtype=torch.float64)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = ops.bias_act(x, b, act="lrelu")
        second = ops.bias_act(x, b, act="lrelu")
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(messages) == 1 and "build.log" in messages[0] and "reference" in messages[0]
    torch.testing.assert_close(first, ops.bias_act(x, b, act="lrelu", impl="ref"))
    torch.testing.assert_close(second, first)
    status = _build.backend_status("cpu")
    assert status.state == "unavailable" and "build failed" in status.reason
    assert "broken on purpose" in status.log.read_text()

    # a later process does not retry the same failed build: it reads the failure from the cache
    log_mtime = status.log.stat().st_mtime_ns
    monkeypatch.setattr(_build, "_modules", {})
    monkeypatch.setattr(_build, "_status", {})
    with pytest.warns(RuntimeWarning, match="build failed"):
        assert _build.kernels("cpu") is None
    assert status.log.stat().st_mtime_ns == log_mtime


def test_missing_compiler_makes_cpu_unavailable_with_one_warning(fresh_build_state, monkeypatch):
    monkeypatch.setenv("CXX", "/nonexistent/c++")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            ops.upfirdn2d(torch.randn(1, 1, 4, 4), torch.ones(2, 2))
    assert len([w for w in caught if "no C++ compiler" in str(w.message)]) == 1
    assert _build.backend_status("cpu").state == "unavailable"
