"""End to end on the core's morpho-digits simulator: two sources observing different covariates ->
mssg-dataset-tool -> latent model fit -> a few training iterations on CPU -> snapshot -> load -> sample with
chosen covariates -> strata prediction score; plus the c_dim-mismatch error."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from insilico_core.data.simulate.morpho_digits import simulate_morpho_digits
from mssg import load_snapshot
from mssg.data import CovariateImageDataset
from mssg.dataset_tool import dataset_tool
from mssg.evaluation.cli import evaluate
from mssg.evaluation.regressor import save_regressor, train_regressor
from mssg.evaluation.strata import joint_labels, morpho_ground_truth, morpho_strata_score
from mssg.latent import MorphoCovariateModel, load_latent_model
from mssg.multisource import MORPHO, LabelCompleter
from PIL import Image


@pytest.mark.slow
def test_simulator_to_strata_score(tmp_path, single_torch_thread, train_tiny):
    sim = simulate_morpho_digits(tmp_path / "sim", n=80, seed=0)
    roots = []
    for source in ("source1", "source2"):
        src = sim / f"mnist_{source}"
        rows = [
            [f"trainset/{name}", label]
            for name, label in json.loads((src / "trainset/dataset.json").read_text())["labels"]
        ]
        annotation = tmp_path / f"{source}.json"
        annotation.write_text(json.dumps(rows))
        root = tmp_path / "data" / f"mnist_{source}"
        for which in ("train", "val"):
            result = CliRunner().invoke(
                dataset_tool,
                [
                    "--source",
                    str(src),
                    "--dest",
                    str(root),
                    "--dataset_name",
                    MORPHO,
                    "--annotation_path",
                    str(annotation),
                    "--which_dataset",
                    which,
                ],
            )
            assert result.exit_code == 0, result.output
        shutil.copytree(src / "testset", root / "testset")
        roots.append(root)
    train1 = CovariateImageDataset(roots[0], MORPHO, "source1")
    assert len(train1) == 64 and train1.label_dim == 12  # 80 % of 80; [t_z, i_z, onehot10]

    model = MorphoCovariateModel.fit(
        train1.raw_labels[:, 0], train1.raw_labels[:, 1], train1.raw_labels[:, 2], "intensity"
    )
    model.save(tmp_path / "latent.json")
    reloaded = load_latent_model(tmp_path / "latent.json")
    rng = np.random.default_rng(0)
    assert reloaded.sample_target(np.array([1.5, 3.0]), rng).shape == (2,)

    # three iterations of 16 images per source (kimg as a fraction: the CLI takes whole kimg)
    run_dir = train_tiny(
        [str(r) for r in roots],
        [MORPHO, MORPHO],
        batch=16,
        fp32=False,
        kimg=0.048,
        tick=0.016,
        snap=3,
        lambda_step=1,
    )
    snapshots = sorted(run_dir.glob("network-snapshot-*.pt"))
    assert snapshots and (run_dir / "fakes000000.png").is_file() and (run_dir / "metrics.jsonl").is_file()

    snap = load_snapshot(snapshots[-1], c_dim=13)
    G = snap["G_ema"]
    completer = LabelCompleter.from_dict(snap["meta"]["completer"])
    assert completer.layout == ["thickness", "intensity", "slant", "label"] and completer.c_dim == 13
    chosen = np.array([[1.5, 120.0, -20.0, 3], [3.5, 230.0, 30.0, 7]])
    c = torch.from_numpy(joint_labels(chosen, 0, completer))
    images = G(torch.randn(2, G.z_dim), c, noise_mode="const")
    assert images.shape == (2, 1, 32, 32) and torch.isfinite(images).all()

    tests = [
        CovariateImageDataset(r, MORPHO, s, mode="test")
        for r, s in zip(roots, ("source1", "source2"), strict=True)
    ]
    train_images = torch.stack([train1[i][0] for i in range(len(train1))]).float() / 255
    predictors = {}
    for k, name in enumerate(("thickness", "intensity", "slant")):
        targets = torch.from_numpy(morpho_ground_truth(train1)[:, k]).float()
        targets = (targets - targets.mean()) / targets.std()
        predictors[name] = train_regressor(
            train_images, targets, train_images[:8], targets[:8], epochs=1, batch_size=16, base_width=4
        )
    result = morpho_strata_score(
        G, completer, tests, predictors, num_samples=8, batch_size=8, seed=0, min_count=1
    )
    assert set(result.strata) == {"thickness", "intensity", "slant"}
    for name in result.strata:
        assert result.strata[name] and np.isfinite(result.weighted(name, "mse"))

    regressor_files = [
        str(save_regressor(tmp_path / f"{name}.pt", predictors[name], name, "regression"))
        for name in ("thickness", "intensity", "slant")
    ]
    data_args = ["--network_specific", str(snapshots[-1]), "--data-path1", str(roots[0]), "--data-path2",
                 str(roots[1]), "--outdir", str(tmp_path / "eval")]  # fmt: skip
    strata_args = ["--regr_model0", regressor_files[0], "--regr_model1", regressor_files[1],
                   "--regr_model2", regressor_files[2], "--num-samples", "8", "--batch-size", "8",
                   "--min-count", "1"]  # fmt: skip
    result = CliRunner().invoke(evaluate, ["strata", *data_args, *strata_args])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "eval/stratified_loss_slant.csv").is_file()
    result = CliRunner().invoke(
        evaluate, ["paired", *data_args, "--metric", "ssim", "--which-source", "second"]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "eval/ms_general_ssim.csv").is_file()

    sweep_dir = tmp_path / "sweep"
    result = CliRunner().invoke(
        evaluate,
        [
            "sweep",
            "--network_pkl",
            str(snapshots[-1]),
            "--data-path1",
            str(roots[0]),
            "--data-path2",
            str(roots[1]),
            "--seeds",
            "0-1",
            "--outdir",
            str(sweep_dir),
        ],
    )
    assert result.exit_code == 0, result.output
    grids = sorted(sweep_dir.glob("seed_*/thickness_*.png"))
    assert len(grids) == 2 and Image.open(grids[0]).size == (4 * 32 + 5 * 2, 4 * 32 + 5 * 2)

    with pytest.raises(ValueError, match="c_dim=13 covariates, but c_dim=12"):
        load_snapshot(snapshots[-1], c_dim=12)
