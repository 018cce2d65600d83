"""LPIPS on SqueezeNet 1.1 (``net='squeeze'``, MSSG's torchmetrics ``net_type='squeeze'``).

Facts asserted here come from the published code and files: torchvision's ``squeezenet1_1`` (``features``
of a 3x3/2 convolution, ReLU, three ceil-mode 3x3/2 max pools and eight Fire modules with the keys
``squeeze`` / ``expand1x1`` / ``expand3x3``; ``classifier.1`` the 1000-way 1x1 convolution), the lpips
package's seven slices ``features[0:2], [2:5], [5:8], [8:10], [10:11], [11:12], [12:13]`` with channels
(64, 128, 256, 384, 384, 512, 512), and its v0.1 heads ``lin{k}.model.1.weight [1, C_k, 1, 1]``. The weight
files written here hold random values under those names; nothing is downloaded.
"""

import json
import math

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from insilico_core.metrics import LPIPS, load_lpips, lpips
from insilico_core.metrics.cli import metrics
from insilico_core.metrics.weights import REGISTRY, resolve_weights
from PIL import Image
from torch import nn

SLICE_CHANNELS = (64, 128, 256, 384, 384, 512, 512)
SLICE_BOUNDS = ((0, 2), (2, 5), (5, 8), (8, 10), (10, 11), (11, 12), (12, 13))
# torchvision squeezenet1_1: index -> (in, squeeze, expand) of each Fire module
FIRE_MODULES = {
    3: (64, 16, 64),
    4: (128, 16, 64),
    6: (128, 32, 128),
    7: (256, 32, 128),
    9: (256, 48, 192),
    10: (384, 48, 192),
    11: (384, 64, 256),
    12: (512, 64, 256),
}


pytestmark = pytest.mark.usefixtures("single_torch_thread")


def torchvision_squeezenet1_1_state(seed: int) -> dict[str, torch.Tensor]:
    """Random tensors under every key of torchvision's ``squeezenet1_1-b8a52dc0.pth``, with its shapes."""
    generator = torch.Generator().manual_seed(seed)
    shapes = {"features.0.weight": (64, 3, 3, 3), "features.0.bias": (64,)}
    for index, (c_in, c_squeeze, c_expand) in FIRE_MODULES.items():
        prefix = f"features.{index}"
        shapes[f"{prefix}.squeeze.weight"] = (c_squeeze, c_in, 1, 1)
        shapes[f"{prefix}.squeeze.bias"] = (c_squeeze,)
        shapes[f"{prefix}.expand1x1.weight"] = (c_expand, c_squeeze, 1, 1)
        shapes[f"{prefix}.expand1x1.bias"] = (c_expand,)
        shapes[f"{prefix}.expand3x3.weight"] = (c_expand, c_squeeze, 3, 3)
        shapes[f"{prefix}.expand3x3.bias"] = (c_expand,)
    shapes["classifier.1.weight"] = (1000, 512, 1, 1)
    shapes["classifier.1.bias"] = (1000,)
    state = {}
    for key, shape in shapes.items():
        fan_in = math.prod(shape[1:]) if len(shape) > 1 else 1
        state[key] = torch.randn(shape, generator=generator) / math.sqrt(fan_in)
    return state


def lpips_squeeze_heads(seed: int) -> dict[str, torch.Tensor]:
    """Random non-negative heads under the keys of lpips' ``weights/v0.1/squeeze.pth``."""
    generator = torch.Generator().manual_seed(seed)
    return {
        f"lin{k}.model.1.weight": torch.rand(1, c, 1, 1, generator=generator)
        for k, c in enumerate(SLICE_CHANNELS)
    }


@pytest.fixture
def weight_files(tmp_path):
    """(backbone path, heads path, backbone state, heads state), saved the old way as the 2017 files are."""
    backbone, heads = torchvision_squeezenet1_1_state(0), lpips_squeeze_heads(1)
    backbone_path, heads_path = tmp_path / "squeezenet1_1.pth", tmp_path / "squeeze.pth"
    torch.save(backbone, backbone_path, _use_new_zipfile_serialization=False)
    torch.save(heads, heads_path, _use_new_zipfile_serialization=False)
    return backbone_path, heads_path, backbone, heads


@pytest.fixture
def model(weight_files):
    backbone_path, heads_path, _, _ = weight_files
    return load_lpips("squeeze", backbone_path, heads_path)


class ReferenceFire(nn.Module):
    """torchvision's Fire as written from its definition: in-place ReLUs, expands concatenated."""

    def __init__(self, c_in: int, c_squeeze: int, c_expand: int) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(c_in, c_squeeze, kernel_size=1)
        self.squeeze_activation = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(c_squeeze, c_expand, kernel_size=1)
        self.expand1x1_activation = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(c_squeeze, c_expand, kernel_size=3, padding=1)
        self.expand3x3_activation = nn.ReLU(inplace=True)

    def forward(self, x):
        x = self.squeeze_activation(self.squeeze(x))
        return torch.cat(
            [self.expand1x1_activation(self.expand1x1(x)), self.expand3x3_activation(self.expand3x3(x))], 1
        )


def reference_slices(backbone: dict[str, torch.Tensor]) -> list[nn.Sequential]:
    """lpips' seven slices of torchvision ``squeezenet1_1().features``, loaded from ``backbone``."""
    layers = {0: nn.Conv2d(3, 64, kernel_size=3, stride=2), 1: nn.ReLU(inplace=True)}
    for index in (2, 5, 8):
        layers[index] = nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True)
    layers.update({index: ReferenceFire(*sizes) for index, sizes in FIRE_MODULES.items()})
    slices = []
    for start, stop in SLICE_BOUNDS:
        block = nn.Sequential()
        for index in range(start, stop):
            block.add_module(str(index), layers[index])
            prefix = f"features.{index}."
            own = {k[len(prefix) :]: v for k, v in backbone.items() if k.startswith(prefix)}
            layers[index].load_state_dict(own)
        slices.append(block.eval())
    return slices


def reference_lpips(x, y, backbone, heads):
    """lpips v0.1 ``LPIPS(net='squeeze')`` on [-1, 1] images: scale, slice, unit-normalise, weigh, average."""
    shift = torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1)
    scale = torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1)
    slices = reference_slices(backbone)
    hx, hy = (x - shift) / scale, (y - shift) / scale
    total = 0
    for k, block in enumerate(slices):
        hx, hy = block(hx), block(hy)
        nx = hx / (torch.sqrt(torch.sum(hx**2, dim=1, keepdim=True)) + 1e-10)
        ny = hy / (torch.sqrt(torch.sum(hy**2, dim=1, keepdim=True)) + 1e-10)
        weighted = nn.functional.conv2d((nx - ny) ** 2, heads[f"lin{k}.model.1.weight"])
        total = total + weighted.mean(dim=[2, 3], keepdim=True)
    return total.flatten()


def test_loaders_read_torchvision_backbone_and_v01_heads(weight_files, model):
    _, _, backbone, heads = weight_files
    state = model.state_dict()
    expected = {k: v for k, v in backbone.items() if k.startswith("features.")} | heads
    assert set(state) == set(expected)
    for key, value in expected.items():
        assert torch.equal(state[key], value), key
    assert not model.training and not any(p.requires_grad for p in model.parameters())


def test_slices_give_the_lpips_channels_on_64x64():
    model = LPIPS("squeeze").eval()
    with torch.no_grad():
        shapes = [tuple(f.shape[1:]) for f in model.activations(torch.rand(2, 3, 64, 64) * 2 - 1)]
    # conv 3x3/2: 64 -> 31; ceil-mode pools 3x3/2: 31 -> 15 -> 7 -> 3
    sides = (31, 15, 7, 3, 3, 3, 3)
    assert shapes == [(c, s, s) for c, s in zip(SLICE_CHANNELS, sides, strict=True)]


def test_distance_is_zero_on_itself_symmetric_and_non_negative(model):
    generator = torch.Generator().manual_seed(2)
    x, y = torch.rand(3, 3, 48, 40, generator=generator), torch.rand(3, 3, 48, 40, generator=generator)
    assert torch.equal(lpips(x, x, model, normalize=True), torch.zeros(3))
    forward, backward = lpips(x, y, model, normalize=True), lpips(y, x, model, normalize=True)
    torch.testing.assert_close(forward, backward)
    assert forward.shape == (3,) and bool((forward > 0).all())
    near = lpips(x, (x + 0.01).clamp(0, 1), model, normalize=True)
    assert bool((near >= 0).all()) and bool((near < forward).all())


def test_matches_the_lpips_slices_built_from_torch_primitives(weight_files, model):
    _, _, backbone, heads = weight_files
    generator = torch.Generator().manual_seed(3)
    x = torch.rand(2, 3, 64, 56, generator=generator) * 2 - 1
    y = torch.rand(2, 3, 64, 56, generator=generator) * 2 - 1
    with torch.no_grad():
        expected = reference_lpips(x, y, backbone, heads)
        actual = lpips(x, y, model)
    assert bool((expected > 0).all())
    torch.testing.assert_close(actual, expected, rtol=1e-6, atol=1e-8)


def test_grey_inputs_in_unit_range_equal_repeated_rgb_in_signed_range(model):
    generator = torch.Generator().manual_seed(4)
    x, y = torch.rand(2, 1, 40, 40, generator=generator), torch.rand(2, 1, 40, 40, generator=generator)
    torch.testing.assert_close(
        lpips(x, y, model, normalize=True),
        lpips(x.repeat(1, 3, 1, 1) * 2 - 1, y.repeat(1, 3, 1, 1) * 2 - 1, model),
    )


def test_registry_names_the_published_files(tmp_path, monkeypatch):
    heads, backbone = REGISTRY["lpips-squeeze"], REGISTRY["squeezenet1_1-torchvision"]
    assert heads.url.endswith("/lpips/weights/v0.1/squeeze.pth") and heads.checksum_kind == "sha256"
    assert backbone.file_name == "squeezenet1_1-b8a52dc0.pth"
    assert backbone.url == "https://download.pytorch.org/models/squeezenet1_1-b8a52dc0.pth"
    assert (backbone.checksum_kind, backbone.checksum) == ("sha256-prefix", "b8a52dc0")
    monkeypatch.setenv("INSILICO_WEIGHTS", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="squeezenet1_1-b8a52dc0.pth"):
        lpips(torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32), "squeeze")
    with pytest.raises(FileNotFoundError, match="lpips-v0.1-squeeze.pth"):
        resolve_weights("lpips-squeeze")
    (tmp_path / "squeezenet1_1-b8a52dc0.pth").write_bytes(b"")
    assert resolve_weights("squeezenet1_1-torchvision") == tmp_path / "squeezenet1_1-b8a52dc0.pth"


def test_metrics_command_lpips_squeeze_is_the_mean_of_the_function(tmp_path, weight_files, model):
    backbone_path, heads_path, _, _ = weight_files
    rng = np.random.default_rng(5)
    real = [rng.integers(0, 256, size=(36, 40), dtype=np.uint8) for _ in range(3)]
    fake = [
        np.clip(a.astype(int) + rng.integers(-30, 31, size=a.shape), 0, 255).astype(np.uint8) for a in real
    ]
    for name, images in (("real", real), ("fake", fake)):
        (tmp_path / name).mkdir()
        for index, array in enumerate(images):
            Image.fromarray(array).save(tmp_path / name / f"img{index}.png")
    x = torch.from_numpy(np.stack(real)[:, None] / 255.0).float()
    y = torch.from_numpy(np.stack(fake)[:, None] / 255.0).float()
    expected = lpips(x, y, model, normalize=True).mean()
    result = CliRunner().invoke(
        metrics,
        [
            "lpips-squeeze",
            str(tmp_path / "real"),
            str(tmp_path / "fake"),
            "--weights",
            str(backbone_path),
            "--lpips-heads",
            str(heads_path),
            "--device",
            "cpu",
            "--batch-size",
            "2",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout.strip().splitlines()[-1])
    assert record["value"] == pytest.approx(float(expected), rel=1e-5) and record["num_pairs"] == 3
