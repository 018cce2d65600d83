"""FID / FVD / IS during training: computed with weight files in the published layouts (random values made
here), skipped with a clear message when the files are missing."""

from __future__ import annotations

from pathlib import Path

import multistylegan as msg
import pytest
import torch
from insilico_core.metrics import InceptionI3d, InceptionV3
from multistylegan.validation import ValidationMetrics, validate


class _Loader(list):
    """A list of batches standing in for the training DataLoader."""


@pytest.fixture(scope="module")
def weight_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("weights")
    torch.manual_seed(0)
    inception, i3d = folder / "inception.pth", folder / "rgb_imagenet.pt"
    torch.save(InceptionV3("torchvision").state_dict(), inception)
    torch.save(InceptionI3d().state_dict(), i3d)
    return inception, i3d


@pytest.mark.slow
def test_metrics_per_domain_with_cached_real_statistics(weight_files):
    torch.manual_seed(1)
    generator = msg.Generator(config=msg.generator_config(channels=8, resolution=32)).eval()
    loader = _Loader([torch.rand(2, 2, 3, 32, 32) for _ in range(3)])
    metrics = ValidationMetrics(*weight_files, samples=2, batch_size=2)
    first = metrics.evaluate(generator, loader)
    assert set(first) == {f"{name}_{domain}" for name in ("FID", "FVD", "IS") for domain in ("bf", "gfp")}
    assert all(value == value and value >= 0 for value in first.values())  # finite, not NaN
    assert all(first[f"IS_{domain}"] >= 1.0 - 1e-6 for domain in ("bf", "gfp"))
    assert metrics.real_seen == 2
    loader.clear()  # the real statistics are kept: a second evaluation does not read the data again
    second = metrics.evaluate(generator, loader)
    assert set(second) == set(first)


def test_missing_weights_skip_with_a_message(capsys, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("INSILICO_WEIGHTS", str(tmp_path))
    monkeypatch.setenv("INSILICO_CACHE", str(tmp_path))

    class _Trainer:
        info = type("Info", (), {"is_main": True})()
        validation_metrics = None
        validation_skipped = False
        local_batch = 2
        device = torch.device("cpu")

    class _Options:
        inception_weights = str(tmp_path / "absent_inception.pth")
        i3d_weights = None
        metric_samples = 4

    trainer = _Trainer()
    assert validate(trainer, _Options()) == {}
    assert "FID/FVD/IS skipped" in capsys.readouterr().out
    assert trainer.validation_skipped
    assert validate(trainer, _Options()) == {}
    assert capsys.readouterr().out == ""  # said once
