"""TAGAN_cycle: fixed-cell -> live-cell domain adaptation of F-actin STED images (a CycleGAN assisted by
a frozen segmenter).

G_F maps fixed (F) to live-like (L) images, G_L maps back. Besides the two adversarial and two cycle terms,
the frozen UNet_Dendrites segmenter U must find the same rings / fibers in the reconstruction G_L(G_F(F)) as
in F: ``MSE(threshold(U(F)), U(rec_F)) * lambda_seg``. Kept from the original because the released G_L
depends on it: ``real_F`` is rescaled in place to ``(F - min) / (0.8 (max - min))`` (batch-wide, range
[0, 1.25]) before U, the F cycle loss and D_L see it; at test time the visual is
``fake_F = clamp(G_L(L) - 1, -1, 1)``.
"""

from __future__ import annotations

import argparse

import torch
from torch import nn

from tagan.models.base import binarize_rings_and_fibers
from tagan.models.cycle_gan import CycleConsistentModel
from tagan.unet_dendrites import load_unet_dendrites

RING_THRESHOLD = 0.25  # U outputs are sigmoid probabilities
FIBER_THRESHOLD = 0.40


class CycleModel(CycleConsistentModel):
    model_name = "TAGAN_cycle"
    domains = ("F", "L")
    loss_names = ("D_F", "G_F", "cycle_F", "D_L", "G_L", "cycle_L", "seg")

    option_defaults = {
        "norm": "batch",
        "netG": "resnet_9blocks",
        "netS": "resnet_6blocks",
        "dataset_mode": "fixed_live",
        "preprocess": "crop_rotation",
        "crop_size": 224,
        "batch_size": 1,
    }
    train_option_defaults = {"gan_mode": "vanilla"}

    @classmethod
    def add_model_options(cls, parser: argparse.ArgumentParser, is_train: bool) -> None:
        parser.add_argument(
            "--unet_dendrites",
            type=str,
            default="checkpoints/UNet_Dendrites",
            help="folder with params.net and params_trainer.pkl of the frozen segmenter",
        )
        if is_train:
            cls.add_cycle_loss_weights(parser)
            parser.add_argument("--lambda_seg", type=float, default=1, help="weight of the segmentation loss")

    def __init__(self, opt: argparse.Namespace):
        super().__init__(opt)
        self.visual_names = (
            ("real_F", "fake_L", "rec_F", "real_L", "fake_F", "rec_L", "seg_F", "seg_rec_F")
            if self.isTrain
            else ("fake_F",)
        )
        if self.isTrain:
            self.segmenter = load_unet_dendrites(opt.unet_dendrites, self.device)
            self.set_requires_grad(self.segmenter, False)  # frozen; gradients still reach rec_F
            self.criterionSeg = nn.MSELoss()

    def set_input(self, data: dict) -> None:
        self.real["F"] = self.to_device(data["F"]).clone()
        self.real["L"] = self.to_device(data["L"])
        self.image_paths = list(data["F_paths"])

    def forward(self) -> None:
        self.translate()
        if not self.isTrain:
            self.visuals["fake_F"] = torch.clamp(self.fake["F"].float() - 1, -1, 1)
            return
        real_F = self.real["F"]
        real_F -= real_F.min()
        real_F /= 0.8 * (real_F.max() - real_F.min())
        self.seg_F = binarize_rings_and_fibers(
            self.segmenter(real_F).detach(), RING_THRESHOLD, FIBER_THRESHOLD
        )
        self.seg_rec_F = self.segmenter(self.rec["F"].float())
        self.visuals.update(self.cycle_visuals(), seg_F=self.seg_F, seg_rec_F=self.seg_rec_F)

    def generator_loss(self) -> torch.Tensor:
        """The adversarial and cycle terms plus ``seg = MSE(threshold(U(F)), U(rec_F)) * lambda_seg``."""
        total = self.adversarial_and_cycle_losses()
        self.losses["seg"] = self.criterionSeg(self.seg_F, self.seg_rec_F) * self.opt.lambda_seg
        return total + self.losses["seg"]
