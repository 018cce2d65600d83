"""Multi-source label completion for UKB MRI / retina (semi-MS) and UKB + ADNI / retina + RFMiD (real-MS):
the joint layouts and widths of spec §4.1, the completion rules of §5.4 (checked column by column against the
latent models drawn with the same seed), and training runs that save the fitted models and reuse them on
resume. Datasets are small synthetic folders in the documented layout (PNG images, dataset.json labels)."""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from mssg import load_snapshot
from mssg.data import CovariateImageDataset
from mssg.latent import load_latent_model
from mssg.losses import AuxLayout
from mssg.multisource import LabelCompleter
from mssg.train import build_completer
from PIL import Image


def _columns(kind: str, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Raw covariates of ``n`` synthetic images of one source (ages 45-80, ADNI 55-90)."""
    age = rng.uniform(45, 80, n)
    if kind == "ukb1":
        return {"age": age, "ventricle": np.exp(9.5 + 0.04 * (age - 60) + rng.normal(0, 0.3, n))}
    if kind == "ukb2":
        return {"age": age, "grey_matter": np.exp(13.4 - 0.004 * (age - 60) + rng.normal(0, 0.05, n))}
    if kind == "ukb_real":
        return {**_columns("ukb1", n, rng), "grey_matter": np.exp(13.4 + rng.normal(0, 0.05, n))}
    if kind == "adni":
        age = age + 10
        return {
            "Age": age,
            "left_hippocampus": 3500 - 20 * (age - 60) + rng.normal(0, 150, n),
            "right_hippocampus": 3600 - 18 * (age - 60) + rng.normal(0, 150, n),
        }
    cataract = (rng.random(n) < 1 / (1 + np.exp(-0.15 * (age - 70)))).astype(float)
    spherical = -0.08 * (age - 60) + rng.normal(0, 2.0, n)
    if kind == "retinal1":
        return {"age": age, "cataract": cataract}
    if kind == "retinal2":
        return {"age": age, "spherical_power_left": spherical}
    if kind == "retinal_real":
        return {"age": age, "cataract": cataract, "spherical_power_left": spherical}
    if kind == "rfmid":
        mh, tsln = (rng.random(n) < 0.2).astype(float), (rng.random(n) < 0.1).astype(float)
        return {"Disease_Risk": np.maximum(mh, tsln), "MH": mh, "TSLN": tsln}
    raise ValueError(kind)


def _write_root(root: Path, kind: str, channels: int, seed: int, counts=(60, 8, 8), size: int = 16) -> str:
    """A dataset ROOT with trainset/valset/testset image folders and pandas-style dataset.json labels."""
    rng = np.random.default_rng(seed)
    for split, n in zip(("trainset", "valset", "testset"), counts, strict=True):
        columns = _columns(kind, n, rng)
        labels = []
        for i in range(n):
            name = f"00000/img{i:08d}.png"
            path = root / split / name
            path.parent.mkdir(parents=True, exist_ok=True)
            pixels = rng.integers(0, 256, (size, size, channels), dtype=np.uint8)
            Image.fromarray(pixels[:, :, 0] if channels == 1 else pixels).save(path)
            labels.append([name, {key: {str(i): float(v[i])} for key, v in columns.items()}])
        (root / split / "dataset.json").write_text(json.dumps({"labels": labels}))
    return str(root)


SCENARIOS = {
    # name: (data name / source / kind / channels for each source, real multi-source)
    "semi_ukb": ((("ukb", "source1", "ukb1", 1), ("ukb", "source2", "ukb2", 1)), False),
    "semi_retinal": ((("retinal", "source1", "retinal1", 3), ("retinal", "source2", "retinal2", 3)), False),
    "real_mri": ((("ukb_real", "source1", "ukb_real", 1), ("adni", "source2", "adni", 1)), True),
    "real_retina": ((("retinal_real", "source1", "retinal_real", 3), ("rfmid", "source2", "rfmid", 3)), True),
}


def _datasets(tmp_path: Path, scenario: str) -> tuple[list[CovariateImageDataset], bool]:
    sources, real = SCENARIOS[scenario]
    datasets = [
        CovariateImageDataset(_write_root(tmp_path / f"{scenario}{k}", kind, channels, seed=k), name, source)
        for k, (name, source, kind, channels) in enumerate(sources)
    ]
    return datasets, real


def _labels(ds: CovariateImageDataset, count: int = 12) -> np.ndarray:
    return np.stack([ds.get_label(i) for i in range(count)])


def _raw_age(ds: CovariateImageDataset, labels: np.ndarray) -> np.ndarray:
    age = ds.raw_labels[:, 0]  # the trainset's raw ages: min-max statistics computed here by hand
    return labels[:, 0].astype(np.float64) * (age.max() - age.min()) + age.min()


@pytest.mark.parametrize("scenario", ["semi_ukb", "semi_retinal"])
def test_semi_ms_completion_imputes_from_the_other_sources_model(tmp_path, scenario):
    datasets, _ = _datasets(tmp_path, scenario)
    completer = build_completer(datasets, use_ground_truth=False)
    expected_layout = {
        "semi_ukb": ["age", "ventricle", "grey_matter"],
        "semi_retinal": ["age", "cataract", "spherical_power_left"],
    }[scenario]
    assert completer.layout == expected_layout and completer.c_dim == 3
    for own, other, imputed_col in ((0, 1, 2), (1, 0, 1)):
        labels = _labels(datasets[own])
        joint = completer.complete(own, labels, np.random.default_rng(4))
        assert joint.shape == (12, 3) and joint.dtype == np.float32
        own_cols = [c for c in range(3) if c != imputed_col]
        np.testing.assert_array_equal(joint[:, own_cols], labels)
        drawn = completer.models[other].sample_given_age_normalized(
            _raw_age(datasets[own], labels), np.random.default_rng(4)
        )
        np.testing.assert_allclose(joint[:, imputed_col], drawn[:, -1], rtol=1e-5, atol=1e-6)
    if scenario == "semi_retinal":
        cataract = completer.complete(1, _labels(datasets[1]), np.random.default_rng(0))[:, 1]
        assert set(np.unique(cataract)) <= {0.0, 1.0}


def test_real_ms_mri_completion_uses_the_joint_age_and_the_source_flag(tmp_path):
    datasets, real = _datasets(tmp_path, "real_mri")
    completer = build_completer(datasets, use_ground_truth=False, source_flag=real)
    assert completer.layout == [
        "age", "ventricle", "grey_matter", "left_hippocampus", "right_hippocampus", "source"
    ]  # fmt: skip
    assert completer.c_dim == 6
    ages = [ds.raw_labels[:, 0] for ds in datasets]
    lo, hi = min(a.min() for a in ages), max(a.max() for a in ages)
    for own, other in ((0, 1), (1, 0)):
        labels = _labels(datasets[own])
        joint = completer.complete(own, labels, np.random.default_rng(7))
        age = _raw_age(datasets[own], labels)
        np.testing.assert_allclose(joint[:, 0], (age - lo) / (hi - lo), rtol=1e-5)
        own_cols, imputed_cols = ([1, 2], [3, 4]) if own == 0 else ([3, 4], [1, 2])
        np.testing.assert_array_equal(joint[:, own_cols], labels[:, 1:])
        drawn = completer.models[other].sample_given_age_normalized(age, np.random.default_rng(7))
        np.testing.assert_allclose(joint[:, imputed_cols], drawn[:, 1:], rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(joint[:, 5], own)


def test_real_ms_retina_completion_draws_the_other_source_unconditionally(tmp_path):
    datasets, real = _datasets(tmp_path, "real_retina")
    completer = build_completer(datasets, use_ground_truth=False, source_flag=real)
    assert completer.layout == [
        "age", "cataract", "spherical_power_left", "Disease_Risk", "MH", "TSLN", "source"
    ]  # fmt: skip
    assert completer.c_dim == 7
    labels1, labels2 = _labels(datasets[0], 12), _labels(datasets[1], 12)
    joint1 = completer.complete(0, labels1, np.random.default_rng(1))
    np.testing.assert_array_equal(joint1[:, :3], labels1)
    np.testing.assert_array_equal(joint1[:, 3:6], completer.models[1].sample(12, np.random.default_rng(1)))
    np.testing.assert_array_equal(joint1[:, 3], joint1[:, 4:6].max(axis=1))  # Disease_Risk = any
    joint2 = completer.complete(1, labels2, np.random.default_rng(2))
    drawn = completer.models[0].sample_normalized(12, np.random.default_rng(2))
    np.testing.assert_allclose(joint2[:, :3], drawn, rtol=1e-6)
    np.testing.assert_array_equal(joint2[:, 3:6], labels2)
    assert (joint1[:, 6] == 0).all() and (joint2[:, 6] == 1).all()
    # The discriminator's auxiliary terms of loss_real_ms.py: MSE on c[:, [0, 2]], BCE on c[:, [1, 3, 4, 5]]
    # and on the source column.
    layout = AuxLayout.from_covariates(completer.covariates, completer.source_flag)
    assert layout == AuxLayout((0, 2), (1, 3, 4, 5), (), 6)


def test_completer_round_trips_through_its_dict(tmp_path):
    datasets, real = _datasets(tmp_path, "real_mri")
    completer = build_completer(datasets, use_ground_truth=False, source_flag=real)
    copy = LabelCompleter.from_dict(json.loads(json.dumps(completer.to_dict())))
    assert copy.layout == completer.layout and copy.data_names == ["ukb_real", "adni"]
    for s, ds in enumerate(datasets):
        np.testing.assert_array_equal(
            copy.complete(s, _labels(ds), np.random.default_rng(3)),
            completer.complete(s, _labels(ds), np.random.default_rng(3)),
        )


def test_pairs_without_a_completion_are_refused_before_fitting(tmp_path):
    ukb, _ = _datasets(tmp_path, "semi_ukb")
    retina, _ = _datasets(tmp_path, "semi_retinal")
    with pytest.raises(
        ValueError, match=r"no multi-source label completion for data names \['ukb', 'retinal'\]"
    ):
        build_completer([ukb[0], retina[1]], use_ground_truth=False)
    mri, _ = _datasets(tmp_path, "real_mri")
    with pytest.raises(ValueError, match="MRI: --data_name1 ukb, --data_name2 adni"):
        build_completer(mri[::-1], use_ground_truth=False, source_flag=True)
    with pytest.raises(ValueError, match=r"source1 \(ukb\) must be of type AgeConditionalModel, got object"):
        LabelCompleter("ukb", ["source1", "source2"], [{}, {}], [object(), object()])


@pytest.mark.slow
def test_semi_ms_ukb_training_saves_its_latent_models_and_reuses_them_on_resume(tmp_path, train_tiny):
    roots = [_write_root(tmp_path / f"ukb_source{k + 1}", f"ukb{k + 1}", 1, seed=k) for k in range(2)]
    train = functools.partial(train_tiny, roots, ["ukb", "ukb"], kimg=0)  # one iteration, the final snapshot
    run = train()
    (snapshot,) = run.glob("network-snapshot-*.pt")
    snap = load_snapshot(snapshot, c_dim=3)
    assert snap["meta"]["c_layout"] == ["age", "ventricle", "grey_matter"]
    saved = [load_latent_model(run / f"latent_model_source{k}.json") for k in (1, 2)]
    assert [m.regressed[0].name for m in saved] == ["ventricle", "grey_matter"]
    assert all(m.conditional_covariance and not m.half_logit for m in saved)  # correct sampling by default
    assert snap["meta"]["completer"]["models"] == [m.to_dict() for m in saved]
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert all(math.isfinite(v) for r in records for k, v in r.items() if k.startswith("Loss/"))

    # A marked model file beside the snapshot is what a resumed run uses, unless --refit asks for a new fit.
    path = run / "latent_model_source2.json"
    marked = json.loads(path.read_text())
    marked["regressed"][0]["mean"] += 1.0
    path.write_text(json.dumps(marked))
    resumed = train(resume=str(snapshot), exact_resume=True)
    assert json.loads((resumed / "latent_model_source2.json").read_text()) == marked
    refit = train(resume=str(snapshot), exact_resume=True, refit=True, latent_mssg_sampling=True)
    refitted = load_latent_model(refit / "latent_model_source2.json")
    assert not refitted.conditional_covariance and refitted.half_logit  # MSSG's sampling, for parity
    refitted.conditional_covariance, refitted.half_logit = True, False
    assert refitted.to_dict() == saved[1].to_dict()
    path.unlink()
    with pytest.raises(ValueError, match="latent_model_source2.json'] are missing"):
        train(resume=str(snapshot), exact_resume=True)


@pytest.mark.slow
def test_real_ms_mri_training_maps_ukb_to_the_real_ms_schema(tmp_path, train_tiny):
    roots = [
        _write_root(tmp_path / "ukb", "ukb_real", 1, seed=0),
        _write_root(tmp_path / "adni", "adni", 1, seed=1),
    ]
    run = train_tiny(roots, ["ukb", "adni"], kimg=0, real_multisource=True)  # train_real_ms.py's data names
    (snapshot,) = run.glob("network-snapshot-*.pt")
    snap = load_snapshot(snapshot, c_dim=6)
    assert snap["meta"]["completer"]["data_names"] == ["ukb_real", "adni"]
    assert snap["D"](torch.zeros(2, 1, 16, 16), torch.zeros(2, 6)).shape == (2, 7)
    assert load_latent_model(run / "latent_model_source2.json").dataset == "adni"
