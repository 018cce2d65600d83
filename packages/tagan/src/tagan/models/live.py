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

from tagan.models.base import binarize_rings_and_fibers
from tagan.models.task_assisted import TaskAssistedGANModel

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


class LiveModel(TaskAssistedGANModel):
    """The task-assisted GAN with G's 3-channel input and a frozen 1 -> 2 channel S (trained with the
    ``segmentation`` model); the adversarial terms are conditioned on the confocal image alone, unweighted
    for D."""

    model_name = "TAGAN_live"
    loss_names = ("G_GAN", "D_real", "D_fake", "S_fake")
    visual_names = ("input", "STED", "fakeSTED", "seg_STED", "seg_fakeSTED0", "seg_fakeSTED1")
    generator_input_channels = 3  # confocal, selected STED, decision map
    segmenter_input_channels = 1
    segmentation_channels = 2  # rings, fibers

    option_defaults = {
        "norm": "batch",
        "netG": "resnet_9blocks",
        "netS": "unet_128",
        "dataset_mode": "aligned",
        "input_nc": 1,
        "output_nc": 1,
    }
    loss_weights = {"lambda_GAN": 1, "lambda_seg": 1}

    @classmethod
    def add_model_options(cls, parser: argparse.ArgumentParser, is_train: bool) -> None:
        super().add_model_options(parser, is_train)
        if is_train:
            parser.add_argument(
                "--legacy_live_adversarial",
                action="store_true",
                help="original bug: G's adversarial term judges the real STED (no gradient to G)",
            )

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
            self.seg_STED = binarize_rings_and_fibers(seg_STED, RING_THRESHOLD, FIBER_THRESHOLD)
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
        return self.task_assisted_generator_loss(self.confocal, judged, self.seg_fakeSTED, self.seg_STED)

    def compute_losses(self) -> None:
        self.discriminator_loss()
        self.generator_loss()

    def optimize_parameters(self) -> None:
        self.update_discriminator_then_generator()
