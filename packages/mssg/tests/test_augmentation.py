"""MSSG discriminator augmentation: options -> pipe, the ADA update of p, snapshots carrying the pipe."""

from __future__ import annotations

import pickle
import sys
import types

import pytest
import torch
from insilico_core.augment import AUGPIPE_PRESETS, AugmentPipe
from insilico_core.legacy import LegacyFormatError
from mssg import load_snapshot, save_snapshot
from mssg.augmentation import AdaController, build_augment_pipe


def test_aug_modes_build_the_stylegan3_pipe():
    assert build_augment_pipe("noaug") is None
    ada = build_augment_pipe("ada", target=0.6)
    assert float(ada.p) == 0.0  # ADA starts without augmentation
    # stylegan3's train.py: xflip, rotate90, xint, scale, rotate, aniso, xfrac, brightness, contrast,
    # lumaflip, hue, saturation = 1; everything else off
    enabled = {k for k, v in ada.init_kwargs.items() if k in AUGPIPE_PRESETS["bgcfnc"] and v > 0}
    assert enabled == {
        "xflip", "rotate90", "xint", "scale", "rotate", "aniso", "xfrac",
        "brightness", "contrast", "lumaflip", "hue", "saturation",
    }  # fmt: skip
    fixed = build_augment_pipe("fixed", p=0.3)
    assert float(fixed.p) == pytest.approx(0.3)
    assert build_augment_pipe("fixed", p=0.0) is None  # the original builds no pipe for a zero fixed p
    assert build_augment_pipe("ada", augpipe="bgcfnc").init_kwargs["cutout"] == 1.0
    assert not any(t.requires_grad for t in ada.buffers())


@pytest.mark.parametrize(
    ("kwargs", "flag"),
    [({"aug": "adaptive"}, "--aug"), ({"aug": "ada", "augpipe": "bgcx"}, "--augpipe"),
     ({"aug": "fixed", "p": 1.5}, "--p"), ({"aug": "ada", "target": -0.1}, "--target")],
)  # fmt: skip
def test_bad_options_name_the_flag(kwargs, flag):
    with pytest.raises(ValueError, match=flag):
        build_augment_pipe(**kwargs)


def _run(controller: AdaController, logits_per_step: list[torch.Tensor]) -> list[float]:
    """Training steps 1, 2, ...: one real D pass each, then the controller; p after every step."""
    trace = []
    for batch_idx, logits in enumerate(logits_per_step, start=1):
        _run_from(controller, batch_idx, [logits])
        trace.append(float(controller.pipe.p))
    return trace


def test_ada_moves_p_by_the_sign_of_the_real_logits():
    pipe = build_augment_pipe("ada")
    controller = AdaController(pipe, target=0.6, batch_size=64, interval=4, kimg=0.5)
    unit = 64 * 4 / 500  # batch * interval / (kimg * 1000) = 0.512
    overfit = torch.tensor([2.0, 1.0, 0.5, 3.0])  # r_t = 1 > 0.6
    trace = _run(controller, [overfit] * 8)
    # adjustments after steps 4 and 8 (stylegan3: batch_idx % ada_interval == 0 after batch_idx += 1)
    expected = [0.0] * 3 + [unit] * 4 + [2 * unit]
    assert trace == pytest.approx(expected, abs=1e-6)
    assert controller.last_signs_mean == 1.0

    at_target = torch.tensor([1.0, 1.0, 1.0, 1.0, -1.0])  # r_t = 3/5 = target: p stays
    p_before = float(pipe.p)
    _run(controller, [at_target] * 4)
    assert float(pipe.p) == pytest.approx(p_before, abs=1e-6)

    underfit = torch.tensor([-1.0, -2.0, 0.5, -0.1])  # r_t = -0.5 < 0.6: p falls, never below 0
    trace = _run(controller, [underfit] * 40)
    assert trace[-1] == 0.0 and min(trace) == 0.0


def test_ada_averages_every_logit_since_the_last_adjustment():
    pipe = build_augment_pipe("ada")
    controller = AdaController(pipe, target=0.6, batch_size=4, interval=4, kimg=1)  # unit 0.016
    controller.step(0)  # an adjustment with nothing recorded: p unchanged
    assert float(pipe.p) == 0.0 and controller.last_signs_mean is None
    mixed, positive = torch.tensor([1.0, 1, 1, -1, -1]), torch.ones(5)
    # steps 1-4: 3 + 3 + 3 + 5 = 14 of 20 positive, r_t = (14 - 6) / 20 = 0.4 < 0.6: p stays clamped at 0
    _run_from(controller, 1, [mixed, mixed, mixed, positive])
    assert controller.last_signs_mean == pytest.approx(0.4) and float(pipe.p) == 0.0
    # steps 5-8: r_t = (5 + 5 + 5 + 1) / 20 = 0.8 > 0.6 although the last batch alone has 0.2: p rises
    _run_from(controller, 5, [positive, positive, positive, mixed])
    assert controller.last_signs_mean == pytest.approx(0.8)
    assert float(pipe.p) == pytest.approx(4 * 4 / 1000)


def _run_from(controller: AdaController, first_step: int, logits_per_step: list[torch.Tensor]) -> None:
    for batch_idx, logits in enumerate(logits_per_step, start=first_step):
        controller.record(logits)
        controller.step(batch_idx)


def test_snapshot_round_trip_keeps_the_pipe_and_its_p(tmp_path):
    pipe = build_augment_pipe("ada", augpipe="bgcf")
    pipe.p.fill_(0.123)
    path = save_snapshot(tmp_path / "network-snapshot-000004.pt", None, None, None, augment_pipe=pipe)
    loaded = load_snapshot(path)["augment_pipe"]
    assert isinstance(loaded, AugmentPipe)
    assert loaded.init_kwargs == pipe.init_kwargs
    for key, value in pipe.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)
    images = torch.randn(2, 3, 32, 32)
    torch.testing.assert_close(
        loaded(images, generator=torch.Generator().manual_seed(0)),
        pipe(images, generator=torch.Generator().manual_seed(0)),
    )


def _reconstruct_persistent_obj(meta):
    raise RuntimeError("only pickled here, never loaded through this function")


class _Persistent:
    """Pickles exactly as a ``torch_utils.persistence`` instance: ``_reconstruct_persistent_obj(meta)``."""

    def __init__(self, meta):
        self.meta = meta

    def __reduce__(self):
        return _reconstruct_persistent_obj, (self.meta,)


def _original_pickle(path, monkeypatch, init_kwargs, state_dict=None) -> None:
    """A stylegan3-style snapshot whose only entry is a persistent AugmentPipe record."""
    persistence = types.ModuleType("torch_utils.persistence")
    persistence._reconstruct_persistent_obj = _reconstruct_persistent_obj
    monkeypatch.setattr(_reconstruct_persistent_obj, "__module__", "torch_utils.persistence")
    monkeypatch.setattr(_reconstruct_persistent_obj, "__qualname__", "_reconstruct_persistent_obj")
    monkeypatch.setitem(sys.modules, "torch_utils", types.ModuleType("torch_utils"))
    monkeypatch.setitem(sys.modules, "torch_utils.persistence", persistence)
    pipe = AugmentPipe(**init_kwargs)
    pipe.p.fill_(0.37)  # what a run with --aug ada had reached
    state = {k: v for k, v in pipe.__dict__.items() if k != "_constructor_arguments"}
    if state_dict is not None:
        state["_buffers"] = state_dict
    state.update(_init_args=(), _init_kwargs=dict(init_kwargs))
    meta = dict(type="class", version=6, module_src="class AugmentPipe(torch.nn.Module): ...",
                class_name="AugmentPipe", state=state)  # fmt: skip
    snapshot = dict(G=None, D=None, G_ema=None, augment_pipe=_Persistent(meta), training_set_kwargs=None)
    path.write_bytes(pickle.dumps(snapshot, protocol=4))


def test_original_snapshot_augment_pipe_loads(tmp_path, monkeypatch):
    path = tmp_path / "network-snapshot-000100.pkl"
    kwargs = dict(AUGPIPE_PRESETS["bgc"], xint_max=0.25)
    _original_pickle(path, monkeypatch, kwargs)
    pipe = load_snapshot(path)["augment_pipe"]
    assert isinstance(pipe, AugmentPipe)
    assert float(pipe.p) == pytest.approx(0.37)
    assert pipe.xint_max == 0.25 and pipe.saturation == 1.0 and pipe.imgfilter == 0.0
    assert list(pipe.state_dict()) == ["p", "Hz_geom", "Hz_fbank"]


def test_original_snapshot_with_foreign_pipe_tensors_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "network-snapshot-000100.pkl"
    bad = {"p": torch.tensor(0.5), "Hz_geom": torch.ones(8), "Hz_fbank": torch.ones(4, 43)}
    _original_pickle(path, monkeypatch, AUGPIPE_PRESETS["bg"], state_dict=bad)
    with pytest.raises(LegacyFormatError, match="Hz_geom"):
        load_snapshot(path)


def _train_morpho(tmp_path, train_tiny, **overrides):
    """Four iterations of 4 images per source of a tiny Morpho-MNIST MSSG; returns the run directory."""
    from insilico_core.data.simulate.morpho_digits import simulate_morpho_digits

    sim = simulate_morpho_digits(tmp_path / "sim", n=40, seed=0)
    data = [str(sim / "mnist_source1"), str(sim / "mnist_source2")]
    return train_tiny(data, ["mnist-thickness-intensity-slant"] * 2, kimg=0.016, tick=0.016, **overrides)


@pytest.mark.slow
def test_training_with_ada_feeds_real_logits_to_the_controller_and_saves_the_pipe(
    tmp_path, monkeypatch, train_tiny
):
    recorded = []
    record = AdaController.record

    def spy(self, real_logits):
        recorded.append(real_logits.detach().clone())
        return record(self, real_logits)

    monkeypatch.setattr(AdaController, "record", spy)
    run = _train_morpho(tmp_path, train_tiny, aug="ada", augpipe="bgc")
    assert recorded and all(r.dim() == 1 for r in recorded)
    # one adjustment after step 4: p = max(0, sign(E[sign(D(real))] - target) * batch * 4 / (500 kimg))
    r_t = float(torch.cat(recorded).sign().mean())
    expected = max(0.0, (1.0 if r_t > 0.6 else -1.0 if r_t < 0.6 else 0.0) * 4 * 4 / 500_000)
    (snapshot,) = sorted(run.glob("network-snapshot-*.pt"))
    pipe = load_snapshot(snapshot)["augment_pipe"]
    assert isinstance(pipe, AugmentPipe)
    assert pipe.init_kwargs == AugmentPipe(**AUGPIPE_PRESETS["bgc"]).init_kwargs
    assert float(pipe.p) == pytest.approx(expected, abs=1e-12)


@pytest.mark.slow
def test_training_with_fixed_augmentation_keeps_p_and_logs_it(tmp_path, train_tiny):
    import json

    run = _train_morpho(tmp_path, train_tiny, aug="fixed", augpipe="bg", p=0.5)
    (snapshot,) = sorted(run.glob("network-snapshot-*.pt"))
    pipe = load_snapshot(snapshot)["augment_pipe"]
    assert pipe.init_kwargs == AugmentPipe(**AUGPIPE_PRESETS["bg"]).init_kwargs and float(pipe.p) == 0.5
    logged = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["augment"] for r in logged if "augment" in r] == [0.5]
