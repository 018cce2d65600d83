"""Our feature networks against the reference implementations, when those are installed (optional).

torchvision, pytorch-fid and lpips are not dependencies of insilico; where they are importable these tests
copy random weights from the reference model into ours and require identical outputs. They are skipped
otherwise.
"""

import re

import pytest
import torch
from insilico_core.metrics import LPIPS, InceptionV3

pytestmark = pytest.mark.usefixtures("single_torch_thread")


def randomize_batch_norm_statistics(module):
    generator = torch.Generator().manual_seed(0)
    for name, buffer in module.named_buffers():
        if name.endswith("running_var"):
            buffer.copy_(torch.rand(buffer.shape, generator=generator) + 0.5)
        elif name.endswith("running_mean"):
            buffer.copy_(torch.randn(buffer.shape, generator=generator) * 0.1)
    return module


@pytest.mark.slow
def test_inception_variants_equal_torchvision_and_pytorch_fid():
    models = pytest.importorskip("torchvision.models")
    fid_inception = pytest.importorskip("pytorch_fid.inception")
    torch.manual_seed(0)
    x = torch.randn(1, 3, 299, 299)
    reference = randomize_batch_norm_statistics(
        models.inception_v3(weights=None, aux_logits=True, init_weights=True)
    )
    reference.transform_input = False
    ours = InceptionV3("torchvision")
    ours.load_state_dict({k: v for k, v in reference.state_dict().items() if not k.startswith("AuxLogits.")})
    with torch.no_grad():
        torch.testing.assert_close(ours.eval()(x), reference.eval()(x), rtol=0, atol=0)
    fid = fid_inception._inception_v3(num_classes=1008, aux_logits=False, weights=None)
    for name, block in (
        ("Mixed_5b", fid_inception.FIDInceptionA(192, pool_features=32)),
        ("Mixed_5c", fid_inception.FIDInceptionA(256, pool_features=64)),
        ("Mixed_5d", fid_inception.FIDInceptionA(288, pool_features=64)),
        ("Mixed_6b", fid_inception.FIDInceptionC(768, channels_7x7=128)),
        ("Mixed_6c", fid_inception.FIDInceptionC(768, channels_7x7=160)),
        ("Mixed_6d", fid_inception.FIDInceptionC(768, channels_7x7=160)),
        ("Mixed_6e", fid_inception.FIDInceptionC(768, channels_7x7=192)),
        ("Mixed_7b", fid_inception.FIDInceptionE_1(1280)),
        ("Mixed_7c", fid_inception.FIDInceptionE_2(2048)),
    ):
        setattr(fid, name, block)
    randomize_batch_norm_statistics(fid)
    ours = InceptionV3("tf-fid")
    ours.load_state_dict(fid.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(ours.eval()(x), fid.eval()(x), rtol=0, atol=0)


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_lpips_equals_the_lpips_package(net):
    lpips_package = pytest.importorskip("lpips")
    torch.manual_seed(0)
    reference = lpips_package.LPIPS(pretrained=False, net=net, pnet_rand=True, verbose=False).eval()
    for head in reference.lins:
        torch.nn.init.uniform_(head.model[1].weight, 0, 1)
    ours = LPIPS(net).eval()
    ours.load_state_dict(
        {
            re.sub(r"^net\.slice\d+\.", "features.", key): value
            for key, value in reference.state_dict().items()
            if key.startswith("net.") or re.match(r"lin\d", key)
        }
    )
    x, y = torch.rand(2, 3, 48, 48) * 2 - 1, torch.rand(2, 3, 48, 48) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(ours(x, y), reference(x, y).view(-1), rtol=0, atol=0)
