"""FID / FVD / IS during training: the protocol with stand-in feature networks, the core networks built
from weight files in the published layouts (random values made here), and the skip message without them."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from insilico_core.metrics import InceptionI3d, InceptionV3
from multistylegan.validation import ValidationMetrics, validate


class _Loader(list):
    """A list of batches standing in for the training DataLoader."""


class _PooledFeatures:
    """Stand-in feature network: 2x2 average-pooled values (frames ``[N, 1, H, W]`` or clips
    ``[N, 1, T, H, W]``); probabilities: softmax over the 4 pooled values of a frame."""

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        frames = x.flatten(1, -3) if x.dim() == 5 else x
        return torch.nn.functional.adaptive_avg_pool2d(frames, 2).reshape(x.shape[0], -1)

    def probabilities(self, frames: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self(frames) * 10, dim=1)


class _ConstantGenerator(torch.nn.Module):
    """Sequences ``[B, 2, 3, 8, 8]`` equal to ``value`` everywhere, whatever the latents."""

    latent_dimensions = 4

    def __init__(self, value: torch.Tensor) -> None:
        super().__init__()
        self.value = value

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.value.expand(z.shape[0], -1, -1, -1, -1).clone()


def test_metrics_per_domain_and_cached_real_statistics():
    torch.manual_seed(0)
    # two real "sequences" types alternating; the generator reproduces the first exactly
    first = torch.rand(1, 2, 1, 8, 8).expand(-1, -1, 3, -1, -1)  # the same frame at every time step
    second = torch.rand(1, 2, 3, 8, 8)
    loader = _Loader([torch.cat([first, second]) for _ in range(3)])
    metrics = ValidationMetrics(_PooledFeatures(), _PooledFeatures(), samples=4, batch_size=2)
    matching = metrics.evaluate(_ConstantGenerator(first[0]), loader)
    assert set(matching) == {f"{name}_{domain}" for name in ("FID", "FVD", "IS") for domain in ("bf", "gfp")}
    assert metrics.real_seen == 4
    loader.clear()  # the real statistics are kept: a second evaluation does not read the data again
    shifted = metrics.evaluate(_ConstantGenerator(first[0] + 5.0), loader)
    for domain in ("bf", "gfp"):
        # a constant generator: zero fake covariance, so FID >= |mean difference|^2 and grows with the shift
        assert shifted[f"FID_{domain}"] > matching[f"FID_{domain}"] + 10
        assert shifted[f"FVD_{domain}"] > matching[f"FVD_{domain}"] + 10
        # all generated frames get the same class probabilities: IS is exactly 1
        assert matching[f"IS_{domain}"] == pytest.approx(1.0)


@pytest.mark.slow
def test_networks_load_from_weight_files_in_the_published_layouts(tmp_path: Path):
    torch.manual_seed(0)
    inception, i3d = tmp_path / "inception.pth", tmp_path / "rgb_imagenet.pt"
    torch.save(InceptionV3("torchvision").state_dict(), inception)
    torch.save(InceptionI3d().state_dict(), i3d)
    metrics = ValidationMetrics.from_weight_files(inception, i3d, samples=2, batch_size=2)
    assert metrics.image_features.preprocessing == "multistylegan"
    assert metrics.fvd["bf"].extractor.size == 224


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
