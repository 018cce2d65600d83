"""Dataset reading, label normalisation, dataset-tool splits, latent models, label completion and losses,
checked against hand-computed values, numpy formulas and scipy / sklearn-equivalent references."""

from __future__ import annotations

import json
import math
import zipfile

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from insilico_core.data.simulate.morpho_digits import simulate_morpho_digits
from mssg.covariates import MORPHO_SOURCE1, Covariate, denormalize_column, normalize_column, schema
from mssg.data import CovariateImageDataset
from mssg.dataset_tool import convert_dataset, train_test_split_indices
from mssg.latent import MorphoCovariateModel, fit_sigmoid_curve, sigmoid_curve
from mssg.losses import AuxLayout, adversarial_loss, aux_loss, lambda_schedule
from mssg.multisource import MORPHO, LabelCompleter, fit_morpho_models
from PIL import Image


@pytest.fixture(scope="module")
def morpho(tmp_path_factory):
    return simulate_morpho_digits(tmp_path_factory.mktemp("sim"), n=24, seed=3)


def test_morpho_dataset_labels_are_normalised_with_train_stats(morpho):
    train = CovariateImageDataset(morpho / "mnist_source1", MORPHO, "source1")
    val = CovariateImageDataset(morpho / "mnist_source1", MORPHO, "source1", mode="val")
    raw = np.array(
        [
            [r["thickness"], r["intensity"], r["label"]]
            for _, r in json.loads((morpho / "mnist_source1/trainset/dataset.json").read_text())["labels"]
        ]
    )
    mean, std = raw[:, :2].mean(0), raw[:, :2].std(0)  # population std, train labels
    np.testing.assert_allclose(train.labels[:, :2], (raw[:, :2] - mean) / std, rtol=1e-5)
    assert train.labels[:, 2:].sum(1).tolist() == [1.0] * len(train)
    assert train.labels[np.arange(len(train)), 2 + raw[:, 2].astype(int)].tolist() == [1.0] * len(train)
    val_raw = val.raw_labels[:, :2]
    np.testing.assert_allclose(val.labels[:, :2], (val_raw - mean) / std, rtol=1e-5)
    img, label = train[0]
    assert img.dtype == torch.uint8 and img.shape == (1, 32, 32) and label.shape == (12,)


def test_pandas_style_labels_and_log_minmax_transforms(tmp_path):
    split = tmp_path / "root" / "trainset"
    (split / "00000").mkdir(parents=True)
    ages, vols = [50.0, 60.0, 70.0], [1000.0, 2000.0, 4000.0]
    rows = []
    for i, (a, v) in enumerate(zip(ages, vols, strict=True)):
        Image.fromarray(np.full((8, 8), i * 40, np.uint8)).save(split / f"00000/img{i:08d}.png")
        rows.append([f"00000/img{i:08d}.png", {"age": {str(i + 7): a}, "ventricle": {str(i + 7): v}}])
    (split / "dataset.json").write_text(json.dumps({"labels": rows}))
    ds = CovariateImageDataset(tmp_path / "root", "ukb", "source1")
    logs = np.log(vols)
    np.testing.assert_allclose(ds.labels[:, 0], [0.0, 0.5, 1.0])
    np.testing.assert_allclose(ds.labels[:, 1], (logs - logs.mean()) / logs.std(), rtol=1e-6)


def test_missing_labels_are_named(tmp_path, morpho):
    observed_only = simulate_morpho_digits(tmp_path / "observed", n=4, seed=0, full_labels=False)
    with pytest.raises(ValueError, match="has no 'slant'"):
        CovariateImageDataset(observed_only / "mnist_source1", MORPHO, "source2")
    bad = tmp_path / "bad" / "trainset"
    bad.mkdir(parents=True)
    (bad / "dataset.json").write_text(json.dumps({"labels": None}))
    with pytest.raises(ValueError, match="has no labels"):
        CovariateImageDataset(tmp_path / "bad", MORPHO, "source1")
    with pytest.raises(FileNotFoundError, match="dataset.json"):
        CovariateImageDataset(tmp_path / "nothing", MORPHO, "source1")
    with pytest.raises(ValueError, match="needs source"):
        schema(MORPHO, None)


def test_zip_root_reads_like_a_folder(tmp_path, morpho):
    archive = tmp_path / "mnist_source2.zip"
    root = morpho / "mnist_source2"
    with zipfile.ZipFile(archive, "w") as z:
        for path in (root / "trainset").rglob("*"):
            if path.is_file():
                z.write(path, path.relative_to(root).as_posix())
    a = CovariateImageDataset(archive, MORPHO, "source2")
    b = CovariateImageDataset(root, MORPHO, "source2")
    assert torch.equal(a[3][0], b[3][0]) and torch.equal(a[3][1], b[3][1])


def test_split_indices_match_sklearn_semantics():
    train, test = train_test_split_indices(10, 0.35)
    perm = np.random.RandomState(42).permutation(10)
    assert test.tolist() == perm[:4].tolist() and train.tolist() == perm[4:].tolist()  # ceil(3.5) = 4 test


def test_dataset_tool_csv_source_writes_pandas_labels(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    rows = ["path,age,cataract,spherical_power_left"]
    for i in range(20):
        Image.fromarray(np.full((12, 16, 3), i, np.uint8)).save(src / f"{i}.jpg")
        rows.append(f"{i}.jpg,{40 + i},{i % 2},{i - 10}")
    (tmp_path / "table.csv").write_text("\n".join(rows))
    counts = {
        w: convert_dataset(
            src,
            tmp_path / "out",
            "retinal",
            tmp_path / "table.csv",
            w,
            resolution=(8, 8),
            transform="center-crop",
        )
        for w in ("train", "val", "test")
    }
    assert counts == {"test": 6, "train": 12, "val": 2}  # 30 % test, then 10 % (ceil) of the rest
    labels = json.loads((tmp_path / "out/trainset/dataset.json").read_text())["labels"]
    assert set(labels[0][1]) == {"age", "cataract", "spherical_power_left"}
    assert isinstance(labels[0][1]["age"], dict)
    ds = CovariateImageDataset(tmp_path / "out", "retinal", "source2")
    assert ds.image_shape == [3, 8, 8] and ds.label_dim == 2


def test_normalize_roundtrip():
    cov = Covariate("v", "zlog100")
    stats = {"v": {"mean": 4.6, "std": 0.1, "min": 0.0, "max": 1.0}}
    values = np.array([-5.0, 0.0, 7.5])
    np.testing.assert_allclose(
        denormalize_column(normalize_column(values, cov, stats)[:, 0], cov, stats), values, atol=1e-5
    )


def test_sigmoid_fit_matches_scipy_curve_fit():
    optimize = pytest.importorskip("scipy.optimize")
    rng = np.random.default_rng(0)
    t = 0.5 + rng.gamma(10, 0.2, 400)
    y = 191 / (1 + np.exp(-(2 * t - 5 + rng.normal(0, 0.5, 400)))) + 64
    p0 = [1, 0, y.mean(), y.mean()]
    ours = fit_sigmoid_curve(t, y, p0)
    ref, _ = optimize.curve_fit(sigmoid_curve, t, y, p0=p0)
    cost = lambda p: np.sum((sigmoid_curve(t, *p) - y) ** 2)  # noqa: E731
    assert cost(ours) <= cost(ref) * (1 + 1e-6)
    np.testing.assert_allclose(sigmoid_curve(t, *ours), sigmoid_curve(t, *ref), rtol=1e-4)


def test_morpho_model_moments_and_ground_truth():
    rng = np.random.default_rng(1)
    t = 0.5 + rng.gamma(10, 0.2, 2000)
    s = 56 * np.tanh(t - 2.5 + rng.normal(0, 0.3, 2000))
    model = MorphoCovariateModel.fit(t, s, rng.integers(0, 10, 2000), "slant")
    x = (t - t.min() + 1e-4) / (t.max() - t.min() + 2e-4)
    m, v = x.mean(), x.var()
    assert model.alpha_thickness == pytest.approx(m * (m * (1 - m) / v - 1))
    assert model.beta_thickness == pytest.approx((1 - m) * (m * (1 - m) / v - 1))
    # 56 tanh(u) = 112 sigmoid(2 u) - 56: the fitted curve recovers the structural equation (noise flattens
    # a bit)
    np.testing.assert_allclose(model.params, [2.0, 2.5, 112.0, -56.0], rtol=0.15)
    imputed = model.sample_target(t, rng)
    assert np.corrcoef(imputed, s)[0, 1] > 0.7  # two independent noisy draws given the same thickness
    gt = MorphoCovariateModel.ground_truth("intensity").sample_target(np.full(5000, 2.5), rng)
    assert abs(np.median(gt) - (191 * 0.5 + 64)) < 3  # sigmoid(2 * 2.5 - 5) = 0.5 at the median noise


def test_completion_inserts_the_other_source_covariate(morpho):
    ds = [CovariateImageDataset(morpho / f"mnist_{s}", MORPHO, s) for s in ("source1", "source2")]
    models = fit_morpho_models(ds[0].raw_labels, ds[1].raw_labels, use_ground_truth=True)
    completer = LabelCompleter(MORPHO, ["source1", "source2"], [d.stats for d in ds], models)
    rng = np.random.default_rng(0)
    c1 = completer.complete(0, ds[0].labels[:4], rng)
    c2 = completer.complete(1, ds[1].labels[:4], rng)
    assert c1.shape == (4, 13) and completer.c_dim == 13
    np.testing.assert_array_equal(c1[:, [0, 1]], ds[0].labels[:4, :2])
    np.testing.assert_array_equal(c1[:, 3:], ds[0].labels[:4, 2:])
    np.testing.assert_array_equal(c2[:, [0, 2]], ds[1].labels[:4, :2])
    roundtrip = LabelCompleter.from_dict(json.loads(json.dumps(completer.to_dict())))
    assert roundtrip.layout == ["thickness", "intensity", "slant", "label"]


def test_lambda_schedule_values():
    assert lambda_schedule(1000, 0.1, 1000) == 0.0
    assert lambda_schedule(1500, 0.1, 1000) == pytest.approx(math.exp(-10))
    assert lambda_schedule(9500, 1.0, 1000) == pytest.approx(math.exp(-2))
    assert lambda_schedule(9500, 0.01, 1000) == pytest.approx(0.01)
    assert lambda_schedule(10000, 0.1, 1000) == 0.1


def test_aux_and_adversarial_losses_match_hand_formulas():
    torch.manual_seed(0)
    covs = (*MORPHO_SOURCE1[:2], Covariate("cataract", "raw"), MORPHO_SOURCE1[2])
    layout = AuxLayout.from_covariates(covs)
    assert layout == AuxLayout((0, 1), (2,), (tuple(range(3, 13)),))
    assert AuxLayout.from_covariates(schema("nacc", None)) == AuxLayout((0,), (), ((1, 2, 3),))
    pred, c = torch.randn(5, 13), torch.randn(5, 13)
    c[:, 2] = torch.tensor([0.0, 1, 1, 0, 1])
    expected = ((pred[:, :2] - c[:, :2]) ** 2).mean()
    p = torch.sigmoid(pred[:, 2])
    expected = expected - (c[:, 2] * p.log() + (1 - c[:, 2]) * (1 - p).log()).mean()
    expected = expected + F.cross_entropy(pred[:, 3:], c[:, 3:].argmax(1))
    torch.testing.assert_close(aux_loss(pred, c, layout), expected)
    logits = torch.randn(6)
    torch.testing.assert_close(
        adversarial_loss(logits, True, "bce_sigmoid"), F.softplus(-logits), atol=1e-5, rtol=1e-5
    )
    torch.testing.assert_close(adversarial_loss(logits, False, "softplus"), F.softplus(logits))
