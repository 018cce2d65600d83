"""Snapshot loading from genuine persistence-style pickles (made here), our format, and refusal of payloads.

A subprocess puts stand-ins for ``torch_utils/persistence.py`` and ``dnnlib/util.py`` on ``sys.path`` that
pickle exactly as NVlabs stylegan3 does (every network class decorated with ``persistent_class``; its
instances reduce to ``_reconstruct_persistent_obj(meta)`` with the module source, class name and ``__dict__``
state; init kwargs captured as ``EasyDict``), decorates the network classes, trains nothing, writes a
``network-snapshot``-style pickle and the reference outputs of its G_ema and D. This process never imports
those modules.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from insilico_core.legacy import UnsafePickleError
from mssg import load_snapshot, save_snapshot
from mssg.networks import Discriminator, stylegan2

FAKE_PERSISTENCE = """
import copy, inspect, sys

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
                meta = dict(type="class", version=6, module_src=self._orig_module_src,
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

FAKE_DNNLIB = """
class EasyDict(dict):
    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name)

    def __setattr__(self, name, value):
        self[name] = value
"""

MAKE_SNAPSHOT = """
import os, pickle, sys, torch
import dnnlib
from torch_utils import persistence
import insilico_core.nn.mapping as core_mapping
import mssg.networks.stylegan2 as sg2, mssg.networks.stylegan3 as sg3, mssg.networks.discriminator as disc

# Decorate every network class the way stylegan's @persistence.persistent_class does.
core_mapping.EqualizedLinear = persistence.persistent_class(core_mapping.EqualizedLinear)
for module in (sg2, sg3, disc):
    for name in ("SynthesisLayer", "ToRGBLayer", "SynthesisBlock", "SynthesisNetwork", "SynthesisInput",
                 "Generator", "DiscriminatorBlock", "DiscriminatorEpilogue", "Discriminator",
                 "MappingNetwork", "EqualizedLinear", "EqualizedConv2d", "MinibatchStdDev"):
        if hasattr(module, name):
            setattr(module, name, persistence.persistent_class(getattr(module, name)))

family, out, ref, marker = sys.argv[1:5]
torch.manual_seed(0)
G_cls = sg3.Generator if family == "sg3" else sg2.Generator
g_kwargs = dnnlib.EasyDict(z_dim=16, w_dim=16, mapping_kwargs=dnnlib.EasyDict(num_layers=2), channel_base=256,
                           channel_max=16, num_fp16_res=4, conv_clamp=256, c_dim=3, img_resolution=16,
                           img_channels=1)
if family == "sg2":
    g_kwargs.fused_modconv_default = "inference_only"
if marker != "-":  # a hostile module source: the original loader would exec() it
    G_cls._orig_module_src = f"open({marker!r}, 'w').write('ran')\\n" + G_cls._orig_module_src
G = G_cls(**g_kwargs)
G_ema = G_cls(**g_kwargs).eval().requires_grad_(False)
with torch.no_grad():
    for p in G_ema.parameters():
        p.add_(0.1 * torch.randn_like(p))
# sg2: MSSG's covariate-head D; sg3: a stock projection D (its init kwargs name no `conditioning`, as stock's)
conditioning = "projection" if family == "sg3" else "aux"
D = disc.Discriminator(c_dim=3, img_resolution=16, img_channels=1, channel_base=256, channel_max=16,
                       block_kwargs=dnnlib.EasyDict(freeze_layers=0), mapping_kwargs=dnnlib.EasyDict(),
                       epilogue_kwargs=dnnlib.EasyDict(mbstd_group_size=4), conditioning=conditioning)
del D._init_kwargs["conditioning"]
snapshot = dict(G=G, D=D, G_ema=G_ema, augment_pipe=None,
                training_set_kwargs=dnnlib.EasyDict(class_name="training.dataset.MorphoMNISTDataset_causal",
                                                    path="/data/mnist_source1", use_labels=True,
                                                    resolution=16))
with open(out, "wb") as f:
    pickle.dump(snapshot, f, protocol=4)
z, c, img = torch.randn(4, 16), torch.randn(4, 3), torch.randn(4, 1, 16, 16)
with torch.no_grad():
    torch.save(dict(z=z, c=c, img=img, g=G_ema(z, c, truncation_psi=0.7, noise_mode="const"),
    d=D.eval()(img, c)), ref)
"""


def _make_snapshot(tmp_path: Path, family: str, marker: str = "-") -> tuple[Path, dict]:
    root = tmp_path / "stand_in"
    (root / "torch_utils").mkdir(parents=True)
    (root / "torch_utils" / "__init__.py").write_text("")
    (root / "torch_utils" / "persistence.py").write_text(FAKE_PERSISTENCE)
    (root / "dnnlib").mkdir()
    (root / "dnnlib" / "__init__.py").write_text("from . import util\nfrom .util import EasyDict\n")
    (root / "dnnlib" / "util.py").write_text(FAKE_DNNLIB)
    (root / "make.py").write_text(textwrap.dedent(MAKE_SNAPSHOT))
    out, ref = tmp_path / f"network-snapshot-{family}.pkl", tmp_path / f"ref-{family}.pt"
    env = {**os.environ, "PYTHONPATH": str(root), "INSILICO_OPS": "ref"}
    subprocess.run(
        [sys.executable, str(root / "make.py"), family, str(out), str(ref), marker],
        check=True,
        env=env,
        cwd=tmp_path,
        capture_output=True,
    )
    return out, torch.load(ref, weights_only=True)


@pytest.mark.parametrize("family", ["sg2", "sg3"])
def test_original_snapshot_loads_and_reproduces_outputs(tmp_path, family):
    marker = tmp_path / "payload-ran"  # the sg2 G's module source would create it if it were executed
    path, ref = _make_snapshot(tmp_path, family, marker=str(marker) if family == "sg2" else "-")
    snap = load_snapshot(path)
    assert not marker.exists()
    assert set(snap) >= {"G", "D", "G_ema", "augment_pipe", "training_set_kwargs"}
    assert snap["augment_pipe"] is None
    assert snap["training_set_kwargs"]["path"] == "/data/mnist_source1"
    G_ema, D = snap["G_ema"], snap["D"]
    expected_cls = "stylegan3" if family == "sg3" else "stylegan2"
    assert type(G_ema).__module__ == f"mssg.networks.{expected_cls}"
    assert (G_ema.z_dim, G_ema.c_dim, G_ema.img_resolution) == (16, 3, 16)
    assert not G_ema.training and not any(p.requires_grad for p in G_ema.parameters())
    torch.testing.assert_close(G_ema(ref["z"], ref["c"], truncation_psi=0.7, noise_mode="const"), ref["g"])
    torch.testing.assert_close(D(ref["img"], ref["c"]), ref["d"])
    if family == "sg2":
        assert D.conditioning == "aux" and ref["d"].shape == (4, 4)  # logit + 3 covariate predictions
    else:
        assert D.conditioning == "projection" and ref["d"].shape == (4, 1)


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_code_executing_payload_is_refused_without_running(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "network-snapshot-000000.pkl"
    path.write_bytes(pickle.dumps({"G": _Payload(marker), "D": None, "G_ema": None}, protocol=4))
    with pytest.raises(UnsafePickleError, match="system"):
        load_snapshot(path)
    assert not marker.exists()


def test_own_format_roundtrip_and_c_dim_check(tmp_path):
    torch.manual_seed(0)
    G = stylegan2.Generator(
        z_dim=8, c_dim=2, w_dim=8, img_resolution=8, img_channels=1, channel_base=64, channel_max=8
    ).eval()
    D = Discriminator(c_dim=2, img_resolution=8, img_channels=1, channel_base=64, channel_max=8)
    path = save_snapshot(
        tmp_path / "snap.pt",
        G,
        D,
        G,
        training_set_kwargs={"path": "x"},
        meta={"kimg": 4, "c_layout": ["a", "b"]},
    )
    torch.load(path, weights_only=True)
    snap = load_snapshot(path)
    z, c = torch.randn(2, 8), torch.randn(2, 2)
    torch.testing.assert_close(snap["G_ema"](z, c, noise_mode="const"), G(z, c, noise_mode="const"))
    assert snap["meta"]["c_layout"] == ["a", "b"] and snap["training_set_kwargs"] == {"path": "x"}
    with pytest.raises(ValueError, match="c_dim=2 covariates, but c_dim=13"):
        load_snapshot(path, c_dim=13)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pkl"):
        load_snapshot(tmp_path / "nope.pkl")
