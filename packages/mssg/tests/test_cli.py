"""Command lines: original flag names and defaults, dry runs, and clear errors for bad input."""

from __future__ import annotations

from click.testing import CliRunner
from insilico_core.data.simulate.morpho_digits import simulate_morpho_digits
from mssg.cli import train, train_ms

MORPHO = "mnist-thickness-intensity-slant"


def _dry_run_args(tmp_path) -> list[str]:
    """The flags every training command requires, on the CPU, as a dry run (``-n``)."""
    return [
        "--outdir",
        str(tmp_path / "runs"),
        "--cfg",
        "stylegan2",
        "--gpus",
        "1",
        "--batch",
        "4",
        "--gamma",
        "1",
        "--device",
        "cpu",
        "-n",
    ]


def test_train_ms_dry_run_prints_the_layout(tmp_path):
    sim = simulate_morpho_digits(tmp_path / "sim", n=16, seed=0)
    args = [
        *_dry_run_args(tmp_path),
        "--data1",
        str(sim / "mnist_source1"),
        "--data_name1",
        MORPHO,
        "--data2",
        str(sim / "mnist_source2"),
        "--data_name2",
        MORPHO,
        "--use_ground_truth",
        "True",
    ]
    result = CliRunner().invoke(train_ms, args)
    assert result.exit_code == 0, result.output
    assert "['thickness', 'intensity', 'slant', 'label'] (c_dim 13)" in result.output
    assert "multisource-" in result.output
    assert not list((tmp_path / "runs").rglob("*.png"))  # a dry run writes nothing


def test_defaults_and_required_flags_are_the_originals():
    params = {p.name: p for p in train_ms.params}
    assert (
        params["kimg"].default == 25000 and params["snap"].default == 200 and params["cbase"].default == 16384
    )
    assert (
        params["aug"].default == "noaug"
        and params["cond"].default is True
        and params["lambda_"].default == 0.1
    )
    assert params["use_ground_truth"].required
    single = {p.name: p for p in train.params}
    assert single["kimg"].default == 14000 and single["snap"].default == 100
    assert {
        "batch_gpu",
        "map_depth",
        "mbstd_group",
        "exact_resume",
        "resume_kimg",
        "freezed",
        "data_scenario",
        "lambda_step",
        "dry_run",
    } <= set(single)


def test_bad_inputs_are_reported(tmp_path):
    sim = simulate_morpho_digits(tmp_path / "sim", n=8, seed=0)
    base = _dry_run_args(tmp_path)
    result = CliRunner().invoke(train, [*base, "--data", str(sim / "mnist_source1"), "--data_name", MORPHO])
    assert result.exit_code != 0 and "needs source" in str(result.exception)
    result = CliRunner().invoke(
        train,
        [
            *base,
            "--data",
            str(sim / "mnist_source1"),
            "--data_name",
            MORPHO,
            "--source",
            "source1",
            "--metrics",
            "fid50k_full",
        ],
    )
    assert result.exit_code != 0 and "--metrics" in result.output
