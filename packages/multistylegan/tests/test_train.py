"""Training on the yeast-timelapse simulator with width-reduced networks: every step of an iteration,
checkpoints in the original layout, resume keeping the EMA generator, and the command line end to end."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from multistylegan import cli, load_checkpoint, load_discriminator, load_generator
from multistylegan.checkpoints import CHECKPOINT_KEYS
from multistylegan.losses import TopK
from multistylegan.train import Trainer, TrainOptions

pytest.importorskip("insilico_core.data.simulate.yeast_timelapse")

LOSS_KEYS = {
    "loss_discriminator_real",
    "loss_discriminator_fake",
    "loss_discriminator_real_pixel_wise",
    "loss_discriminator_fake_pixel_wise",
    "loss_discriminator_regularization",
    "loss_cut_mix_augmentation",
    "loss_cut_mix_regularization",
    "loss_generator",
    "loss_generator_pixel_wise",
    "path_length",
    "loss_path_length_regularization",
    "ada_p",
}


@pytest.fixture(scope="module")
def yeast_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from insilico_core.data.simulate import simulate

    root = tmp_path_factory.mktemp("yeast") / "data"
    return simulate("yeast-timelapse", root, n=2, seed=0, frames=4, z_planes=1, image_size=64, rfp=False)


def _options(data: Path, out: Path, **overrides) -> TrainOptions:
    values = dict(
        path_to_data=str(data),
        out=str(out),
        batch_size=2,
        epochs=1,
        generator_channels=8,
        discriminator_channels=16,
        resolution=32,
        num_workers=0,
        device="cpu",
        seed=3,
    )
    values.update(overrides)
    return TrainOptions(**values)


def test_every_step_of_an_iteration_checkpoint_and_resume(yeast_data: Path, tmp_path: Path, monkeypatch):
    trainer = Trainer(_options(yeast_data, tmp_path / "runs", resume_training=True))
    # iteration 16 runs the lazy R1 and path-length steps; resume_training adds wrong-order fakes and, with
    # random.random() forced to 0, both CutMix steps
    trainer.step = 15
    monkeypatch.setattr(random, "random", lambda: 0.0)
    monkeypatch.setattr(trainer.schedule_random, "random", lambda: 0.0)
    real = trainer._prepare_real(next(iter(trainer.loader)))
    assert real.shape == (2, 2, 3, 32, 32)
    generator = trainer.generator
    ema_before = [p.detach().clone() for p in trainer.ema.module.parameters()]
    dead_before = [p.detach().clone() for p in generator.main_convolutions_2.parameters()]
    logged = trainer.training_iteration(real, TopK(0, 1))
    assert set(logged) == LOSS_KEYS
    assert all(torch.isfinite(torch.tensor(value)) for value in logged.values())
    assert float(trainer.path_length_regularization.mean_path_length) > 0
    # EMA: theta_ema <- 0.999 theta_ema + 0.001 theta, for every parameter
    for old, new, current in zip(
        ema_before, trainer.ema.module.parameters(), generator.parameters(), strict=True
    ):
        torch.testing.assert_close(new, 0.999 * old + 0.001 * current.detach())
    # the dead GFP branch gets no gradient and no update, as in the original
    assert all(
        torch.equal(a, b)
        for a, b in zip(dead_before, generator.main_convolutions_2.parameters(), strict=True)
    )
    monkeypatch.undo()

    path = trainer.save("checkpoint_test.pt")
    checkpoint = load_checkpoint(path)
    assert list(checkpoint) == [*CHECKPOINT_KEYS, "meta"]
    assert all(key.startswith("module.") for key in checkpoint["generator"])
    assert all(key.startswith("discriminator.module.") for key in checkpoint["discriminator"])
    assert len(checkpoint["generator_optimizer"]["param_groups"]) == 11
    assert checkpoint["meta"]["step"] == 16
    ema = load_generator(path)
    raw = load_generator(path, which="generator")
    assert not ema.training and ema.resolution == 32
    assert any(not torch.equal(a, b) for a, b in zip(ema.parameters(), raw.parameters(), strict=True))
    discriminator = load_discriminator(path)
    assert discriminator.input_planes == 6

    # the checkpoint decides the networks: other width flags do not matter when resuming
    resumed = Trainer(
        _options(yeast_data, tmp_path / "runs", load_checkpoint=str(path), generator_channels=16)
    )
    for kept, saved in zip(resumed.ema.module.parameters(), ema.parameters(), strict=True):
        assert torch.equal(kept, saved)  # the EMA generator survives the resume (the original reset it)
    for kept, saved in zip(resumed.generator.parameters(), raw.parameters(), strict=True):
        assert torch.equal(kept, saved)
    assert resumed.step == 16
    assert resumed.path_length_regularization.mean_path_length.item() == pytest.approx(
        trainer.path_length_regularization.mean_path_length.item()
    )
    assert resumed.discriminator.p == pytest.approx(trainer.discriminator.p)
    state = resumed.generator_optimizer.state_dict()["state"]
    assert state and all("exp_avg" in entry for entry in state.values())


@pytest.mark.slow
def test_train_command_end_to_end(yeast_data: Path, tmp_path: Path):
    arguments = [
        "--path_to_data",
        str(yeast_data),
        "--out",
        str(tmp_path),
        "--batch_size",
        "2",
        "--epochs",
        "1",
        "--generator_channels",
        "8",
        "--discriminator_channels",
        "16",
        "--resolution",
        "32",
        "--num_workers",
        "0",
        "--device",
        "cpu",
        "--max_iterations",
        "1",
        "--no_top_k",
        "--data_parallel",
    ]
    result = CliRunner().invoke(cli.train, arguments, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    (run,) = tmp_path.iterdir()
    assert (run / "models" / "checkpoint_1.pt").is_file()
    assert (run / "plots" / "prediction_ema_1_bf_14.png").is_file()
    assert (run / "plots" / "prediction_rand_1_gfp_0.png").is_file()
    assert (run / "plots" / "grid_ema_1.png").is_file()
    assert (run / "metrics" / "metrics.csv").read_text().count("\n") == 2
    assert (run / "hyperparameters" / "hyperparameter.txt").is_file()


def test_bad_training_input(tmp_path: Path, yeast_data: Path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        Trainer(_options(tmp_path / "missing", tmp_path))
    with pytest.raises(ValueError, match="batch"):
        Trainer(_options(yeast_data, tmp_path, batch_size=64))
    other = tmp_path / "other.pt"
    torch.save({"state_dict": {"weight": torch.zeros(1)}}, other)
    with pytest.raises(ValueError, match="not a Multi-StyleGAN checkpoint"):
        Trainer(_options(yeast_data, tmp_path, load_checkpoint=str(other)))
