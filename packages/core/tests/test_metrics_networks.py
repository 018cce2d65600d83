"""Feature networks: random weights saved in the published key layouts load through our loaders.

The key names and shapes asserted here are facts of the published files (pytorch-fid's
pt_inception-2015-12-05, torchvision's inception_v3_google, piergiaj's rgb_imagenet.pt, torchvision's
alexnet/vgg16 and lpips' v0.1 heads); the files written here hold random values under those names, saved the
old way (legacy serialisation, no BatchNorm ``num_batches_tracked``) where the originals are that old.
"""

import pytest
import torch
from insilico_core.metrics import (
    LPIPS,
    I3DFeatures,
    InceptionFeatures,
    InceptionI3d,
    InceptionV3,
    load_i3d,
    load_inception,
    load_lpips,
    lpips,
    normalize_per_sample,
)

pytestmark = pytest.mark.usefixtures("single_torch_thread")


def randomized_state(module: torch.nn.Module, seed: int) -> dict[str, torch.Tensor]:
    """Random values for every entry (positive running variances), without num_batches_tracked."""
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for key, value in module.state_dict().items():
        if key.endswith("num_batches_tracked"):
            continue
        if key.endswith("running_var"):
            state[key] = torch.rand(value.shape, generator=generator) + 0.5
        else:
            state[key] = torch.randn(value.shape, generator=generator) * 0.05
    return state


def save_legacy(state, path):
    torch.save(state, path, _use_new_zipfile_serialization=False)
    return path


PUBLISHED_INCEPTION_KEYS = {
    "Conv2d_1a_3x3.conv.weight": (32, 3, 3, 3),
    "Conv2d_1a_3x3.bn.running_var": (32,),
    "Mixed_5b.branch_pool.conv.weight": (32, 192, 1, 1),
    "Mixed_6b.branch7x7dbl_5.conv.weight": (192, 128, 1, 7),
    "Mixed_7c.branch3x3dbl_3b.conv.weight": (384, 384, 3, 1),
}


@pytest.fixture(scope="module")
def torchvision_inception_state():
    state = randomized_state(InceptionV3("torchvision"), 1)
    state["AuxLogits.conv0.conv.weight"] = torch.zeros(128, 768, 1, 1)  # in torchvision's file, unused here
    state["AuxLogits.fc.weight"] = torch.zeros(1000, 768)
    return state


def test_tf_fid_inception_loads_pytorch_fid_layout(tmp_path):
    model = InceptionV3("tf-fid")
    state = randomized_state(model, 0)
    for key, shape in PUBLISHED_INCEPTION_KEYS.items():
        assert state[key].shape == shape
    assert state["fc.weight"].shape == (1008, 2048)  # TF graph's 1008 classes
    loaded = load_inception("tf-fid", save_legacy(state, tmp_path / "pt_inception-2015-12-05-6726825d.pth"))
    assert not loaded.training
    assert torch.equal(loaded.Mixed_7c.branch_pool.conv.weight, state["Mixed_7c.branch_pool.conv.weight"])
    grey = torch.rand(1, 1, 40, 40)
    extractor = InceptionFeatures(loaded, "pytorch-fid")
    # grey input is the same as its 3-channel repetition; [0, 1] maps to [-1, 1] at 299 x 299
    prepared = extractor.prepare(grey)
    assert torch.equal(prepared, extractor.prepare(grey.expand(-1, 3, -1, -1)))
    assert prepared.shape == (1, 3, 299, 299) and -1 <= float(prepared.min()) < float(prepared.max()) <= 1
    with torch.no_grad():
        features = extractor(grey)
        probabilities = extractor.probabilities(grey)
    assert features.shape == (1, 2048) and bool((features >= 0).all())  # average of ReLU outputs
    # IS input: softmax of the unbiased logits (torch-fidelity / torchmetrics 'logits_unbiased')
    torch.testing.assert_close(probabilities, torch.softmax(features @ state["fc.weight"].T, dim=1))


def test_torchvision_inception_drops_the_auxiliary_head(tmp_path, torchvision_inception_state):
    path = save_legacy(torchvision_inception_state, tmp_path / "inception_v3_google-0cc3c7bd.pth")
    extractor = InceptionFeatures(load_inception("torchvision", path), "multistylegan")
    frames = torch.rand(1, 1, 32, 32) * 700 + 100  # raw microscopy values
    # per-sample min-max normalisation: an affine change of intensities does not change the network input
    torch.testing.assert_close(
        extractor.prepare(frames * 3 - 50), extractor.prepare(frames), rtol=1e-4, atol=1e-5
    )
    with torch.no_grad():
        features = extractor(frames)
        probabilities = extractor.probabilities(frames)
    assert features.shape == (1, 2048) and probabilities.shape == (1, 1000)


def test_inception_loader_rejects_a_foreign_layout(tmp_path, torchvision_inception_state):
    path = save_legacy(torchvision_inception_state, tmp_path / "wrong.pth")
    with pytest.raises(RuntimeError, match="fc.weight"):  # 1000 classes, not the TF graph's 1008
        load_inception("tf-fid", path)


def test_normalize_per_sample_matches_multistylegan_formula():
    x = torch.tensor([[[[0.0, 5.0], [10.0, 2.5]]], [[[1.0, 1.0], [3.0, 2.0]]]])
    expected = torch.tensor([[[[2e-3 - 1, 0.0], [1.0, -0.5]]], [[[2e-3 - 1, 2e-3 - 1], [1.0, 0.0]]]])
    torch.testing.assert_close(normalize_per_sample(x), expected)


PUBLISHED_I3D_KEYS = {
    "Conv3d_1a_7x7.conv3d.weight": (64, 3, 7, 7, 7),
    "Conv3d_1a_7x7.bn.running_mean": (64,),
    "Mixed_3b.b0.conv3d.weight": (64, 192, 1, 1, 1),
    "Mixed_4f.b1b.conv3d.weight": (320, 160, 3, 3, 3),
    "Mixed_5c.b3b.conv3d.weight": (128, 832, 1, 1, 1),
}


def test_i3d_loads_piergiaj_layout_and_gives_1024_features(tmp_path):
    state = randomized_state(InceptionI3d(), 3)
    for key, shape in PUBLISHED_I3D_KEYS.items():
        assert state[key].shape == shape
    state["logits.conv3d.weight"] = torch.zeros(400, 1024, 1, 1, 1)  # Kinetics-400 classifier, unused
    state["logits.conv3d.bias"] = torch.zeros(400)
    model = load_i3d(save_legacy(state, tmp_path / "rgb_imagenet.pt"))
    extractor = I3DFeatures(model, size=64)
    clips = torch.rand(2, 1, 3, 48, 48)  # Multi-StyleGAN's 3-frame grey clips
    with torch.no_grad():
        features = extractor(clips)
    assert features.shape == (2, 1024)
    with pytest.raises(ValueError, match=r"\[N, 1 or 3, T, H, W\]"):
        extractor(torch.rand(2, 3, 48, 48))


def test_i3d_same_padding_gives_ceil_sizes():
    model = InceptionI3d().eval()
    x = torch.rand(1, 3, 3, 40, 40)
    with torch.no_grad():
        x = model.Conv3d_1a_7x7(x)
        assert x.shape[2:] == (2, 20, 20)  # ceil(3 / 2), ceil(40 / 2)
        x = model.MaxPool3d_2a_3x3(x)
        assert x.shape[2:] == (2, 10, 10)


@pytest.mark.parametrize(
    "net, heads", [("alex", (64, 192, 384, 256, 256)), ("vgg", (64, 128, 256, 512, 512))]
)
def test_lpips_loads_torchvision_backbone_and_v01_heads(tmp_path, net, heads):
    model = LPIPS(net)
    state = randomized_state(model, 4)
    backbone = {key: value for key, value in state.items() if key.startswith("features.")}
    backbone["classifier.1.weight"] = torch.zeros(4, 4)  # torchvision files hold the classifier too
    head_state = {f"lin{k}.model.1.weight": torch.rand(1, c, 1, 1) for k, c in enumerate(heads)}
    assert set(head_state) | set(backbone) - {"classifier.1.weight"} == set(model.state_dict())
    backbone_path = save_legacy(backbone, tmp_path / "backbone.pth")
    loaded = load_lpips(net, backbone_path, save_legacy(head_state, tmp_path / "heads.pth"))
    generator = torch.Generator().manual_seed(5)
    x, y = torch.rand(2, 3, 40, 40, generator=generator), torch.rand(2, 3, 40, 40, generator=generator)
    same = lpips(x, x, loaded, normalize=True)
    assert torch.equal(same, torch.zeros(2))
    forward, backward = lpips(x, y, loaded, normalize=True), lpips(y, x, loaded, normalize=True)
    torch.testing.assert_close(forward, backward)
    assert bool((forward > 0).all())
    # a small perturbation is closer than an unrelated image
    assert bool((lpips(x, (x + 0.01).clamp(0, 1), loaded, normalize=True) < forward).all())


def test_lpips_without_weights_says_what_is_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("INSILICO_WEIGHTS", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="alexnet-owt-7be5be79.pth"):
        lpips(torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32), "alex")
