"""read_persistent_pickle on genuine StyleGAN-persistence-style pickles made by the test itself.

A subprocess puts a stand-in ``torch_utils/persistence.py`` and ``dnnlib/util.py`` on ``sys.path`` that
pickle exactly as the originals do (a decorated class reduces to ``_reconstruct_persistent_obj(meta)`` with
``meta = {type, version, module_src, class_name, state}``; EasyDict kwargs), builds a small network, and
writes a ``network-snapshot``-like pickle plus the network's ``state_dict()`` as a safe zip torch file. This
process never imports those modules, so the reader is tested in a fresh state.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch
from insilico_core.legacy import (
    LegacyFormatError,
    PersistentRecord,
    UnsafePickleError,
    read_persistent_pickle,
)

# Mimics torch_utils/persistence.py of NVlabs/stylegan3: same reduction, meta layout and init-arg capture.
FAKE_PERSISTENCE = """
import copy, inspect, sys
_version = 6

def persistent_class(orig_class):
    orig_module_src = inspect.getsource(sys.modules[orig_class.__module__])

    class Decorator(orig_class):
        _orig_module_src = orig_module_src
        _orig_class_name = orig_class.__name__

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._init_args = copy.deepcopy(args)
            self._init_kwargs = copy.deepcopy(kwargs)

        def __reduce__(self):
            fields = list(super().__reduce__())
            fields += [None] * max(3 - len(fields), 0)
            if fields[0] is not _reconstruct_persistent_obj:
                meta = dict(type="class", version=_version, module_src=self._orig_module_src,
                            class_name=self._orig_class_name, state=fields[2])
                fields[0] = _reconstruct_persistent_obj
                fields[1] = (meta,)
                fields[2] = None
            return tuple(fields)

    Decorator.__name__ = orig_class.__name__
    return Decorator

def _reconstruct_persistent_obj(meta):
    raise RuntimeError("the stand-in persistence module must never be used for loading")
"""

FAKE_DNNLIB_UTIL = """
class EasyDict(dict):
    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name)
    def __setattr__(self, name, value):
        self[name] = value
"""

FAKE_NETWORKS = """
import numpy as np
import torch
import dnnlib
from torch_utils import persistence

@persistence.persistent_class
class FullyConnectedLayer(torch.nn.Module):
    def __init__(self, in_features, out_features, lr_multiplier=1.0):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn([out_features, in_features]) / lr_multiplier)
        self.bias = torch.nn.Parameter(torch.randn([out_features]))
        self.weight_gain = np.float64(lr_multiplier / np.sqrt(in_features))

@persistence.persistent_class
class MappingNetwork(torch.nn.Module):
    def __init__(self, z_dim, w_dim, num_layers=2, lr_multiplier=0.01):
        super().__init__()
        self.num_layers = num_layers
        for idx in range(num_layers):
            setattr(self, f"fc{idx}", FullyConnectedLayer(z_dim if idx == 0 else w_dim, w_dim, lr_multiplier))
        self.register_buffer("w_avg", torch.randn([w_dim]))
        self.register_buffer("scratch", torch.ones([1]), persistent=False)

@persistence.persistent_class
class Generator(torch.nn.Module):
    def __init__(self, z_dim, w_dim, img_resolution, mapping_kwargs={}):
        super().__init__()
        self.z_dim = z_dim
        self.img_resolution = img_resolution
        self.in_size = np.array([4, 4], dtype=np.int64)
        self.mapping = MappingNetwork(z_dim=z_dim, w_dim=w_dim, **mapping_kwargs)
        self.const = torch.nn.Parameter(torch.randn([w_dim, 4, 4]))
        self.register_parameter("unused", None)
"""

MAKE_SNAPSHOT = """
import pickle, sys, torch
import dnnlib
from fake_networks import Generator
torch.manual_seed(0)
G = Generator(8, 6, img_resolution=16, mapping_kwargs=dnnlib.util.EasyDict(num_layers=3))
G_ema = Generator(8, 6, img_resolution=16, mapping_kwargs=dnnlib.util.EasyDict(num_layers=3))
G_ema.eval().requires_grad_(False)
snapshot = dict(G=G, D=None, G_ema=G_ema, augment_pipe=None,
                training_set_kwargs=dnnlib.util.EasyDict(class_name="training.dataset.ImageFolderDataset",
                                                         path="data.zip", xflip=False, resolution=16))
with open(sys.argv[1], "wb") as f:
    pickle.dump(snapshot, f, protocol=4)
torch.save({"G": G.state_dict(), "G_ema": G_ema.state_dict()}, sys.argv[2])
"""


def _write_package(root: Path) -> None:
    (root / "torch_utils").mkdir()
    (root / "torch_utils" / "__init__.py").write_text("")
    (root / "torch_utils" / "persistence.py").write_text(FAKE_PERSISTENCE)
    (root / "dnnlib").mkdir()
    (root / "dnnlib" / "__init__.py").write_text("from . import util\nfrom .util import EasyDict\n")
    (root / "dnnlib" / "util.py").write_text(FAKE_DNNLIB_UTIL)
    (root / "fake_networks.py").write_text(FAKE_NETWORKS)


def _run_with_fake_stylegan(root: Path, script: str, *args: str) -> None:
    (root / "script.py").write_text(textwrap.dedent(script))
    env = dict(os.environ, PYTHONPATH=str(root))
    subprocess.run([sys.executable, str(root / "script.py"), *args], check=True, env=env, cwd=root)


@pytest.fixture(scope="module")
def snapshot_files(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("fake_stylegan")
    _write_package(root)
    pkl, expected = root / "network-snapshot-000000.pkl", root / "expected.pt"
    _run_with_fake_stylegan(root, MAKE_SNAPSHOT, str(pkl), str(expected))
    return pkl, expected


def test_fake_modules_are_not_importable_here():
    assert "torch_utils" not in sys.modules and "fake_networks" not in sys.modules


def test_snapshot_round_trip(snapshot_files):
    pkl, expected_path = snapshot_files
    modules_before = set(sys.modules)
    snapshot = read_persistent_pickle(pkl)
    foreign = ("torch_utils", "dnnlib", "fake_networks", "_imported_module_")
    assert not [name for name in set(sys.modules) - modules_before if name.startswith(foreign)]
    expected = torch.load(expected_path, weights_only=True)

    assert set(snapshot) == {"G", "D", "G_ema", "augment_pipe", "training_set_kwargs"}
    assert snapshot["D"] is None and snapshot["augment_pipe"] is None
    assert type(snapshot["training_set_kwargs"]) is dict
    assert snapshot["training_set_kwargs"]["path"] == "data.zip"

    for name in ("G", "G_ema"):
        record = snapshot[name]
        assert isinstance(record, PersistentRecord) and record.class_name == "Generator"
        state = record.state_dict()
        assert list(state) == list(expected[name])  # same keys, same order as nn.Module.state_dict()
        for key, tensor in expected[name].items():
            assert torch.equal(state[key], tensor), key
    assert "mapping.fc2.weight" in snapshot["G"].state_dict()
    assert "mapping.scratch" not in snapshot["G"].state_dict()
    assert snapshot["G_ema"].attributes["training"] is False


def test_record_fields(snapshot_files):
    G = read_persistent_pickle(snapshot_files[0])["G"]
    assert G.version == 6
    assert "class MappingNetwork" in G.module_src
    assert G.init_args == (8, 6)
    assert G.init_kwargs == {"img_resolution": 16, "mapping_kwargs": {"num_layers": 3}}
    assert type(G.init_kwargs["mapping_kwargs"]) is dict
    assert G.attributes["z_dim"] == 8 and G.attributes["img_resolution"] == 16
    np.testing.assert_array_equal(G.attributes["in_size"], [4, 4])
    assert G.parameters["unused"] is None and "unused" not in G.state_dict()
    mapping = G.children["mapping"]
    assert mapping.class_name == "MappingNetwork" and list(mapping.children) == ["fc0", "fc1", "fc2"]
    assert mapping.non_persistent_buffers == frozenset({"scratch"})
    fc0 = mapping.children["fc0"]
    assert fc0.init_args == (8, 6, 0.01)
    assert isinstance(fc0.attributes["weight_gain"], np.float64)
    assert fc0.attributes["weight_gain"] == pytest.approx(0.01 / np.sqrt(8))
    names = [name for name, _ in G.named_records()]
    assert names == ["", "mapping", "mapping.fc0", "mapping.fc1", "mapping.fc2"]


def _persistent_meta(module_src: str, state: dict) -> dict:
    return dict(type="class", version=6, module_src=module_src, class_name="Generator", state=state)


class _GlobalByName:
    """Stands for the global ``module.name`` in a pickle without that module existing here."""

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name

    def __call__(self, *args):
        raise AssertionError(f"{self.module}.{self.name} stands in for pickling only")

    def __reduce__(self):
        return self.name  # pickle then writes a global reference through save_global


class _PersistentStandIn:
    """Pickles as ``torch_utils.persistence._reconstruct_persistent_obj(meta)``, like a persistent class."""

    def __init__(self, meta: dict):
        self.meta = meta

    def __reduce__(self):
        return (_GlobalByName("torch_utils.persistence", "_reconstruct_persistent_obj"), (self.meta,))


class _GlobalWriter(pickle._Pickler):
    def save_global(self, obj, name=None):
        if isinstance(obj, _GlobalByName):
            self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())
            self.memoize(obj)
        else:
            super().save_global(obj, name)


def _dump_with_fake_persistence(obj, path: Path) -> None:
    with path.open("wb") as file:
        _GlobalWriter(file, protocol=4).dump(obj)


def test_embedded_source_is_never_executed(tmp_path):
    marker = tmp_path / "marker"
    source = f"open({str(marker)!r}, 'w').write('ran')\nclass Generator:\n    pass\n"
    weight = torch.arange(4.0)
    state = {
        "_parameters": OrderedDict(weight=torch.nn.Parameter(weight)),
        "_buffers": OrderedDict(),
        "_modules": OrderedDict(),
    }
    path = tmp_path / "snapshot.pkl"
    _dump_with_fake_persistence({"G": _PersistentStandIn(_persistent_meta(source, state))}, path)
    record = read_persistent_pickle(path)["G"]
    assert record.module_src == source
    assert torch.equal(record.state_dict()["weight"], weight)
    assert not marker.exists()


class _Calls:
    def __init__(self, function, *args):
        self.function, self.args = function, args

    def __reduce__(self):
        return (self.function, self.args)


def _attacks(marker: Path) -> list[tuple[object, str]]:
    return [
        (_Calls(os.system, f"touch {marker}"), "system"),
        (_Calls(eval, f"open({str(marker)!r}, 'w')"), "builtins.eval"),
        (_Calls(subprocess.Popen, ["touch", str(marker)]), "subprocess.Popen"),
        (_Calls(open, str(marker), "w"), "io.open"),
    ]


@pytest.mark.parametrize("attack_index", range(4), ids=["os.system", "eval", "Popen", "open"])
@pytest.mark.parametrize("hidden", [False, True], ids=["top-level", "inside-persistent-state"])
def test_malicious_pickle_is_refused_and_nothing_runs(tmp_path, attack_index, hidden):
    marker = tmp_path / "marker"
    attack, expected_name = _attacks(marker)[attack_index]
    path = tmp_path / "evil.pkl"
    if hidden:
        state = {"_parameters": OrderedDict(), "_init_kwargs": {"mapping_kwargs": attack}}
        _dump_with_fake_persistence({"G": _PersistentStandIn(_persistent_meta("", state))}, path)
    else:
        with path.open("wb") as file:
            pickle.dump({"G": attack}, file, protocol=4)
    with pytest.raises(UnsafePickleError) as caught:
        read_persistent_pickle(path)
    assert expected_name in caught.value.global_name
    assert caught.value.global_name in str(caught.value) and str(path) in str(caught.value)
    assert not marker.exists()


def test_plain_torch_module_class_is_refused(tmp_path):
    path = tmp_path / "module.pkl"
    with path.open("wb") as file:
        pickle.dump(torch.nn.Linear(2, 2), file)
    with pytest.raises(UnsafePickleError, match="torch.nn.modules.linear.Linear"):
        read_persistent_pickle(path)


def test_wrong_inputs(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.pkl"):
        read_persistent_pickle(tmp_path / "missing.pkl")
    zip_file = tmp_path / "checkpoint.pt"
    torch.save({"w": torch.ones(1)}, zip_file)
    with pytest.raises(LegacyFormatError, match="load_torch_file"):
        read_persistent_pickle(zip_file)
    legacy_file = tmp_path / "legacy.pt"
    torch.save({"w": torch.ones(1)}, legacy_file, _use_new_zipfile_serialization=False)
    with pytest.raises(LegacyFormatError, match="legacy torch.save file"):
        read_persistent_pickle(legacy_file)
    with_storage = tmp_path / "persistent_id.pkl"
    with_storage.write_bytes(b"\x80\x04" + b"X\x07\x00\x00\x00storage" + pickle.BINPERSID + pickle.STOP)
    with pytest.raises(UnsafePickleError, match="persistent id"):
        read_persistent_pickle(with_storage)
    bad_meta = tmp_path / "bad_meta.pkl"
    _dump_with_fake_persistence({"G": _PersistentStandIn({"type": "function"})}, bad_meta)
    with pytest.raises(LegacyFormatError, match="'function'"):
        read_persistent_pickle(bad_meta)
