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

from tagan.image_pool import ImagePool
from tagan.losses import GANLoss
from tagan.models.base import BaseModel
from tagan.unet_dendrites import load_unet_dendrites

RING_THRESHOLD = 0.25  # U outputs are sigmoid probabilities
FIBER_THRESHOLD = 0.40


class CycleModel(BaseModel):
    model_name = "TAGAN_cycle"
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
            parser.add_argument(
                "--lambda_A", type=float, default=10.0, help="weight of the F -> L -> F cycle loss"
            )
            parser.add_argument(
                "--lambda_B", type=float, default=10.0, help="weight of the L -> F -> L cycle loss"
            )
            parser.add_argument("--lambda_seg", type=float, default=1, help="weight of the segmentation loss")

    @classmethod
    def network_names(cls, is_train: bool) -> list[str]:
        return ["G_F", "G_L", "D_F", "D_L"] if is_train else ["G_F", "G_L"]

    @classmethod
    def define_network(cls, opt: argparse.Namespace, name: str) -> nn.Module:
        cls.check_network_name(name)
        if name in ("G_F", "G_L"):
            source, target = (opt.input_nc, opt.output_nc) if name == "G_F" else (opt.output_nc, opt.input_nc)
            return cls.generator(opt, source, target, not opt.no_dropout)
        return cls.discriminator(opt, opt.output_nc if name == "D_F" else opt.input_nc)

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
            self.fake_F_pool = ImagePool(opt.pool_size)
            self.fake_L_pool = ImagePool(opt.pool_size)
            self.criterionGAN = GANLoss(opt.gan_mode).to(self.device)
            self.criterionCycle = nn.L1Loss()
            self.criterionSeg = nn.MSELoss()
            self.optimizer_G = self.adam(self.nets["G_F"], self.nets["G_L"])
            self.optimizer_D = self.adam(self.nets["D_F"], self.nets["D_L"])

    def set_input(self, data: dict) -> None:
        self.real_F = self.to_device(data["F"]).clone()
        self.real_L = self.to_device(data["L"])
        self.image_paths = list(data["F_paths"])

    def forward(self) -> None:
        G_F, G_L = self.nets["G_F"], self.nets["G_L"]
        with self.autocast():
            self.fake_L = G_F(self.real_F)
            self.rec_F = G_L(self.fake_L)
            self.fake_F = G_L(self.real_L)
            self.rec_L = G_F(self.fake_F)
        if not self.isTrain:
            self.visuals["fake_F"] = torch.clamp(self.fake_F.float() - 1, -1, 1)
            return
        self.real_F -= self.real_F.min()
        self.real_F /= 0.8 * (self.real_F.max() - self.real_F.min())
        seg_F = self.segmenter(self.real_F).detach()
        seg_F[:, 0] = (seg_F[:, 0] > RING_THRESHOLD).float()
        seg_F[:, 1] = (seg_F[:, 1] > FIBER_THRESHOLD).float()
        self.seg_F = seg_F
        self.seg_rec_F = self.segmenter(self.rec_F.float())
        self.visuals.update(
            real_F=self.real_F,
            fake_L=self.fake_L,
            rec_F=self.rec_F,
            real_L=self.real_L,
            fake_F=self.fake_F,
            rec_L=self.rec_L,
            seg_F=self.seg_F,
            seg_rec_F=self.seg_rec_F,
        )

    def generator_loss(self) -> torch.Tensor:
        with self.autocast():
            logits_F = self.nets["D_F"](self.fake_L)
            logits_L = self.nets["D_L"](self.fake_F)
        self.losses["G_F"] = self.criterionGAN(logits_F.float(), True)
        self.losses["G_L"] = self.criterionGAN(logits_L.float(), True)
        self.losses["cycle_F"] = self.criterionCycle(self.rec_F.float(), self.real_F) * self.opt.lambda_A
        self.losses["cycle_L"] = self.criterionCycle(self.rec_L.float(), self.real_L) * self.opt.lambda_B
        self.losses["seg"] = self.criterionSeg(self.seg_F, self.seg_rec_F) * self.opt.lambda_seg
        return sum(self.losses[name] for name in ("G_F", "G_L", "cycle_F", "cycle_L", "seg"))

    def discriminator_loss(self, use_pools: bool = True) -> torch.Tensor:
        """D_F judges live images (real L vs generated L), D_L fixed ones (rescaled real F vs generated F)."""
        fake_L = self.fake_L_pool.query(self.fake_L) if use_pools else self.fake_L
        fake_F = self.fake_F_pool.query(self.fake_F) if use_pools else self.fake_F
        self.losses["D_F"] = self.discriminator_pair_loss(self.nets["D_F"], self.real_L, fake_L)
        self.losses["D_L"] = self.discriminator_pair_loss(self.nets["D_L"], self.real_F, fake_F)
        return self.losses["D_F"] + self.losses["D_L"]

    def compute_losses(self) -> None:
        """Losses of the current batch without updates or pool changes (validation)."""
        self.generator_loss()
        self.discriminator_loss(use_pools=False)

    def optimize_parameters(self) -> None:
        self.update_generators_then_discriminators([self.nets["D_F"], self.nets["D_L"]])
