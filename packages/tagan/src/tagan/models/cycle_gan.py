"""CycleGAN baseline (Zhu et al. 2017): G_A: A -> B, G_B: B -> A, discriminators D_A (judges B images) and
D_B (judges A images), cycle losses ``L1(G_B(G_A(a)), a) * lambda_A`` and ``L1(G_A(G_B(b)), b) * lambda_B``,
optional identity loss. Instance norm, no dropout by default.

Fixed: the original read keys A / B that no TA-GAN dataset provides and tiled two channels side by side at
test time; it now reads ``F`` / ``L`` (fixed_live) or ``confocal`` / ``STED`` (paired modes), and saves the
images as they are."""

from __future__ import annotations

import argparse

import torch
from torch import nn

from tagan.image_pool import ImagePool
from tagan.losses import GANLoss
from tagan.models.base import BaseModel


class CycleGANModel(BaseModel):
    model_name = "cycle_gan"
    loss_names = ("D_A", "G_A", "cycle_A", "idt_A", "D_B", "G_B", "cycle_B", "idt_B")

    option_defaults = {"no_dropout": True}

    @classmethod
    def add_model_options(cls, parser: argparse.ArgumentParser, is_train: bool) -> None:
        if is_train:
            parser.add_argument(
                "--lambda_A", type=float, default=10.0, help="weight of the A -> B -> A cycle loss"
            )
            parser.add_argument(
                "--lambda_B", type=float, default=10.0, help="weight of the B -> A -> B cycle loss"
            )
            parser.add_argument(
                "--lambda_identity",
                type=float,
                default=0,
                help="weight of the identity loss, relative to the cycle losses",
            )

    @classmethod
    def network_names(cls, is_train: bool) -> list[str]:
        return ["G_A", "G_B", "D_A", "D_B"] if is_train else ["G_A", "G_B"]

    @classmethod
    def define_network(cls, opt: argparse.Namespace, name: str) -> nn.Module:
        cls.check_network_name(name)
        if name in ("G_A", "G_B"):
            source, target = (opt.input_nc, opt.output_nc) if name == "G_A" else (opt.output_nc, opt.input_nc)
            return cls.generator(opt, source, target, not opt.no_dropout)
        return cls.discriminator(opt, opt.output_nc if name == "D_A" else opt.input_nc)

    def __init__(self, opt: argparse.Namespace):
        super().__init__(opt)
        identity = self.isTrain and opt.lambda_identity > 0
        self.visual_names = (
            ("real_A", "fake_B", "rec_A")
            + (("idt_B",) if identity else ())
            + ("real_B", "fake_A", "rec_B")
            + (("idt_A",) if identity else ())
        )
        if self.isTrain:
            if identity and opt.input_nc != opt.output_nc:
                raise ValueError("--lambda_identity > 0 needs --input_nc equal to --output_nc")
            self.fake_A_pool = ImagePool(opt.pool_size)
            self.fake_B_pool = ImagePool(opt.pool_size)
            self.criterionGAN = GANLoss(opt.gan_mode).to(self.device)
            self.criterionCycle = nn.L1Loss()
            self.criterionIdt = nn.L1Loss()
            self.optimizer_G = self.adam(self.nets["G_A"], self.nets["G_B"])
            self.optimizer_D = self.adam(self.nets["D_A"], self.nets["D_B"])

    def set_input(self, data: dict) -> None:
        if "F" in data:
            a, b, paths = data["F"], data["L"], data["F_paths"]
        else:
            a, b, paths = data["confocal"], data["STED"], data["image_paths"]
        if self.opt.direction == "BtoA":
            a, b = b, a
        self.real_A, self.real_B = self.to_device(a), self.to_device(b)
        self.image_paths = list(paths)

    def forward(self) -> None:
        G_A, G_B = self.nets["G_A"], self.nets["G_B"]
        with self.autocast():
            self.fake_B = G_A(self.real_A)
            self.rec_A = G_B(self.fake_B)
            self.fake_A = G_B(self.real_B)
            self.rec_B = G_A(self.fake_A)
        self.visuals.update(
            real_A=self.real_A,
            fake_B=self.fake_B,
            rec_A=self.rec_A,
            real_B=self.real_B,
            fake_A=self.fake_A,
            rec_B=self.rec_B,
        )

    def generator_loss(self) -> torch.Tensor:
        opt = self.opt
        if opt.lambda_identity > 0:
            with self.autocast():
                self.idt_A = self.nets["G_A"](self.real_B)
                self.idt_B = self.nets["G_B"](self.real_A)
            self.visuals.update(idt_A=self.idt_A, idt_B=self.idt_B)
            self.losses["idt_A"] = (
                self.criterionIdt(self.idt_A.float(), self.real_B) * opt.lambda_B * opt.lambda_identity
            )
            self.losses["idt_B"] = (
                self.criterionIdt(self.idt_B.float(), self.real_A) * opt.lambda_A * opt.lambda_identity
            )
        else:
            self.losses["idt_A"] = self.losses["idt_B"] = torch.zeros((), device=self.device)
        with self.autocast():
            logits_A = self.nets["D_A"](self.fake_B)
            logits_B = self.nets["D_B"](self.fake_A)
        self.losses["G_A"] = self.criterionGAN(logits_A.float(), True)
        self.losses["G_B"] = self.criterionGAN(logits_B.float(), True)
        self.losses["cycle_A"] = self.criterionCycle(self.rec_A.float(), self.real_A) * opt.lambda_A
        self.losses["cycle_B"] = self.criterionCycle(self.rec_B.float(), self.real_B) * opt.lambda_B
        return sum(self.losses[name] for name in ("G_A", "G_B", "cycle_A", "cycle_B", "idt_A", "idt_B"))

    def discriminator_loss(self, use_pools: bool = True) -> torch.Tensor:
        fake_B = self.fake_B_pool.query(self.fake_B) if use_pools else self.fake_B
        fake_A = self.fake_A_pool.query(self.fake_A) if use_pools else self.fake_A
        self.losses["D_A"] = self.discriminator_pair_loss(self.nets["D_A"], self.real_B, fake_B)
        self.losses["D_B"] = self.discriminator_pair_loss(self.nets["D_B"], self.real_A, fake_A)
        return self.losses["D_A"] + self.losses["D_B"]

    def compute_losses(self) -> None:
        self.generator_loss()
        self.discriminator_loss(use_pools=False)

    def optimize_parameters(self) -> None:
        self.update_generators_then_discriminators([self.nets["D_A"], self.nets["D_B"]])
