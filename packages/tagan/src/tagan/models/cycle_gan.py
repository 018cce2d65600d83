"""CycleGAN baseline (Zhu et al. 2017): G_A: A -> B, G_B: B -> A, discriminators D_A (judges B images) and
D_B (judges A images), cycle losses ``L1(G_B(G_A(a)), a) * lambda_A`` and ``L1(G_A(G_B(b)), b) * lambda_B``,
optional identity loss. Instance norm, no dropout by default. ``CycleConsistentModel`` is what it shares with
TAGAN_cycle: the four networks, both cycles, the adversarial, cycle and discriminator losses, the updates.

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


class CycleConsistentModel(BaseModel):
    """Two generators and two discriminators trained with adversarial and cycle-consistency losses.

    Networks, losses and visuals are named after the two image domains ``domains = (X, Y)``: G_X maps X to
    Y and D_X judges Y images (real Y against G_X's); G_Y and D_Y the reverse. Images are held by domain in
    ``real``, ``fake`` (generated) and ``rec`` (reconstructed): ``fake[Y] = G_X(real[X])``,
    ``rec[X] = G_Y(fake[Y])``. Subclasses read ``real`` in ``set_input`` and add terms to the generator loss.
    """

    domains: tuple[str, str] = ("A", "B")

    @classmethod
    def add_cycle_loss_weights(cls, parser: argparse.ArgumentParser) -> None:
        """``--lambda_A`` / ``--lambda_B``: weights of the X -> Y -> X and Y -> X -> Y cycle losses."""
        x, y = cls.domains
        parser.add_argument(
            "--lambda_A", type=float, default=10.0, help=f"weight of the {x} -> {y} -> {x} cycle loss"
        )
        parser.add_argument(
            "--lambda_B", type=float, default=10.0, help=f"weight of the {y} -> {x} -> {y} cycle loss"
        )

    @classmethod
    def network_names(cls, is_train: bool) -> list[str]:
        generators = [f"G_{domain}" for domain in cls.domains]
        return generators + [f"D_{domain}" for domain in cls.domains] if is_train else generators

    @classmethod
    def define_network(cls, opt: argparse.Namespace, name: str) -> nn.Module:
        cls.check_network_name(name)
        kind, domain = name.split("_")
        source, target = (
            (opt.input_nc, opt.output_nc) if domain == cls.domains[0] else (opt.output_nc, opt.input_nc)
        )
        if kind == "G":
            return cls.generator(opt, source, target, not opt.no_dropout)
        return cls.discriminator(opt, target)

    def __init__(self, opt: argparse.Namespace):
        super().__init__(opt)
        self.real: dict[str, torch.Tensor] = {}
        self.fake: dict[str, torch.Tensor] = {}
        self.rec: dict[str, torch.Tensor] = {}
        if self.isTrain:
            self.fake_pools = {domain: ImagePool(opt.pool_size) for domain in self.domains}
            self.criterionGAN = GANLoss(opt.gan_mode).to(self.device)
            self.criterionCycle = nn.L1Loss()
            self.optimizer_G = self.adam(*(self.nets[f"G_{domain}"] for domain in self.domains))
            self.optimizer_D = self.adam(*(self.nets[f"D_{domain}"] for domain in self.domains))

    def translate(self) -> None:
        """Both cycles: ``fake[Y] = G_X(real[X])``, ``rec[X] = G_Y(fake[Y])``, then from Y."""
        x, y = self.domains
        G_x, G_y = self.nets[f"G_{x}"], self.nets[f"G_{y}"]
        with self.autocast():
            self.fake[y] = G_x(self.real[x])
            self.rec[x] = G_y(self.fake[y])
            self.fake[x] = G_y(self.real[y])
            self.rec[y] = G_x(self.fake[x])

    def cycle_visuals(self) -> dict[str, torch.Tensor]:
        """``real_X, fake_Y, rec_X, real_Y, fake_X, rec_Y`` by their visual labels."""
        x, y = self.domains
        return {
            f"real_{x}": self.real[x],
            f"fake_{y}": self.fake[y],
            f"rec_{x}": self.rec[x],
            f"real_{y}": self.real[y],
            f"fake_{x}": self.fake[x],
            f"rec_{y}": self.rec[y],
        }

    def adversarial_and_cycle_losses(self) -> torch.Tensor:
        """G_X's adversarial term ``GAN(D_X(fake[Y]), real)`` and ``cycle_X = L1(rec[X], real[X])``
        times ``lambda_A``, the same for Y with ``lambda_B``; logs the four and returns their sum."""
        x, y = self.domains
        with self.autocast():
            logits_x = self.nets[f"D_{x}"](self.fake[y])
            logits_y = self.nets[f"D_{y}"](self.fake[x])
        self.losses[f"G_{x}"] = self.criterionGAN(logits_x.float(), True)
        self.losses[f"G_{y}"] = self.criterionGAN(logits_y.float(), True)
        self.losses[f"cycle_{x}"] = self.criterionCycle(self.rec[x].float(), self.real[x]) * self.opt.lambda_A
        self.losses[f"cycle_{y}"] = self.criterionCycle(self.rec[y].float(), self.real[y]) * self.opt.lambda_B
        return sum(self.losses[f"{term}_{domain}"] for term in ("G", "cycle") for domain in (x, y))

    def discriminator_loss(self, use_pools: bool = True) -> torch.Tensor:
        """D_X judges Y images (real against generated, drawn through the pool when ``use_pools``), D_Y X
        images; logs both and returns their sum."""
        x, y = self.domains
        fake_y = self.fake_pools[y].query(self.fake[y]) if use_pools else self.fake[y]
        fake_x = self.fake_pools[x].query(self.fake[x]) if use_pools else self.fake[x]
        self.losses[f"D_{x}"] = self.discriminator_pair_loss(self.nets[f"D_{x}"], self.real[y], fake_y)
        self.losses[f"D_{y}"] = self.discriminator_pair_loss(self.nets[f"D_{y}"], self.real[x], fake_x)
        return self.losses[f"D_{x}"] + self.losses[f"D_{y}"]

    def compute_losses(self) -> None:
        """Losses of the current batch without updates or pool changes (validation)."""
        self.generator_loss()
        self.discriminator_loss(use_pools=False)

    def optimize_parameters(self) -> None:
        self.update_generators_then_discriminators([self.nets[f"D_{domain}"] for domain in self.domains])


class CycleGANModel(CycleConsistentModel):
    model_name = "cycle_gan"
    loss_names = ("D_A", "G_A", "cycle_A", "idt_A", "D_B", "G_B", "cycle_B", "idt_B")

    option_defaults = {"no_dropout": True}

    @classmethod
    def add_model_options(cls, parser: argparse.ArgumentParser, is_train: bool) -> None:
        if is_train:
            cls.add_cycle_loss_weights(parser)
            parser.add_argument(
                "--lambda_identity",
                type=float,
                default=0,
                help="weight of the identity loss, relative to the cycle losses",
            )

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
            self.criterionIdt = nn.L1Loss()

    def set_input(self, data: dict) -> None:
        if "F" in data:
            a, b, paths = data["F"], data["L"], data["F_paths"]
        else:
            a, b, paths = data["confocal"], data["STED"], data["image_paths"]
        a, b = self.oriented(a, b)
        self.real["A"], self.real["B"] = self.to_device(a), self.to_device(b)
        self.image_paths = list(paths)

    def forward(self) -> None:
        self.translate()
        self.visuals.update(self.cycle_visuals())

    def generator_loss(self) -> torch.Tensor:
        """Identity terms ``L1(G_A(b), b) * lambda_B * lambda_identity`` (and for G_B with lambda_A) when
        ``--lambda_identity`` > 0, then the adversarial and cycle terms."""
        opt = self.opt
        real_A, real_B = self.real["A"], self.real["B"]
        if opt.lambda_identity > 0:
            with self.autocast():
                idt_A = self.nets["G_A"](real_B)
                idt_B = self.nets["G_B"](real_A)
            self.visuals.update(idt_A=idt_A, idt_B=idt_B)
            self.losses["idt_A"] = (
                self.criterionIdt(idt_A.float(), real_B) * opt.lambda_B * opt.lambda_identity
            )
            self.losses["idt_B"] = (
                self.criterionIdt(idt_B.float(), real_A) * opt.lambda_A * opt.lambda_identity
            )
        else:
            self.losses["idt_A"] = self.losses["idt_B"] = torch.zeros((), device=self.device)
        total = self.adversarial_and_cycle_losses()
        return total + self.losses["idt_A"] + self.losses["idt_B"]
