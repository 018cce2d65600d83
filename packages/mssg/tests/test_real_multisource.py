"""Real multi-source MSSG (``mssg-train-real-ms``): the source flag covariate in the joint layout and its
BCE term in the auxiliary loss, and a few CPU training iterations of the console script on the core's
morpho-digits simulator."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from insilico_core.data.simulate import simulate
from mssg import load_snapshot
from mssg.cli import train_real_ms
from mssg.covariates import MORPHO_SOURCE1, MORPHO_SOURCE2
from mssg.data import CovariateImageDataset
from mssg.evaluation.cli import evaluate
from mssg.evaluation.strata import joint_labels
from mssg.losses import AuxLayout, aux_loss
from mssg.multisource import MORPHO, LabelCompleter
from mssg.train import build_completer


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def test_source_flag_term_matches_hand_computed_bce():
    covs = (MORPHO_SOURCE1[0], MORPHO_SOURCE1[1], MORPHO_SOURCE2[1], MORPHO_SOURCE1[2])
    layout = AuxLayout.from_covariates(covs, source_flag=True)
    assert layout == AuxLayout((0, 1, 2), (), (tuple(range(3, 13)),), 13)
    # Only the source column (13) differs between the two layouts: predictions 0.5 and -1.0 for rows of
    # source2 (flag 1) and source1 (flag 0).
    pred = torch.zeros(2, 14)
    c = torch.zeros(2, 14)
    c[:, 3] = 1  # digit 0 in both rows, predicted with equal logits
    pred[:, 13] = torch.tensor([0.5, -1.0])
    c[:, 13] = torch.tensor([1.0, 0.0])
    expected_source = -(math.log(_sigmoid(0.5)) + math.log(1 - _sigmoid(-1.0))) / 2
    semi = aux_loss(pred, c, AuxLayout.from_covariates(covs))
    torch.testing.assert_close(semi, torch.tensor(math.log(10.0)))  # CE of 10 equal logits; MSE 0
    torch.testing.assert_close(aux_loss(pred, c, layout) - semi, torch.tensor(expected_source))


def test_train_real_ms_flags_are_the_originals():
    params = {p.name: p for p in train_real_ms.params}
    assert params["kimg"].default == 25000 and params["snap"].default == 100
    assert params["cbase"].default == 16384 and params["lambda_"].default == 0.1
    assert params["lambda_step"].default == 1000 and params["data_scenario"].default == "high"
    assert "use_ground_truth" not in params
    assert all(params[name].required for name in ("data1", "data_name1", "data2", "data_name2", "outdir"))
    assert set(params["data_name1"].type.choices) >= {"ukb", "retinal", "eyepacs", "adni", "rfmid"}


@pytest.mark.slow
def test_train_real_ms_cli_writes_a_loadable_snapshot(tmp_path, single_torch_thread):
    sim = simulate("morpho-digits", tmp_path / "sim", 40, 0)
    roots = [str(sim / "mnist_source1"), str(sim / "mnist_source2")]

    datasets = [
        CovariateImageDataset(r, MORPHO, s) for r, s in zip(roots, ("source1", "source2"), strict=True)
    ]
    completer = build_completer(datasets, use_ground_truth=False, source_flag=True)
    assert (
        completer.layout == ["thickness", "intensity", "slant", "label", "source"] and completer.c_dim == 14
    )
    rng = np.random.default_rng(0)
    for s, ds in enumerate(datasets):
        joint = completer.complete(s, np.stack([ds.get_label(i) for i in range(4)]), rng)
        assert joint.shape == (4, 14) and (joint[:, 13] == s).all()

    args = ["--outdir", str(tmp_path / "runs"), "--cfg", "stylegan2", "--data1", roots[0],
            "--data_name1", MORPHO, "--data2", roots[1], "--data_name2", MORPHO, "--gpus", "1",
            "--batch", "500", "--gamma", "1", "--cbase", "64", "--cmax", "8", "--map-depth", "2",
            "--kimg", "1", "--tick", "1", "--snap", "1", "--resume_kimg", "7", "--device", "cpu",
            "--seed", "0"]  # fmt: skip
    result = CliRunner().invoke(train_real_ms, args)
    assert result.exit_code == 0, result.output

    (run_dir,) = (tmp_path / "runs").iterdir()
    assert "multisource-mnist" in run_dir.name
    # --resume_kimg without --resume is ignored, as train_real_ms.py: the run starts at kimg 0.
    (snapshot,) = run_dir.glob("network-snapshot-*.pt")
    assert snapshot.name == "network-snapshot-000001.pt"
    snap = load_snapshot(snapshot, c_dim=14)
    meta_completer = LabelCompleter.from_dict(snap["meta"]["completer"])
    assert meta_completer.source_flag and meta_completer.c_dim == 14
    assert snap["D"](torch.zeros(2, 1, 32, 32), torch.zeros(2, 14)).shape == (2, 15)

    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    losses = [v for r in records for k, v in r.items() if k.startswith("Loss/")]
    assert {"Loss/G/loss", "Loss/D/real", "Loss/D/fake", "Loss/r1_penalty", "Loss/pl_penalty"} <= {
        k for r in records for k in r
    }
    assert losses and all(math.isfinite(v) for v in losses)
    c = torch.from_numpy(completer.complete(1, np.stack([datasets[1].get_label(0)] * 2), rng))
    images = snap["G_ema"](torch.randn(2, 512), c, noise_mode="const")
    assert images.shape == (2, 1, 32, 32) and torch.isfinite(images).all()

    chosen = joint_labels(np.array([[1.5, 120.0, -20.0, 3]]), 1, meta_completer)
    assert chosen.shape == (1, 14) and chosen[0, 13] == 1
    sweep = ["sweep", "--network_pkl", str(snapshot), "--data-path1", roots[0], "--data-path2", roots[1],
             "--seeds", "0", "--outdir", str(tmp_path / "sweep")]  # fmt: skip
    for refit in ("False", "True"):
        result = CliRunner().invoke(evaluate, [*sweep, "--refit", refit])
        assert result.exit_code == 0, result.output
    assert sorted((tmp_path / "sweep").glob("seed_*/thickness_*.png"))
