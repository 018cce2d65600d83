"""Device resolution, autocast precision flags, gradient scaling and channels-last."""

from __future__ import annotations

import pytest
import torch
from insilico_core.train import PRECISIONS, autocast, grad_scaler, resolve_device, to_channels_last
from torch import nn


def test_resolve_device_cpu_and_auto():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(" CPU ") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    assert resolve_device("auto").type == expected


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
@pytest.mark.parametrize("spec", ["cuda", "cuda:1"])
def test_missing_cuda_is_a_clear_error(spec):
    with pytest.raises(ValueError, match="CUDA is not available.*--device cpu"):
        resolve_device(spec)


@pytest.mark.parametrize("spec", ["gpu", "tpu:0", "", 3])
def test_unknown_device_is_refused(spec):
    with pytest.raises(ValueError, match="device"):
        resolve_device(spec)


def test_bf16_autocast_on_cpu_runs_matmul_in_bf16():
    a, b = torch.randn(8, 16), torch.randn(16, 4)
    with autocast("cpu", "bf16"):
        out = a @ b
        linear = nn.Linear(16, 4)(a)
    assert out.dtype == torch.bfloat16 and linear.dtype == torch.bfloat16
    reference = a.to(torch.bfloat16).float() @ b.to(torch.bfloat16).float()
    torch.testing.assert_close(out.float(), reference, rtol=2e-2, atol=2e-2)
    with autocast("cpu", "fp32"):
        assert (a @ b).dtype == torch.float32
    assert (a @ b).dtype == torch.float32  # autocast ends with the block


@pytest.mark.parametrize(
    ("device", "precision", "message"),
    [
        ("cpu", "fp16", "needs a CUDA device"),
        ("cpu", "half", "precision must be one of"),
        ("meta", "bf16", "bf16"),
    ],
)
def test_invalid_precision_is_refused_before_running(device, precision, message):
    with pytest.raises(ValueError, match=message):
        with autocast(device, precision):
            pytest.fail("the block must not run")


def test_grad_scaler_is_a_pass_through_without_fp16():
    assert PRECISIONS == ("fp32", "bf16", "fp16")
    model = nn.Linear(2, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    scaler = grad_scaler("cpu", "bf16")
    assert not scaler.is_enabled()
    before = model.weight.detach().clone()
    loss = model(torch.ones(1, 2)).sum()
    scaled = scaler.scale(loss)
    assert scaled is loss
    scaled.backward()
    scaler.step(optimizer)
    scaler.update()
    torch.testing.assert_close(model.weight, before - 0.5 * torch.ones(1, 2))


def test_channels_last_keeps_values_and_changes_layout():
    conv = nn.Conv2d(3, 5, 3)
    x = torch.randn(2, 3, 8, 8)
    expected = conv(x)
    assert to_channels_last(conv) is conv
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(conv(x.contiguous(memory_format=torch.channels_last)), expected)
