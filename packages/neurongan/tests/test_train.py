"""End-to-end training on simulated neurons: the schedule (growth, fade, learning rate), the original
checkpoint layout with samples, and an interrupted run that resumes to exactly the same weights."""

from __future__ import annotations

import neurongan
import numpy as np
import pytest
import torch
from neurongan.cli import train_main
from PIL import Image


def _run(tmp_path, tiny_neuron_folder, run, *flags):
    base = tmp_path / run
    train_main(
        [
            "--configs",
            str(base.parent / "tiny.toml"),
            "--dataset_dir",
            str(tiny_neuron_folder),
            "--weights_dir",
            str(base / "weights"),
            "--images_dir",
            str(base / "images"),
            "--logs_dir",
            str(base / "logs"),
            "--no_progress",
            *flags,
        ]
    )
    return base


@pytest.fixture
def tiny_config(tmp_path):
    (tmp_path / "tiny.toml").write_text(
        'ID = "tiny"\nimage_size = 32\nN_gen_features = [16, 8, 8]\nN_dis_features = [8, 8, 16]\n'
        "latent_dim = 16\ntransit_sch = [4, 10]\nalpha_step = 0.5\nN_epochs = 13\nbatch_size = 2\n"
        "checkpointing_period = 1\nsnapshot_period = 0\nN_workers = 0\nseed = 3\n"
    )
    return tmp_path / "tiny.toml"


@pytest.mark.slow
def test_interrupted_run_resumes_exactly(tmp_path, tiny_neuron_folder, tiny_config):
    straight = _run(tmp_path, tiny_neuron_folder, "straight")
    # killed after epoch 5 (mid-fade into 16 px), then resumed twice
    interrupted = _run(tmp_path, tiny_neuron_folder, "interrupted", "--N_epochs_session", "5")
    mid = neurongan.load_checkpoint(interrupted / "weights" / "GenDisc_tiny.pth")
    assert mid["epoch"] == 5 and mid["Generator_attrs"]["image_size"] == 16
    assert (
        float(mid["Generator_attrs"]["alpha"]) == 0.5
        and "conv_block_list.0.1.weight" in mid["Generator_state"]
    )
    _run(tmp_path, tiny_neuron_folder, "interrupted", "--resume", "--N_epochs_session", "4")
    _run(tmp_path, tiny_neuron_folder, "interrupted", "--resume")
    a = neurongan.load_checkpoint(straight / "weights" / "GenDisc_tiny.pth")
    b = neurongan.load_checkpoint(interrupted / "weights" / "GenDisc_tiny.pth")
    assert a["epoch"] == b["epoch"] == 13
    for key in ("Generator_state", "Discriminator_state"):
        assert a[key].keys() == b[key].keys()
        for name in a[key]:
            assert torch.equal(a[key][name], b[key][name]), (key, name)
    for key in ("Loss_real", "Loss_fake", "Loss_G", "Loss_D"):
        np.testing.assert_array_equal(a[key], b[key])


@pytest.mark.slow
def test_schedule_layout_and_samples(tmp_path, tiny_neuron_folder, tiny_config):
    run = _run(
        tmp_path, tiny_neuron_folder, "layout", "--N_epochs_session", "11", "--checkpointing_period", "11"
    )
    data = neurongan.load_checkpoint(run / "weights" / "GenDisc_tiny.pth")
    attrs = data["Generator_attrs"]
    # transitions at epochs 4 and 10, fade 2 epochs (alpha 0 at 10, 0.5 at 11)
    assert (data["epoch"], attrs["image_size"], float(attrs["alpha"]), attrs["N_layers"]) == (11, 32, 0.5, 3)
    assert float(data["Discriminator_state"]["alpha"]) == 0.5
    assert len(data["Loss_D"]) == 11 and np.all(data["Loss_D"] != 0)
    assert data["optimizer_G_state"]["param_groups"][0]["lr"] == pytest.approx(1e-4 * 0.01 ** (1 / 1.5))
    grid = Image.open(run / "images" / "tiny" / "Samples_tiny_11.png")
    assert grid.size == (4 * 34 + 2, 4 * 34 + 2) and grid.mode == "RGB"
    G = neurongan.load_generator(data)
    assert G.image_size == 32 and G.fading
    assert (run / "logs" / "tiny" / "metrics.jsonl").read_text().count("\n") == 11


def test_existing_run_is_not_overwritten_without_resume(tmp_path, tiny_neuron_folder, tiny_config):
    weights = tmp_path / "again" / "weights"
    weights.mkdir(parents=True)
    (weights / "GenDisc_tiny.pth").write_bytes(b"")
    with pytest.raises(SystemExit, match="--resume"):
        _run(tmp_path, tiny_neuron_folder, "again", "--N_epochs_session", "1")


def test_too_few_images_for_a_batch_is_a_clear_error(tmp_path, tiny_neuron_folder, tiny_config):
    with pytest.raises(SystemExit, match="at least 8"):
        _run(tmp_path, tiny_neuron_folder, "few", "--batch_size", "8", "--N_epochs_session", "1")
