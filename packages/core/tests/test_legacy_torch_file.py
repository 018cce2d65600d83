"""load_torch_file: zip and legacy torch files, numpy data under numpy-1 and numpy-2 names, refusals."""

from __future__ import annotations

import argparse
import os
import pickle
import types
from collections import OrderedDict

import numpy as np
import pytest
import torch
from insilico_core.legacy import LegacyFormatError, UnsafePickleError, load_torch_file


def _state_dict() -> OrderedDict:
    generator = torch.Generator().manual_seed(0)
    return OrderedDict(
        [
            ("main.initial.0.weight", torch.randn(4, 3, 2, 2, generator=generator)),
            ("main.initial.1.running_mean", torch.randn(3, generator=generator)),
            ("main.initial.1.num_batches_tracked", torch.tensor(7)),
            ("half", torch.randn(5, generator=generator).half()),
        ]
    )


def _assert_same_state(loaded: dict, expected: dict) -> None:
    assert list(loaded) == list(expected)
    for key, value in expected.items():
        assert loaded[key].dtype == value.dtype
        assert torch.equal(loaded[key], value)


@pytest.mark.parametrize("zip_format", [True, False], ids=["zip", "legacy"])
def test_state_dict_round_trip(tmp_path, zip_format):
    path = tmp_path / "net.pth"
    expected = _state_dict()
    torch.save(expected, path, _use_new_zipfile_serialization=zip_format)
    with path.open("rb") as file:
        assert (file.read(2) == b"PK") == zip_format
    loaded = load_torch_file(path)
    assert isinstance(loaded, OrderedDict)
    _assert_same_state(loaded, expected)


def test_views_into_one_storage_survive(tmp_path):
    base = torch.arange(12.0)
    path = tmp_path / "views.pth"
    torch.save({"a": base[:6].view(2, 3), "b": base[6:]}, path, _use_new_zipfile_serialization=False)
    loaded = load_torch_file(path)
    assert torch.equal(loaded["a"], torch.arange(6.0).view(2, 3))
    assert torch.equal(loaded["b"], torch.arange(6.0, 12.0))


def test_pickled_class_is_refused_with_its_name(tmp_path):
    path = tmp_path / "with_args.pth"
    torch.save({"state": _state_dict(), "opt": argparse.Namespace(lr=0.1)}, path)
    with pytest.raises(UnsafePickleError) as caught:
        load_torch_file(path)
    message = str(caught.value)
    assert "argparse.Namespace" in message and str(path) in message and "not allowed" in message
    assert caught.value.global_name == "argparse.Namespace"


class _RunsShellCommand:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("zip_format", [True, False], ids=["zip", "legacy"])
def test_malicious_reduce_is_refused_and_never_runs(tmp_path, zip_format):
    marker = tmp_path / "marker"
    path = tmp_path / "evil.pth"
    torch.save(
        {"w": torch.ones(2), "x": _RunsShellCommand(marker)}, path, _use_new_zipfile_serialization=zip_format
    )
    with pytest.raises(UnsafePickleError, match="system"):
        load_torch_file(path)
    assert not marker.exists()


def _numpy_payload() -> dict:
    return {
        "Loss_real": np.linspace(0.0, 1.0, 5),
        "counts": np.arange(6, dtype=np.int32).reshape(2, 3),
        "best": np.float64(0.25),
        "dtype": np.dtype("float32"),
        "weights": torch.ones(3),
    }


class _Numpy1Pickler(pickle._Pickler):
    """Pure-Python pickler that writes numpy globals under their numpy-1 module names (``numpy.core...``).

    Uses the GLOBAL opcode, as torch.save's default protocol 2 does.
    """

    def save_global(self, obj, name=None):
        module = getattr(obj, "__module__", "") or ""
        if module.startswith("numpy._core"):
            numpy1_module = module.replace("numpy._core", "numpy.core", 1)
            self.write(pickle.GLOBAL + f"{numpy1_module}\n{name or obj.__qualname__}\n".encode())
            self.memoize(obj)
        else:
            super().save_global(obj, name)


def _dump_numpy1(obj, file, protocol=2):
    _Numpy1Pickler(file, protocol=protocol).dump(obj)


_NUMPY1_PICKLE_MODULE = types.SimpleNamespace(
    Pickler=_Numpy1Pickler, dump=_dump_numpy1, __name__="numpy1_pickle"
)


def _assert_numpy_payload(loaded: dict) -> None:
    expected = _numpy_payload()
    np.testing.assert_array_equal(loaded["Loss_real"], expected["Loss_real"])
    assert loaded["counts"].dtype == np.int32
    np.testing.assert_array_equal(loaded["counts"], expected["counts"])
    assert isinstance(loaded["best"], np.float64) and loaded["best"] == 0.25
    assert loaded["dtype"] == np.dtype("float32")
    assert torch.equal(loaded["weights"], torch.ones(3))


@pytest.mark.parametrize("zip_format", [True, False], ids=["zip", "legacy"])
def test_numpy_under_numpy2_names(tmp_path, zip_format):
    path = tmp_path / "gen_dis.pth"
    torch.save(_numpy_payload(), path, _use_new_zipfile_serialization=zip_format)
    with pytest.raises(UnsafePickleError, match="allow_numpy=True"):
        load_torch_file(path)
    _assert_numpy_payload(load_torch_file(path, allow_numpy=True))


@pytest.mark.parametrize("zip_format", [True, False], ids=["zip", "legacy"])
def test_numpy_under_numpy1_names(tmp_path, zip_format):
    path = tmp_path / "gen_dis_numpy1.pth"
    torch.save(
        _numpy_payload(), path, pickle_module=_NUMPY1_PICKLE_MODULE, _use_new_zipfile_serialization=zip_format
    )
    raw = path.read_bytes()
    assert b"numpy.core.multiarray" in raw and b"numpy._core" not in raw
    with pytest.raises(UnsafePickleError, match=r"numpy\.core\.multiarray"):
        load_torch_file(path)
    _assert_numpy_payload(load_torch_file(path, allow_numpy=True))


def test_allow_numpy_reads_empty_arrays(tmp_path):
    """An empty array (a loss series at epoch 0 in neuron-gan files) pickles its buffer as ``bytes()``."""
    path = tmp_path / "empty.pth"
    torch.save({"Loss_real": np.zeros(0, dtype=np.float64)}, path)
    loaded = load_torch_file(path, allow_numpy=True)
    assert loaded["Loss_real"].shape == (0,) and loaded["Loss_real"].dtype == np.float64


def test_allow_numpy_does_not_stay_enabled(tmp_path):
    path = tmp_path / "numpy.pth"
    torch.save(_numpy_payload(), path)
    load_torch_file(path, allow_numpy=True)
    with pytest.raises(UnsafePickleError):
        load_torch_file(path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)


def test_allow_numpy_still_refuses_other_classes(tmp_path):
    path = tmp_path / "numpy_and_args.pth"
    torch.save({"loss": np.zeros(2), "opt": argparse.Namespace(lr=0.1)}, path)
    with pytest.raises(UnsafePickleError, match="argparse.Namespace"):
        load_torch_file(path, allow_numpy=True)


def test_missing_and_garbage_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.pth"):
        load_torch_file(tmp_path / "nothing.pth")
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"this is not a torch file")
    with pytest.raises(LegacyFormatError, match="garbage.pth"):
        load_torch_file(garbage)
