"""TAGAN_live: resolution enhancement of live-cell F-actin guided by a few real STED sub-regions.

G takes three channels: the confocal image, the real STED image where a decision map selects it (-1
elsewhere) and the decision map itself (1 selected, -1 not). S is a frozen U-Net segmenter (rings, fibers)
pre-trained on domain-adapted images (``--epoch pretrained`` loads only ``pretrained_net_S.pth``); its
thresholded output on the real STED is the target of S on the generated image. S is never stepped but stays
in train mode, as in the original.

Original bug fixed: the generator's adversarial term judged the *real* STED, so no adversarial gradient
reached G; it now judges the generated image (``--legacy_live_adversarial`` restores the original).
"""

from __future__ import annotations

import argparse

import torch
from torch import nn

from tagan.losses import GANLoss
from tagan.models.base import BaseModel, add_task_loss_weights
from tagan.networks import define_S

RING_THRESHOLD = 0.07 * 2 - 1  # S outputs are in [-1, 1]
FIBER_THRESHOLD = 0.04 * 2 - 1
SEGMENTATION_MARGIN = 58  # the original segments STED[58:442, 58:442] of 500x500 test images
UNET_128_MULTIPLE = 128


def segmentation_window(height: int, width: int) -> tuple[slice, slice]:
    """Region of a test image that S segments: ``[58:442, 58:442]`` as the original where the image is large
    enough, otherwise the centred largest multiple of 128 (unet_128 needs sizes divisible by 128)."""
    if height >= 442 and width >= 442:
        return slice(SEGMENTATION_MARGIN, 442), slice(SEGMENTATION_MARGIN, 442)
    size_h = max(
        UNET_128_MULTIPLE, (height - 2 * SEGMENTATION_MARGIN) // UNET_128_MULTIPLE * UNET_128_MULTIPLE
    )
    size_w = max(
        UNET_128_MULTIPLE, (width - 2 * SEGMENTATION_MARGIN) // UNET_128_MULTIPLE * UNET_128_MULTIPLE
    )
    if size_h > height or size_w > width:
        raise ValueError(
            f"TAGAN_live test images must be at least 128x128 for S (unet_128), got {height}x{width}"
        )
    top, left = (height - size_h) // 2, (width - size_w) // 2
    return slice(top, top + size_h), slice(left, left + size_w)


class LiveModel(BaseModel):
    model_name = "TAGAN_live"
    loss_names = ("G_GAN", "D_real", "D_fake", "S_fake")
    visual_names = ("input", "STED", "fakeSTED", "seg_STED", "seg_fakeSTED0", "seg_fakeSTED1")

    @staticmethod
    def modify_commandline_options(
        parser: argparse.ArgumentParser, is_train: bool
    ) -> argparse.ArgumentParser:
        parser.set_defaults(
            norm="batch",
            netG="resnet_9blocks",
            netS="unet_128",
            dataset_mode="aligned",
            input_nc=1,
            output_nc=1,
        )
        if is_train:
            parser.set_defaults(pool_size=0, gan_mode="vanilla")
            add_task_loss_weights(parser, lambda_GAN=1, lambda_seg=1)
            parser.add_argument(
                "--legacy_live_adversarial",
                action="store_true",
                help="original bug: G's adversarial term judges the real STED (no gradient to G)",
            )
        return parser

    @classmethod
    def network_names(cls, is_train: bool) -> list[str]:
        return ["G", "S", "D"] if is_train else ["G", "S"]

    @classmethod
    def define_network(cls, opt: argparse.Namespace, name: str) -> nn.Module:
        cls.check_network_name(name)
        if name == "G":
            return cls.generator(opt, 3, opt.output_nc, not opt.no_dropout)
        if name == "S":
            return define_S(1, 2, opt.ngf, opt.netS, opt.norm, opt.init_type, opt.init_gain)
        return cls.discriminator(opt, opt.input_nc + opt.output_nc)

    def __init__(self, opt: argparse.Namespace):
        super().__init__(opt)
        if self.isTrain:
            self.criterionGAN = GANLoss(opt.gan_mode).to(self.device)
            self.criterionSEG = nn.MSELoss()
            self.optimizer_G = self.adam(self.nets["G"])
            self.optimizer_D = self.adam(self.nets["D"])
            self.optimizer_S = self.adam(self.nets["S"])

    def set_input(self, data: dict) -> None:
        """Build G's 3-channel input ``cat(confocal, STED where selected else -1, map as +1/-1)``."""
        self.confocal = self.to_device(data["confocal"])
        self.STED = self.to_device(data["STED"])
        decision_map = self.to_device(data["decision_map"]).clone()
        selected = self.STED * decision_map
        selected[decision_map == 0] = -1
        decision_map[decision_map == 0] = -1
        self.input = torch.cat((self.confocal, selected, decision_map), 1)
        self.image_paths = list(data["image_paths"])
        self.visuals["input"] = self.input
        self.visuals["STED"] = self.STED

    def forward(self) -> None:
        G, S = self.nets["G"], self.nets["S"]
        if self.isTrain:
            with self.autocast():
                self.fakeSTED = G(self.input)
                self.seg_fakeSTED = S(self.fakeSTED)
                seg_STED = S(self.STED).detach().float()
            seg_STED[:, 0] = (seg_STED[:, 0] > RING_THRESHOLD).float()
            seg_STED[:, 1] = (seg_STED[:, 1] > FIBER_THRESHOLD).float()
            self.seg_STED = seg_STED
            self.visuals.update(fakeSTED=self.fakeSTED, seg_STED=self.seg_STED)
            return
        rows, cols = segmentation_window(*self.STED.shape[2:])
        with self.autocast():
            self.seg_STED = S(self.STED[:, :, rows, cols])
            self.fakeSTED = G(self.input)
            seg_fake = S(self.fakeSTED[:, :, rows, cols])
        self.visuals.update(
            fakeSTED=self.fakeSTED,
            seg_STED=self.seg_STED,
            seg_fakeSTED0=seg_fake[:, 0:1],
            seg_fakeSTED1=seg_fake[:, 1:2],
        )

    def discriminator_loss(self) -> torch.Tensor:
        return self.conditional_discriminator_loss(self.confocal, self.STED, self.fakeSTED)

    def generator_loss(self) -> torch.Tensor:
        judged = self.STED if self.opt.legacy_live_adversarial else self.fakeSTED
        self.losses["G_GAN"] = self.conditional_adversarial_loss(self.confocal, judged) * self.opt.lambda_GAN
        self.losses["S_fake"] = (
            self.criterionSEG(self.seg_fakeSTED.float(), self.seg_STED) * self.opt.lambda_seg
        )
        return self.losses["G_GAN"] + self.losses["S_fake"]

    def compute_losses(self) -> None:
        self.discriminator_loss()
        self.generator_loss()

    def optimize_parameters(self) -> None:
        self.update_discriminator_then_generator()
