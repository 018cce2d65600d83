"""The task-assisted GAN (Bouchard et al. 2023) for paired resolution enhancement.

Generator G maps the low-resolution input (confocal, bright-field) to the high-resolution image (STED, SIM);
a PatchGAN D judges ``cat(input, image)``; the task network S segments high-resolution images. Per batch:

1. D step: ``L_D = 0.5 * (GAN(D(x, G(x).detach()), fake) + GAN(D(x, y), real)) * lambda_GAN``;
2. G step (D frozen): ``L_G = GAN(D(x, G(x)), real) * lambda_GAN + MSE(S(G(x)), seg_GT) * lambda_seg``;
3. S step: ``L_S = MSE(S(y), seg_GT) * lambda_seg``, trained on real images only.

There is no pixel loss on the image: the task loss of S on the generated image is what forces G to produce
the structures the analysis needs. The variants (axonal rings, dendritic rings + fibers, synaptic proteins,
S. aureus, simulated nanodomains, the generic template) differ in channel counts, data keys, visual labels
and defaults only.
"""

from __future__ import annotations

import argparse

import torch
from torch import nn

from tagan.losses import GANLoss
from tagan.models.base import PIX2PIX_TRAINING_DEFAULTS, BaseModel, add_task_loss_weights
from tagan.networks import define_S

# the networks of every task-assisted variant: BatchNorm, 9-block ResNet G, 6-block ResNet S
TASK_ASSISTED_NETWORKS = {"norm": "batch", "netG": "resnet_9blocks", "netS": "resnet_6blocks"}


class TaskAssistedGANModel(BaseModel):
    """Generic template (``--model TAGAN``): inputs A/B from ``confocal``/``STED`` (swapped by
    ``--direction BtoA``) and the ``seg_GT`` mask, as the ``axons`` dataset provides them."""

    model_name = "TAGAN"
    loss_names = ("G_GAN", "D_real", "D_fake", "S_real", "S_fake")
    # labels of the input, target, generated image, S(target), S(generated), ground-truth segmentation
    labels = ("real_A", "real_B", "fake_B", "seg_rB", "seg_fB", "seg_GT")
    visual_names = labels
    # channels of G's input, S's input and S's output; None: --input_nc, --input_nc, --output_nc
    generator_input_channels: int | None = None
    segmenter_input_channels: int | None = None
    segmentation_channels: int | None = None

    option_defaults = {**TASK_ASSISTED_NETWORKS, "dataset_mode": "axons"}
    train_option_defaults = PIX2PIX_TRAINING_DEFAULTS
    loss_weights = {"lambda_GAN": 1.0, "lambda_seg": 1.0}  # defaults of --lambda_GAN, --lambda_seg

    @classmethod
    def add_model_options(cls, parser: argparse.ArgumentParser, is_train: bool) -> None:
        if is_train:
            add_task_loss_weights(parser, **cls.loss_weights)

    @classmethod
    def network_names(cls, is_train: bool) -> list[str]:
        return ["G", "S", "D"] if is_train else ["G", "S"]

    @classmethod
    def define_network(cls, opt: argparse.Namespace, name: str) -> nn.Module:
        cls.check_network_name(name)
        if name == "G":
            source = cls.generator_input_channels or opt.input_nc
            return cls.generator(opt, source, opt.output_nc, not opt.no_dropout)
        if name == "S":
            source = cls.segmenter_input_channels or opt.input_nc
            channels = cls.segmentation_channels or opt.output_nc
            return define_S(source, channels, opt.ngf, opt.netS, opt.norm, opt.init_type, opt.init_gain)
        return cls.discriminator(opt, opt.input_nc + opt.output_nc)

    def __init__(self, opt: argparse.Namespace):
        super().__init__(opt)
        if self.isTrain:
            self.criterionGAN = GANLoss(opt.gan_mode).to(self.device)
            self.criterionSEG = nn.MSELoss()
            self.optimizer_G = self.adam(self.nets["G"])
            self.optimizer_D = self.adam(self.nets["D"])
            self.optimizer_S = self.adam(self.nets["S"])

    # --- data -------------------------------------------------------------------------------------------
    def read_pair(self, data: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """(input, target) tensors of a batch."""
        return self.oriented(data["confocal"], data["STED"])

    def read_segmentation(self, data: dict) -> torch.Tensor:
        return data["seg_GT"]

    def set_input(self, data: dict) -> None:
        source, target = self.read_pair(data)
        self.source = self.to_device(source)
        self.target = self.to_device(target)
        self.seg_GT = self.to_device(self.read_segmentation(data))
        self.image_paths = list(data["image_paths"])

    # --- forward and losses -------------------------------------------------------------------------------
    def forward(self) -> None:
        G, S = self.nets["G"], self.nets["S"]
        with self.autocast():
            self.fake = G(self.source)
            self.seg_target = S(self.target)
            self.seg_fake = S(self.fake)
        tensors = (self.source, self.target, self.fake, self.seg_target, self.seg_fake, self.seg_GT)
        self.visuals.update(zip(self.labels, tensors, strict=True))

    def discriminator_loss(self) -> torch.Tensor:
        return self.conditional_discriminator_loss(self.source, self.target, self.fake, self.opt.lambda_GAN)

    def generator_loss(self) -> torch.Tensor:
        return self.task_assisted_generator_loss(self.source, self.fake, self.seg_fake, self.seg_GT)

    def task_assisted_generator_loss(
        self, condition: torch.Tensor, image: torch.Tensor, seg_image: torch.Tensor, seg_target: torch.Tensor
    ) -> torch.Tensor:
        """G's objective ``GAN(D(condition, image), real) * lambda_GAN + MSE(seg_image, seg_target) *
        lambda_seg``, ``seg_image`` being S of the generated image; logs ``G_GAN`` and ``S_fake``."""
        self.losses["G_GAN"] = self.conditional_adversarial_loss(condition, image) * self.opt.lambda_GAN
        self.losses["S_fake"] = self.criterionSEG(seg_image.float(), seg_target) * self.opt.lambda_seg
        return self.losses["G_GAN"] + self.losses["S_fake"]

    def segmenter_loss(self) -> torch.Tensor:
        self.losses["S_real"] = self.criterionSEG(self.seg_target.float(), self.seg_GT) * self.opt.lambda_seg
        return self.losses["S_real"]

    def compute_losses(self) -> None:
        """All losses of the current batch without any update (validation)."""
        self.discriminator_loss()
        self.generator_loss()
        self.segmenter_loss()

    def optimize_parameters(self) -> None:
        self.update_discriminator_then_generator()
        self.descend(self.optimizer_S, self.segmenter_loss)


class AxonalRingsModel(TaskAssistedGANModel):
    """Confocal -> STED of axonal F-actin rings; S segments the rings (1 mask)."""

    model_name = "TAGAN_AxonalRings"
    labels = ("confocal", "STED", "fakeSTED", "seg_STED", "seg_fakeSTED", "seg_GT")
    visual_names = labels

    option_defaults = {
        **TASK_ASSISTED_NETWORKS,
        "dataset_mode": "axons",
        "batch_size": 8,
        "crop_size": 128,
        "preprocess": "crop_rotation",
        "name": "TAGANAxonalFactin",
    }
    train_option_defaults = {**PIX2PIX_TRAINING_DEFAULTS, "niter": 900, "niter_decay": 100}
    loss_weights = {"lambda_GAN": 1, "lambda_seg": 10}

    def read_pair(self, data: dict) -> tuple[torch.Tensor, torch.Tensor]:
        return data["confocal"], data["STED"]


class SimulatedNanodomainsModel(AxonalRingsModel):
    """pySTED-simulated confocal -> STED of nanodomains; S localises them (graded position map)."""

    model_name = "TAGAN_SimulatedNanodomains"

    option_defaults = {**TASK_ASSISTED_NETWORKS, "dataset_mode": "axons", "name": "TAGANSimulatedNanodomains"}
    train_option_defaults = {
        **AxonalRingsModel.train_option_defaults,
        "batch_size": 64,
        "preprocess": "rotation",
    }
    loss_weights = {"lambda_GAN": 1, "lambda_seg": 100}


class DendritesModel(AxonalRingsModel):
    """Confocal -> STED of dendritic F-actin; S segments rings and fibers (2 masks)."""

    model_name = "TAGAN_Dendrites"
    segmentation_channels = 2

    option_defaults = {
        **TASK_ASSISTED_NETWORKS,
        "dataset_mode": "dendrites",
        "preprocess": "flip_rotation",
        "crop_size": 128,
        "name": "TAGANDendriticFactin",
    }
    train_option_defaults = {
        **PIX2PIX_TRAINING_DEFAULTS,
        "niter": 500,
        "niter_decay": 0,
        "batch_size": 32,
        "preprocess": "crop_rotation",
        "crop_size": 128,
    }
    loss_weights = {"lambda_GAN": 1.0, "lambda_seg": 1.0}

    def read_segmentation(self, data: dict) -> torch.Tensor:
        return torch.cat([data["seg_GTrings"], data["seg_GTfibers"]], dim=1)


class SynprotModel(AxonalRingsModel):
    """Two-colour confocal -> STED of synaptic proteins (2 -> 2 channels); S finds the protein spots."""

    model_name = "TAGAN_Synprot"
    visual_names = ("confocal", "STED", "fakeSTED", "seg_GT", "seg_STED", "seg_fakeSTED")

    option_defaults = {**TASK_ASSISTED_NETWORKS, "dataset_mode": "synprot", "input_nc": 2, "output_nc": 2}
    train_option_defaults = {
        **PIX2PIX_TRAINING_DEFAULTS,
        "batch_size": 32,
        "niter": 1000,
        "niter_decay": 0,
        "preprocess": "crop_rotation",
        "crop_size": 128,
        "save_epoch_freq": 100,
    }
    loss_weights = {"lambda_GAN": 1.0, "lambda_seg": 1.0}

    def read_segmentation(self, data: dict) -> torch.Tensor:
        return data["spots"]


class SAureusModel(AxonalRingsModel):
    """Bright-field -> SIM of S. aureus; S segments the cell boundaries. Data stay in [0, 1] (no 8-bit
    conversion, no normalisation), as the original saureus loader returns them."""

    model_name = "TAGAN_SAureus"
    labels = ("BF", "SIM", "fake_SIM", "seg_SIM", "seg_fakeSIM", "seg_GT")
    visual_names = labels

    option_defaults = {**AxonalRingsModel.option_defaults, "dataset_mode": "saureus", "name": "TAGANSAureus"}
