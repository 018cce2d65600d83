"""Covariate regressors / classifiers for the strata prediction score (MSSG ``eval_regr/``).

One model per covariate: a ResNet (BasicBlock ResNet-18 / -34 layout or Bottleneck ResNet-50, written in plain
torch) whose first convolution takes the image's channels (MSSG replaces torchvision's conv1 by a 7x7/2 conv
without bias for 1-channel images) and whose head is ``Linear(features, 1)`` (regression, binary) or
``Linear(features, ncls)``. Targets are the NORMALISED covariate (the dataset's label column). Training as
MSSG: Adam with OneCycleLR (max_lr 0.1), MSE for regression, BCE-with-logits (pos_weight n0/n1) for two
classes,
weighted cross-entropy otherwise; best validation loss kept, early stopping after ``patience`` epochs.

Differences: no ImageNet pre-training (no downloads; pass ``--init`` with a state dict to start from one);
checkpoints are our weights-only files, not Lightning ``.ckpt``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from insilico_core.train import atomic_save, load_checkpoint
from torch import nn

DEPTHS = {18: ("basic", [2, 2, 2, 2]), 34: ("basic", [3, 4, 6, 3]), 50: ("bottleneck", [3, 4, 6, 3])}


class _Block(nn.Module):
    def __init__(self, kind: str, in_ch: int, width: int, stride: int) -> None:
        super().__init__()
        expansion = 4 if kind == "bottleneck" else 1
        out_ch = width * expansion
        if kind == "basic":
            self.body = nn.Sequential(
                nn.Conv2d(in_ch, width, 3, stride, 1, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
                nn.Conv2d(width, width, 3, 1, 1, bias=False),
                nn.BatchNorm2d(width),
            )
        else:
            self.body = nn.Sequential(
                nn.Conv2d(in_ch, width, 1, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
                nn.Conv2d(width, width, 3, stride, 1, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
                nn.Conv2d(width, out_ch, 1, bias=False),
                nn.BatchNorm2d(out_ch),
            )
        self.shortcut = (
            nn.Sequential(nn.Conv2d(in_ch, out_ch, 1, stride, bias=False), nn.BatchNorm2d(out_ch))
            if stride != 1 or in_ch != out_ch
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.body(x) + self.shortcut(x))


class CovariateRegressor(nn.Module):
    """ResNet ``images [N, C, H, W] in [0, 1] -> [N, outputs]`` (logits for classification).

    Args:
        in_channels: image channels; depth: 18, 34 or 50; outputs: 1 (regression / binary) or ncls;
        base_width: channels of the first stage (64 in torchvision; smaller for tests).
    """

    def __init__(self, in_channels: int = 1, depth: int = 18, outputs: int = 1, base_width: int = 64) -> None:
        super().__init__()
        if depth not in DEPTHS:
            raise ValueError(f"depth must be one of {sorted(DEPTHS)}, got {depth}")
        kind, counts = DEPTHS[depth]
        self.config = dict(in_channels=in_channels, depth=depth, outputs=outputs, base_width=base_width)
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, base_width, 7, 2, 3, bias=False),
            nn.BatchNorm2d(base_width),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, 1),
        ]
        in_ch = base_width
        for stage, count in enumerate(counts):
            width = base_width * 2**stage
            for i in range(count):
                layers.append(_Block(kind, in_ch, width, 2 if i == 0 and stage > 0 else 1))
                in_ch = width * (4 if kind == "bottleneck" else 1)
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(in_ch, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))


def task_loss(task: str, outputs: torch.Tensor, targets: torch.Tensor, class_weights: torch.Tensor | None):
    """MSE (regression), BCE-with-logits with ``pos_weight`` (binary), or weighted cross-entropy (ncls)."""
    if task == "regression":
        return F.mse_loss(outputs[:, 0], targets)
    if outputs.shape[1] == 1:
        return F.binary_cross_entropy_with_logits(outputs[:, 0], targets, pos_weight=class_weights)
    return F.cross_entropy(outputs, targets.long(), weight=class_weights)


def train_regressor(
    train_images: torch.Tensor,
    train_targets: torch.Tensor,
    val_images: torch.Tensor,
    val_targets: torch.Tensor,
    task: str = "regression",
    ncls: int = 1,
    depth: int = 18,
    base_width: int = 64,
    epochs: int = 300,
    batch_size: int = 128,
    patience: int = 60,
    seed: int = 42,
    device: str | torch.device = "cpu",
) -> CovariateRegressor:
    """Fit one covariate model: images ``[N, C, H, W]`` in [0, 1], targets ``[N]`` (normalised or ids)."""
    if task not in ("regression", "classification"):
        raise ValueError(f"task must be regression or classification, got {task!r}")
    torch.manual_seed(seed)
    outputs = 1 if task == "regression" or ncls <= 2 else ncls
    model = CovariateRegressor(train_images.shape[1], depth, outputs, base_width).to(device)
    weights = None
    if task == "classification":
        counts = torch.bincount(train_targets.long(), minlength=max(ncls, 2)).float()
        weights = (
            (counts[0] / counts[1].clamp(min=1)).reshape(1)
            if outputs == 1
            else counts.sum() / counts.clamp(1)
        )
        weights = weights.to(device)
    steps = max(1, int(np.ceil(len(train_images) / batch_size)))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, epochs=epochs, steps_per_epoch=steps)
    best, best_state, waited = float("inf"), None, 0
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(train_images), generator=generator)
        for idx in order.split(batch_size):
            loss = task_loss(
                task, model(train_images[idx].to(device)), train_targets[idx].to(device), weights
            )
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        model.eval()
        with torch.no_grad():
            val = float(
                task_loss(task, predict(model, val_images, batch_size), val_targets.to(device), weights)
            )
        if val < best:
            best, best_state, waited = val, {k: v.detach().clone() for k, v in model.state_dict().items()}, 0
        else:
            waited += 1
            if waited > patience:
                break
    model.load_state_dict(best_state)
    return model.eval()


def predict(model: nn.Module, images: torch.Tensor, batch_size: int = 128) -> torch.Tensor:
    """Model outputs ``[N, outputs]`` of images ``[N, C, H, W]`` in [0, 1] (on the model's device)."""
    device = next(model.parameters()).device
    with torch.no_grad():
        return torch.cat([model(chunk.to(device).float()) for chunk in images.split(batch_size)])


def save_regressor(path: str | Path, model: CovariateRegressor, covariate: str, task: str) -> Path:
    """Weights-only file with the model config, covariate name and task."""
    return atomic_save(
        {"config": model.config, "covariate": covariate, "task": task, "state_dict": model.state_dict()}, path
    )


def load_regressor(
    path: str | Path, device: str | torch.device = "cpu"
) -> tuple[CovariateRegressor, str, str]:
    """(model in eval mode, covariate name, task) from :func:`save_regressor`'s file."""
    payload = load_checkpoint(path)
    if not isinstance(payload, dict) or "config" not in payload:
        raise ValueError(f"{path} is not a covariate regressor written by mssg-eval train-regressor")
    model = CovariateRegressor(**payload["config"])
    model.load_state_dict(payload["state_dict"])
    return model.to(device).eval(), payload["covariate"], payload["task"]
