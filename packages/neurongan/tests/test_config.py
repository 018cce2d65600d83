"""Config: the original's effective defaults, .toml and original-style .py files, CLI precedence, validation;
and the learning-rate schedule against hand-computed values."""

from __future__ import annotations

import math

import pytest
from neurongan.cli import train_parser
from neurongan.config import TrainConfig, build_config
from neurongan.schedule import adaptive_critic_steps, learning_rate_at


def test_defaults_are_the_original_config_values():
    config = build_config()
    assert config.transit_sch == [25000, 50000, 75000, 100000, 125000]
    assert (config.alpha_step, config.learning_rate, config.batch_size, config.N_epochs) == (
        1e-4,
        1e-4,
        8,
        150000,
    )
    assert (config.beta1, config.grad_pen_lambda, config.drift_epsilon, config.n_critic) == (0.5, 10, 1e-3, 1)
    assert (config.latent_dim, config.image_size, config.image_size_init, config.translation) == (
        512,
        512,
        16,
        0.05,
    )
    assert config.N_gen_features == [128, 64, 32, 32, 16, 16]
    assert config.N_dis_features == [16, 16, 32, 32, 64, 128]
    assert (config.seed, config.checkpointing_period, config.N_workers) == (1, 100, 2)
    assert len(config.ID) == 4 and config.samples_sub_dir.endswith(config.ID)


def test_toml_then_cli_flags(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "small.toml").write_text('ID = "abcd"\nbatch_size = 4\nlearning_rate = 2e-4\n')
    args = vars(train_parser().parse_args(["--configs", "small", "--batch_size=2", "--resume"]))
    config = build_config(args.pop("configs"), args)
    assert (config.ID, config.batch_size, config.learning_rate, config.resume) == ("abcd", 2, 2e-4, True)
    assert str(config.checkpoint_path) == "weights/GenDisc_abcd.pth"


def test_original_style_python_config(tmp_path):
    path = tmp_path / "config_ex.py"
    path.write_text(
        "import os\nroot_dir = os.path.abspath(os.path.dirname(__file__))\n"
        "weights_dir = os.path.join(root_dir, 'weights')\nID = '0042'\nlatent_dim = 64\n"
        "transit_period = 30000\nN_epochs = 200000\n"
    )
    config = build_config(path)
    assert config.weights_dir == str(tmp_path / "weights") and config.latent_dim == 64
    assert config.transit_sch == [30000, 60000, 90000, 120000, 150000]


def test_unknown_names_and_bad_values_are_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("learning_rat = 1e-3\n")
    with pytest.raises(ValueError, match="learning_rat"):
        build_config(bad)
    with pytest.raises(FileNotFoundError, match="not found"):
        build_config("no_such_config")
    with pytest.raises(ValueError, match="power of 2"):
        build_config(overrides={"image_size": 500})
    with pytest.raises(ValueError, match="transitions"):
        build_config(overrides={"transit_sch": [100, 200]})
    with pytest.raises(ValueError, match="apart"):
        build_config(overrides={"transit_sch": [25000, 30000, 75000, 100000, 125000]})
    with pytest.raises(ValueError, match="greater than the last"):
        build_config(overrides={"N_epochs": 125000})
    with pytest.raises(ValueError, match="only the progressive"):
        build_config(overrides={"wgan": True})
    assert build_config(overrides={"features_preset": "0009"}).N_gen_features == [32, 32, 32, 32, 16, 16]


def test_learning_rate_schedule_by_hand():
    sch, total = [25000, 50000, 75000, 100000, 125000], 150000
    gamma = math.exp(math.log(0.01) / 12500)
    assert learning_rate_at(0, 1e-4, sch, total) == 1e-4
    assert learning_rate_at(1, 1e-4, sch, total) == pytest.approx(1e-4 * gamma, rel=1e-12)
    assert learning_rate_at(12500, 1e-4, sch, total) == pytest.approx(1e-6, rel=1e-9)
    assert learning_rate_at(20000, 1e-4, sch, total) == pytest.approx(1e-6, rel=1e-9)  # second half: flat
    assert learning_rate_at(25000, 1e-4, sch, total) == 1e-4  # boundary: reset
    assert learning_rate_at(25001, 1e-4, sch, total) == pytest.approx(1e-4 * gamma, rel=1e-12)
    assert learning_rate_at(150000, 1e-4, sch, total) == 1e-4
    # odd phase length 7: decay over floor(7 / 2) = 3 epochs with gamma = 0.01**(2 / 7)
    assert learning_rate_at(10, 1.0, [7], 14) == pytest.approx(0.01 ** (6 / 7))


def test_adaptive_critic_steps():
    assert adaptive_critic_steps([], [], 0, 5) == 5
    real, fake = [1.0, 3.0] * 50, [2.0, 4.0] * 50  # std 1, mean |fake - real| 1 -> round(1 * 5)
    assert adaptive_critic_steps(real, fake, 0, 5) == 5
    assert adaptive_critic_steps(real, [r + 10 for r in real], 0, 5) == 0 + round(1 / 10 * 5)


def test_config_dataclass_holds_every_original_variable():
    names = {f for f in TrainConfig.__dataclass_fields__}
    original = {
        "root_dir",
        "configs_dir",
        "data_dir",
        "images_dir",
        "weights_dir",
        "plots_dir",
        "logs_dir",
        "wgan",
        "n_critic",
        "adapt_critic",
        "weights_init",
        "unroll_steps",
        "pggan",
        "grad_pen_lambda",
        "transit_sch",
        "transit_period",
        "alpha_step",
        "ID",
        "samples_sub_dir",
        "RMSprop",
        "learning_rate",
        "batch_size",
        "N_epochs",
        "N_epochs_session",
        "beta1",
        "sim_loss_lambda",
        "sim_loss_lambda_decay_rate",
        "drift_epsilon",
        "resume",
        "N_workers",
        "seed",
        "checkpointing_period",
        "device",
        "pin_memory",
        "dataset_name",
        "dataset_dir",
        "translation",
        "image_preprocessing",
        "latent_dim",
        "image_size",
        "N_colors",
        "LeakyReLU_leak",
        "N_gen_features",
        "N_dis_features",
    }
    assert original <= names
