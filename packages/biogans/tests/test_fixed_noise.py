"""The original fixed-noise files (shared data) load, with the documented group structure."""

from __future__ import annotations

import pytest
import torch
from biogans.noise import load_fixed_noise, make_fixed_noise


@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("path", "nz"),
    [
        ("models_6class_joint/fixed_noise_batch64_dim100.pth", 100),
        ("models_6class_conditional/fixed_noise_batch64_dim100.pth", 100),
        ("models_6class_conditional/fixed_noise_batch64_dim350.pth", 350),
    ],
)
def test_fixed_noise_files_load(shared_data, path, nz):
    noise = load_fixed_noise(shared_data / "biogans" / path, nz=nz)
    assert noise.shape == (64, nz, 1, 1) and noise.dtype == torch.float32
    assert abs(float(noise.mean())) < 0.1 and abs(float(noise.std()) - 1) < 0.1
    for group in noise.view(8, 8, nz):  # 8 groups of 8 samples share the first 50 (red) entries
        assert torch.equal(group[:, :50], group[:1, :50].expand(8, 50))
        assert not torch.equal(group[0, 50:], group[1, 50:])
    with pytest.raises(ValueError, match="--nz 7"):
        load_fixed_noise(shared_data / "biogans" / path, nz=7)


@pytest.mark.shared_data
def test_long_noise_starts_like_the_short_one(shared_data):
    short = load_fixed_noise(shared_data / "biogans/models_6class_conditional/fixed_noise_batch64_dim100.pth")
    long = load_fixed_noise(shared_data / "biogans/models_6class_conditional/fixed_noise_batch64_dim350.pth")
    assert torch.equal(long[0, :100], short[0])


def test_generated_fixed_noise_groups(tmp_path):
    torch.manual_seed(0)
    noise = make_fixed_noise(20, 10, red_portion=0.3, separable=True)
    assert noise.shape == (20, 10, 1, 1)
    assert torch.equal(noise[8:16, :3], noise[8:9, :3].expand(8, 3, 1, 1))
    assert torch.equal(noise[16:20, :3], noise[16:17, :3].expand(4, 3, 1, 1))
    assert not torch.equal(noise[0, :3], noise[8, :3]) and not torch.equal(noise[0, 3:], noise[1, 3:])
    with pytest.raises(FileNotFoundError, match="fixed noise file"):
        load_fixed_noise(tmp_path / "none.pth")
