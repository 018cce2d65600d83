"""mssg-dataset-tool sources (UKB MRI, UKB retina, ADNI, NACC, RFMiD, EyePACS, OASIS-3) on tiny synthetic
inputs: slices against numpy take / rot90 / min-max by hand, splits against sklearn's documented permutation
semantics, pandas-style label dicts, and what CovariateImageDataset returns (spec §3.4 formulas in numpy)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from insilico_core.data import read_nifti, write_nifti
from mssg.csv_table import read_csv, train_test_split_indices
from mssg.data import CovariateImageDataset
from mssg.dataset_tool import convert_dataset, dataset_tool
from PIL import Image

SPLITS = ("train", "val", "test")
FOLDERS = {"train": "trainset", "val": "valset", "test": "testset"}


def _permutation_split(n: int, test: float, val: float) -> dict[str, list[int]]:
    """Positions of each split, written out from sklearn's definition: ceil(test * n) first of the seed-42
    permutation are test; of the rest (in that order) the ceil(val * m) first of a new seed-42 permutation
    are val."""
    perm = np.random.RandomState(42).permutation(n)
    n_test = math.ceil(test * n)
    rest = perm[n_test:]
    perm2 = np.random.RandomState(42).permutation(len(rest))
    n_val = math.ceil(val * len(rest))
    return {
        "test": perm[:n_test].tolist(),
        "val": rest[perm2[:n_val]].tolist(),
        "train": rest[perm2[n_val:]].tolist(),
    }


def _labels(root, which):
    return json.loads((root / FOLDERS[which] / "dataset.json").read_text())["labels"]


def _minmax_slice(volume: np.ndarray) -> np.ndarray:
    plane = np.rot90(np.take(volume.astype(np.float64), volume.shape[1] // 2, axis=1), k=1)
    return (255 * (plane - plane.min()) / (plane.max() - plane.min())).astype(np.uint8)


def _affine(rng) -> np.ndarray:
    affine = np.eye(4)
    affine[:3, :3] = np.diag(rng.uniform(0.5, 2.0, 3)) * np.array([-1, 1, 1])
    affine[:3, 3] = rng.uniform(-100, 100, 3)
    return affine


def test_split_positions_match_the_sklearn_documentation_example():
    # sklearn's train_test_split docstring: 5 rows, test_size=0.33, random_state=42 -> train [2, 0, 3],
    # test [1, 4]
    train, test = train_test_split_indices(5, 0.33)
    assert train.tolist() == [2, 0, 3] and test.tolist() == [1, 4]


@pytest.fixture(scope="module")
def ukb(tmp_path_factory):
    """20 complete rows + 1 with a missing ventricle volume; volumes [8, 6, 8] float32 with random affines."""
    base = tmp_path_factory.mktemp("ukb")
    source = base / "brain_unzipped"
    rng = np.random.default_rng(0)
    volumes, affines, rows = {}, {}, ["path,age,ventricle,grey_matter,site"]
    for i in range(21):
        volume = rng.normal(100, 30, (8, 6, 8)).astype(np.float32)
        affine = _affine(rng)
        name = f"sub{i:02d}/T1.nii.gz"
        write_nifti(source / name, volume, affine)
        volumes[name], affines[name] = volume, affine
        ventricle = "" if i == 5 else f"{20000 + 500 * i}"
        rows.append(f"{name},{45 + i},{ventricle},{600000 + 1000 * i},{i % 3}")
    (base / "ukb.csv").write_text("\n".join(rows) + "\n")
    dest = base / "ukb_source1_8"
    counts = {w: convert_dataset(source, dest, "ukb", base / "ukb.csv", w, source_type="ukb") for w in SPLITS}
    return base, dest, counts, volumes, affines


def test_ukb_mri_splits_labels_and_slices(ukb):
    base, dest, counts, volumes, affines = ukb
    complete = [i for i in range(21) if i != 5]  # dropna: the row with the missing ventricle is gone
    expected = _permutation_split(20, 0.35, 0.10)
    assert counts == {"train": 11, "val": 2, "test": 7}
    for which in SPLITS:
        labels = _labels(dest, which)
        rows = [complete[p] for p in expected[which]]
        assert [int(next(iter(label["age"]))) for _, label in labels] == rows  # key = CSV row index
        for (name, label), row in zip(labels, rows, strict=True):
            assert set(label) == {"age", "ventricle", "grey_matter"}
            assert label["age"] == {str(row): 45 + row} and label["ventricle"] == {
                str(row): 20000 + 500 * row
            }
            assert name.endswith(".nii.gz")
    name, label = _labels(dest, "test")[0]
    row = int(next(iter(label["age"])))
    slice_, affine = read_nifti(dest / "testset" / name)
    assert slice_.dtype == np.uint8 and slice_.shape == (8, 8, 1)
    np.testing.assert_array_equal(slice_[:, :, 0], _minmax_slice(volumes[f"sub{row:02d}/T1.nii.gz"]))
    np.testing.assert_allclose(affine, affines[f"sub{row:02d}/T1.nii.gz"], atol=1e-4)


@pytest.mark.parametrize(("source", "observed"), [("source1", "ventricle"), ("source2", "grey_matter")])
def test_ukb_dataset_returns_minmax_age_and_z_log_volume(ukb, source, observed):
    _, dest, _, _, _ = ukb
    train = CovariateImageDataset(dest, "ukb", source)
    val = CovariateImageDataset(dest, "ukb", source, mode="val")
    raw = np.array(
        [[next(iter(l["age"].values())), next(iter(l[observed].values()))] for _, l in _labels(dest, "train")]
    )
    logs = np.log(raw[:, 1])
    np.testing.assert_allclose(
        train.labels[:, 0], (raw[:, 0] - raw[:, 0].min()) / np.ptp(raw[:, 0]), rtol=1e-6
    )
    np.testing.assert_allclose(train.labels[:, 1], (logs - logs.mean()) / logs.std(), rtol=1e-5)
    val_raw = np.array(
        [[next(iter(l["age"].values())), next(iter(l[observed].values()))] for _, l in _labels(dest, "val")]
    )
    np.testing.assert_allclose(
        val.labels[:, 1], (np.log(val_raw[:, 1]) - logs.mean()) / logs.std(), rtol=1e-5
    )
    image, label = train[0]
    assert image.dtype == torch.uint8 and tuple(image.shape) == (1, 8, 8) and label.shape == (2,)
    stored, _ = read_nifti(dest / "trainset" / train.names[0])
    np.testing.assert_array_equal(image.numpy(), stored.transpose(2, 0, 1))


def test_real_ms_ukb_reads_all_three_covariates(ukb):
    _, dest, _, _, _ = ukb
    ds = CovariateImageDataset(dest, "ukb_real")
    assert ds.label_dim == 3 and len(ds) == 11


def test_mri_center_crop_and_resize(tmp_path):
    rng = np.random.default_rng(1)
    volume = rng.normal(0, 1, (8, 4, 12)).astype(np.float32)  # slice [8, 12] -> rot90 -> [12, 8]
    write_nifti(tmp_path / "src/v.nii", volume)
    (tmp_path / "t.csv").write_text("path,age,ventricle,grey_matter\n" + "v.nii,50,1,2\n" * 4)
    convert_dataset(
        tmp_path / "src",
        tmp_path / "out",
        "ukb",
        tmp_path / "t.csv",
        "test",
        resolution=(4, 4),
        transform="center-crop",
        source_type="ukb",
    )
    slice_ = _minmax_slice(volume)[2:10]  # centred 8x8 square of the 12x8 slice
    expected = np.array(Image.fromarray(slice_).resize((4, 4), Image.LANCZOS))
    written, _ = read_nifti(tmp_path / "out/testset/00000/img00000000.nii.gz")
    np.testing.assert_array_equal(written[:, :, 0], expected)


def _jpeg(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, format="JPEG", quality=95)


RETINA_COLUMNS = (
    "path,age,diastolic_bp,systolic_bp,spherical_power_left,cylindrical_power_left,astigmatism_angle_left,"
    "myopia,hyperopia,presbyopia,astigmatism,cataract"
)


def test_ukb_retina_jpeg_source(tmp_path):
    source = tmp_path / "retinal_fundus"
    rows = [RETINA_COLUMNS]
    for i in range(10):
        _jpeg(source / f"{i}.jpg", np.full((12, 16, 3), (20 * i, 100, 200 - 10 * i), np.uint8))
        rows.append(f"{i}.jpg,{50 + i},80,120,{i - 4.5},0.5,90,0,1,0,0,{i % 2}")
    (tmp_path / "retina.csv").write_text("\n".join(rows))
    for which in SPLITS:  # directory name dispatch (ends with retinal_fundus), as the original
        result = CliRunner().invoke(
            dataset_tool,
            [
                "--source",
                str(source),
                "--dest",
                str(tmp_path / "out"),
                "--dataset_name",
                "retinal",
                "--annotation_path",
                str(tmp_path / "retina.csv"),
                "--which_dataset",
                which,
                "--transform",
                "center-crop",
                "--resolution",
                "8x8",
            ],
        )
        assert result.exit_code == 0, result.output
        assert "using 'ukb_retinal'" in result.output
    expected = _permutation_split(10, 0.30, 0.10)
    for which in SPLITS:
        labels = _labels(tmp_path / "out", which)
        assert [int(next(iter(l["age"]))) for _, l in labels] == expected[which]
        assert len(labels[0][1]) == 11 and labels[0][0].endswith(".jpg")
    with Image.open(tmp_path / "out/trainset" / labels[0][0]) as image:
        assert image.mode == "RGB" and image.size == (8, 8)
    s1 = CovariateImageDataset(tmp_path / "out", "retinal", "source1")
    s2 = CovariateImageDataset(tmp_path / "out", "retinal", "source2")
    rows_train = expected["train"]
    age = np.array([50.0 + r for r in rows_train])
    sph = np.log(np.array([r - 4.5 for r in rows_train]) + 100)
    np.testing.assert_allclose(s1.labels[:, 0], (age - age.min()) / (age.max() - age.min()), rtol=1e-6)
    np.testing.assert_array_equal(s1.labels[:, 1], [r % 2 for r in rows_train])
    np.testing.assert_allclose(s2.labels[:, 1], (sph - sph.mean()) / sph.std(), rtol=1e-5)
    assert s1[0][0].shape == (3, 8, 8)


ADNI_COLUMNS = (
    "filepath_MNIlin,Age,Sex,CDGLOBAL,left_lateral_ventricle,right_lateral_ventricle,left_cerebral_cortex,"
    "right_cerebral_cortex,left_hippocampus,right_hippocampus"
)


@pytest.mark.parametrize(("source_type", "test_fraction"), [("adni", 0.15), ("adni_extra", 0.20)])
def test_adni_source_and_dataset(tmp_path, source_type, test_fraction):
    rng = np.random.default_rng(2)
    rows = [ADNI_COLUMNS]
    hippo = rng.uniform(2500, 4500, (12, 2))
    for i in range(12):
        write_nifti(tmp_path / "adni" / f"s{i}.nii.gz", rng.normal(0, 1, (4, 3, 4)).astype(np.float32))
        rows.append(f"s{i}.nii.gz,{60 + 2 * i},{i % 2},0.5,1,1,1,1,{hippo[i, 0]:.3f},{hippo[i, 1]:.3f}")
    (tmp_path / "adni.csv").write_text("\n".join(rows))
    for which in SPLITS:
        convert_dataset(
            tmp_path / "adni", tmp_path / "out", "adni", tmp_path / "adni.csv", which, source_type=source_type
        )
    expected = _permutation_split(12, test_fraction, 0.10)
    train_labels = _labels(tmp_path / "out", "train")
    assert [int(next(iter(l["Age"]))) for _, l in train_labels] == expected["train"]
    extra = {"Age", "CDGLOBAL", "left_hippocampus", "right_hippocampus"}
    assert set(train_labels[0][1]) == (
        extra if source_type == "adni_extra" else set(ADNI_COLUMNS.split(",")[1:])
    )
    test = CovariateImageDataset(tmp_path / "out", "adni", mode="test")
    h_train = np.round(hippo[expected["train"]], 3)
    h_test = np.round(hippo[expected["test"]], 3)
    age_train = 60.0 + 2 * np.array(expected["train"])
    np.testing.assert_allclose(
        test.labels[:, 0],
        (60.0 + 2 * np.array(expected["test"]) - age_train.min()) / np.ptp(age_train),
        rtol=1e-6,
    )
    np.testing.assert_allclose(test.labels[:, 1:], (h_test - h_train.mean(0)) / h_train.std(0), rtol=1e-5)
    assert test[0][0].shape == (1, 4, 4)


def _nacc_volume(kind: str) -> np.ndarray:
    """[32, 2, 32]: its slice (after rot90) has a 12x20 bright block (mean 59.8 after min-max) away from the
    10 outer columns; 'edge' adds signal in the first column, 'dim' shrinks the block (mean < 38)."""
    plane = np.zeros((32, 32), np.float32)
    plane[6:26, 10:22] = 1.0 if kind != "dim" else 0.0
    if kind == "dim":
        plane[14:18, 14:18] = 1.0
    if kind == "edge":
        plane[:, 0] = 1.0
    volume = np.zeros((32, 2, 32), np.float32)
    volume[:, 1, :] = np.rot90(plane, k=-1)  # so that rot90(take(volume, 1, axis=1)) == plane
    return volume


def test_nacc_filters_bad_slices_and_drops_unknown_apoe(tmp_path):
    kinds = ["good", "edge", "good", "dim", "good", "good", "good", "good", "edge", "good"]
    apoe = [0, 1, 2, 9, 1, 0, 9, 2, 1, 0]
    rows = ["MNIlin_filepath,Age,CDGLOBAL,MMSE,Sex,Apoe4"]
    for i, kind in enumerate(kinds):
        write_nifti(tmp_path / "NACC" / f"{i}.nii.gz", _nacc_volume(kind))
        rows.append(f"{i}.nii.gz,{70 + i},0,29,1,{apoe[i]}")
    (tmp_path / "nacc.csv").write_text("\n".join(rows))
    expected = _permutation_split(10, 0.15, 0.10)
    for which in SPLITS:  # source type from the directory name (ends with NACC)
        count = convert_dataset(tmp_path / "NACC", tmp_path / "out", "nacc", tmp_path / "nacc.csv", which)
        kept = [r for r in expected[which] if kinds[r] == "good"]
        assert count == len(kept)
        assert [int(next(iter(l["Age"]))) for _, l in _labels(tmp_path / "out", which)] == kept
    train = CovariateImageDataset(tmp_path / "out", "nacc")
    kept = [r for r in expected["train"] if kinds[r] == "good" and apoe[r] != 9]
    assert len(train) == len(kept) and train.label_dim == 4
    age = 70.0 + np.array(kept)
    np.testing.assert_allclose(train.labels[:, 0], (age - age.min()) / np.ptp(age), rtol=1e-6)
    np.testing.assert_array_equal(train.labels[:, 1:], np.eye(3)[[apoe[r] for r in kept]])


def test_rfmid_official_split_folders_and_disease_filter(tmp_path):
    root = tmp_path / "RFMiD"
    rows = ["ID,Disease_Risk,DR,MH,TSLN"]
    table = [
        (1, 0, 0, 0, 0),
        (2, 1, 1, 0, 0),
        (3, 1, 0, 1, 0),
        (4, 1, 0, 0, 1),
        (5, 0, 0, 0, 0),
        (6, 1, 0, 1, 1),
    ]
    for identifier, *values in table:
        rows.append(",".join(str(v) for v in (identifier, *values)))
        for folder in ("Training_cropped", "Validation_cropped"):
            _jpeg(root / folder / f"{identifier}.jpg", np.full((16, 16, 3), 10 * identifier, np.uint8))
    for split, which in (("Training", "train"), ("Validation", "val")):
        (root / f"RFMiD_{split}_Labels.csv").write_text("\n".join(rows))
        count = convert_dataset(root, tmp_path / "out", "rfmid", root / f"RFMiD_{split}_Labels.csv", which)
        assert count == 5  # ID 2 is diseased but shows neither MH nor TSLN
    labels = _labels(tmp_path / "out", "val")
    assert [l["ID"][str(k)] for (_, l), k in zip(labels, [0, 2, 3, 4, 5], strict=True)] == [1, 3, 4, 5, 6]
    assert labels[1][1]["path"] == {"2": str(root / "Validation_cropped" / "3.jpg")}
    ds = CovariateImageDataset(tmp_path / "out", "rfmid", mode="val")
    np.testing.assert_array_equal(ds.labels, [[0, 0, 0], [1, 1, 0], [1, 0, 1], [0, 0, 0], [1, 1, 1]])
    assert ds[1][0].shape == (3, 16, 16) and abs(int(ds[1][0].float().mean()) - 30) <= 2


def _fundus(bright_right: bool, shade: int) -> np.ndarray:
    """160x128 RGB photo: 16 black columns on each side, a grey disc, the brightest spot left or right."""
    image = np.zeros((128, 160, 3), np.uint8)
    image[:, 16:144] = shade
    image[64, 130 if bright_right else 30] = 250
    return image


def test_eyepacs_left_eyes_rebalance_orientation_and_dataset(tmp_path):
    source = tmp_path / "diabetic_retinopathy"
    levels = {
        "1_left": 2,
        "1_right": 3,
        "2_left": 0,
        "3_left": 1,
        "4_left": 0,
        "5_left": 0,
        "6_left": 4,
        "7_left": 0,
        "8_left": 0,
        "9_left": 3,
        "9_right": 0,
        "10_left": 0,
    }
    for k, name in enumerate(levels):
        # written as PNG bytes under the .jpeg name (Pillow reads by content), so pixels are exact
        (source / "train").mkdir(parents=True, exist_ok=True)
        Image.fromarray(_fundus(k % 2 == 1, 40 + 5 * k)).save(source / "train" / f"{name}.jpeg", format="PNG")
    (tmp_path / "trainLabels.csv").write_text(
        "image,level\n" + "\n".join(f"{n},{v}" for n, v in levels.items())
    )
    for which in ("train", "val"):
        convert_dataset(source, tmp_path / "out", "eyepacs", tmp_path / "trainLabels.csv", which, seed=3)
    left = [n for n in levels if n.endswith("_left")]
    diseased = [n for n in left if levels[n] != 0]
    healthy = [n for n in left if levels[n] == 0]
    n_healthy = int(len(diseased) / 0.45) - len(diseased)  # 4 diseased -> 8 rows, 4 healthy
    drawn = np.random.RandomState(3).choice(len(healthy), n_healthy, replace=False)
    balanced = diseased + [healthy[i] for i in drawn]
    train, val = train_test_split_indices(len(balanced), 0.3)
    train_labels = _labels(tmp_path / "out", "train")
    assert [next(iter(l["level"])) for _, l in train_labels] == [str(i) for i in train]  # ignore_index keys
    assert [l["level"][str(i)] for (_, l), i in zip(train_labels, train, strict=True)] == [
        levels[balanced[i]] for i in train
    ]
    assert len(_labels(tmp_path / "out", "val")) == len(val) == 3
    name = balanced[train[0]]
    expected = _fundus(list(levels).index(name) % 2 == 1, 40 + 5 * list(levels).index(name))[:, 16:144]
    if list(levels).index(name) % 2 == 1:  # optic disc on the right -> rotated by 180 degrees
        expected = expected[::-1, ::-1]
    with Image.open(tmp_path / "out/trainset" / train_labels[0][0]) as image:
        written = np.asarray(image).astype(int)
    assert written.shape == (128, 128, 3) and np.abs(written - expected).mean() < 2  # JPEG output
    ds = CovariateImageDataset(tmp_path / "out", "eyepacs")
    np.testing.assert_array_equal(ds.labels[:, 0], [float(levels[balanced[i]] > 0) for i in train])


def test_oasis3_joins_session_ages_by_mr_id(tmp_path):
    source = tmp_path / "Oasis3"
    rows = ["MR ID,anat,left hippocampus,right hippocampus"]
    for k, (mr, anat) in enumerate([("OAS1_d1", "anat2"), ("OAS2_d5", "anat4"), ("OAS3_d9", "anat1")]):
        write_nifti(
            source / "mri" / mr / anat / "NIFTI" / "T1toMNIlin.nii.gz", np.arange(8.0).reshape(2, 2, 2) + k
        )
        rows.append(f"{mr},{anat},{3000 + k},{3100 + k}")
    (source / "synthseg_vols.csv").write_text("\n".join(rows))
    (tmp_path / "sessions.csv").write_text(
        "MR ID,Age,Scanner\nOAS1_d1,70.5,3.0T\nOAS2_d5,66.0,1.5T\nOAS3_d9,80.25,3.0T\n"
    )
    count = convert_dataset(source, tmp_path / "out", "oasis3", tmp_path / "sessions.csv", "test")
    labels = _labels(tmp_path / "out", "test")
    assert count == 2  # the 1.5 T session has no age, so its row is dropped
    assert labels[1][1] == {
        "anat": {"2": "anat1"},
        "Age": {"2": 80.25},
        "left hippocampus": {"2": 3002},
        "right hippocampus": {"2": 3102},
    }


def test_bad_inputs_name_the_file_and_column(tmp_path):
    write_nifti(tmp_path / "src" / "a.nii.gz", np.arange(8.0).reshape(2, 2, 2))
    (tmp_path / "no_col.csv").write_text("path,age,ventricle\na.nii.gz,50,1\n")
    with pytest.raises(ValueError, match=r"no_col\.csv: missing column\(s\) \['grey_matter'\]"):
        convert_dataset(
            tmp_path / "src", tmp_path / "o1", "ukb", tmp_path / "no_col.csv", "test", source_type="ukb"
        )
    (tmp_path / "no_file.csv").write_text(
        "path,age,ventricle,grey_matter\n" + "a.nii.gz,50,1,2\n" * 3 + "b.nii.gz,5,1,2"
    )
    with pytest.raises(FileNotFoundError, match=r"no_file\.csv: column 'path' of row 3 names .*b\.nii\.gz"):
        convert_dataset(
            tmp_path / "src", tmp_path / "o2", "ukb", tmp_path / "no_file.csv", "test", source_type="ukb"
        )
    result = CliRunner().invoke(
        dataset_tool,
        [
            "--source",
            str(tmp_path / "src"),
            "--dest",
            str(tmp_path / "o3"),
            "--annotation_path",
            str(tmp_path / "no_file.csv"),
            "--source_type",
            "ukb",
            "--which_dataset",
            "test",
        ],
    )
    assert result.exit_code != 0 and "b.nii.gz" in result.output
    with pytest.raises(ValueError, match="needs --resolution"):
        convert_dataset(
            tmp_path / "src",
            tmp_path / "o4",
            "ukb",
            tmp_path / "no_col.csv",
            "test",
            transform="center-crop",
            source_type="csv",
        )
    (tmp_path / "ok.csv").write_text("path,age,ventricle,grey_matter\n" + "a.nii.gz,50,1,2\n" * 4)
    convert_dataset(tmp_path / "src", tmp_path / "o5", "ukb", tmp_path / "ok.csv", "test", source_type="ukb")
    with pytest.raises(ValueError, match="must be empty"):
        convert_dataset(
            tmp_path / "src", tmp_path / "o5", "ukb", tmp_path / "ok.csv", "test", source_type="ukb"
        )


def test_csv_reader_follows_pandas_na_and_dtype_rules(tmp_path):
    (tmp_path / "t.csv").write_text("a,b,c,d\n1,2.5,x,1\n2,NA,y,\n3,4,,n/a\n")
    table = read_csv(tmp_path / "t.csv")
    assert table.columns["a"] == [1, 2, 3] and isinstance(table.columns["a"][0], int)
    assert table.columns["b"] == [2.5, None, 4.0] and isinstance(table.columns["b"][2], float)
    assert table.columns["c"] == ["x", "y", None]
    assert table.columns["d"] == [1.0, None, None]  # an int column with missing values becomes float
    kept = table.dropna(["a", "b"])
    assert kept.index == [0, 2] and kept.columns["c"] == ["x", None]
