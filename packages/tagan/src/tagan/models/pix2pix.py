"""pix2pix baseline (Isola et al. 2017) as TA-GAN compares against it: the same G and D, no task network,
``L_G = GAN(D(x, G(x)), real) + MSE(G(x), y) * lambda_MSE``. G always uses dropout, as the original.

Fixed: the original read keys A / B that no TA-GAN dataset provides; it now reads ``confocal`` / ``STED``
(swapped with ``--direction BtoA``)."""

from __future__ import annotations

import argparse

import torch
from torch import nn

from tagan.losses import GANLoss
from tagan.models.base import PIX2PIX_TRAINING_DEFAULTS, BaseModel


class Pix2PixModel(BaseModel):
    model_name = "pix2pix"
    loss_names = ("G_GAN", "G_GEN", "D_real", "D_fake")
    visual_names = ("real_A", "fake_B", "real_B")

    option_defaults = {"norm": "batch", "netG": "resnet_9blocks", "dataset_mode": "aligned"}
    train_option_defaults = PIX2PIX_TRAINING_DEFAULTS

    @classmethod
    def add_model_options(cls, parser: argparse.ArgumentParser, is_train: bool) -> None:
        if is_train:
            parser.add_argument("--lambda_MSE", type=float, default=100.0, help="weight of the MSE loss")

    @classmethod
    def network_names(cls, is_train: bool) -> list[str]:
        return ["G", "D"] if is_train else ["G"]

    @classmethod
    def define_network(cls, opt: argparse.Namespace, name: str) -> nn.Module:
        cls.check_network_name(name)
        if name == "G":
            return cls.generator(opt, opt.input_nc, opt.output_nc, True)
        return cls.discriminator(opt, opt.input_nc + opt.output_nc)

    def __init__(self, opt: argparse.Namespace):
        super().__init__(opt)
        if self.isTrain:
            self.criterionGAN = GANLoss(opt.gan_mode).to(self.device)
            self.criterionMSE = nn.MSELoss()
            self.optimizer_G = self.adam(self.nets["G"])
            self.optimizer_D = self.adam(self.nets["D"])

    def set_input(self, data: dict) -> None:
        a, b = self.oriented(data["confocal"], data["STED"])
        self.real_A, self.real_B = self.to_device(a), self.to_device(b)
        self.image_paths = list(data["image_paths"])

    def forward(self) -> None:
        with self.autocast():
            self.fake_B = self.nets["G"](self.real_A)
        self.visuals.update(real_A=self.real_A, fake_B=self.fake_B, real_B=self.real_B)

    def discriminator_loss(self) -> torch.Tensor:
        return self.conditional_discriminator_loss(self.real_A, self.real_B, self.fake_B)

    def generator_loss(self) -> torch.Tensor:
        self.losses["G_GAN"] = self.conditional_adversarial_loss(self.real_A, self.fake_B)
        self.losses["G_GEN"] = self.criterionMSE(self.fake_B.float(), self.real_B) * self.opt.lambda_MSE
        return self.losses["G_GAN"] + self.losses["G_GEN"]

    def compute_losses(self) -> None:
        self.discriminator_loss()
        self.generator_loss()

    def optimize_parameters(self) -> None:
        self.update_discriminator_then_generator()
