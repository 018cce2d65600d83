"""The segmentation model: trains the task network alone (e.g. the U-Net S of TAGAN_live on domain-adapted
live-like images), ``L_S = MSE(cat(C, D), S(B))`` with C, D the two masks of a ``two_masks_channels`` file."""

from __future__ import annotations

import argparse

import torch
from torch import nn

from tagan.models.base import PIX2PIX_TRAINING_DEFAULTS, BaseModel
from tagan.networks import define_S


class SegmentationModel(BaseModel):
    model_name = "segmentation"
    loss_names = ("S",)
    visual_names = ("B", "seg_B", "seg_GT")

    option_defaults = {
        "norm": "batch",
        "netS": "unet_128",
        "dataset_mode": "two_masks_channels",
        "output_nc": 2,
    }
    train_option_defaults = PIX2PIX_TRAINING_DEFAULTS

    @classmethod
    def network_names(cls, is_train: bool) -> list[str]:
        return ["S"]

    @classmethod
    def define_network(cls, opt: argparse.Namespace, name: str) -> nn.Module:
        cls.check_network_name(name)
        return define_S(
            opt.input_nc, opt.output_nc, opt.ngf, opt.netS, opt.norm, opt.init_type, opt.init_gain
        )

    def __init__(self, opt: argparse.Namespace):
        super().__init__(opt)
        if self.isTrain:
            self.criterionSEG = nn.MSELoss()
            self.optimizer_S = self.adam(self.nets["S"])

    def set_input(self, data: dict) -> None:
        self.B = self.to_device(data["B"])
        self.seg_GT = torch.cat([self.to_device(data["C"]), self.to_device(data["D"])], dim=1)
        self.image_paths = list(data["A_paths"])

    def forward(self) -> None:
        with self.autocast():
            self.seg_B = self.nets["S"](self.B)
        self.visuals.update(B=self.B, seg_B=self.seg_B, seg_GT=self.seg_GT)

    def segmenter_loss(self) -> torch.Tensor:
        self.losses["S"] = self.criterionSEG(self.seg_GT, self.seg_B.float())
        return self.losses["S"]

    def compute_losses(self) -> None:
        self.segmenter_loss()

    def optimize_parameters(self) -> None:
        self.forward()
        self.descend(self.optimizer_S, self.segmenter_loss)
