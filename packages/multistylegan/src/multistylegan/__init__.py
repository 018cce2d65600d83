"""Multi-StyleGAN (Reich, Prangemeier, Wildner, Koeppl; MICCAI 2021): time-lapse brightfield + GFP
sequences of trapped yeast cells from a dual-styled StyleGAN2 generator and a U-Net discriminator.

The original networks with their state-dict keys, checkpoint layout, data layout and command lines
(``multistylegan-train``, ``multistylegan-samples``, ``multistylegan-interpolate``), on current PyTorch,
on CPU and GPU.
"""

from . import data
from .checkpoints import load_checkpoint, load_discriminator, load_generator, save_checkpoint
from .config import (
    DISCRIMINATOR_CONFIG,
    GENERATOR_CONFIG,
    HYPERPARAMETERS,
    discriminator_config,
    generator_config,
)
from .models import Discriminator, Generator

__version__ = "0.1.0"

load_original_checkpoint = load_checkpoint


def build_model(
    generator_channels: int | None = None,
    resolution: int | None = None,
    discriminator_channels: int | None = None,
) -> tuple[Generator, Discriminator]:
    """A fresh (generator, discriminator) pair for BF + GFP training: the original sizes by default, or
    narrower / smaller ones (see :func:`generator_config` and :func:`discriminator_config`)."""
    generator = Generator(config=generator_config(channels=generator_channels, resolution=resolution))
    discriminator = Discriminator(config=discriminator_config(channels=discriminator_channels), no_rfp=True)
    return generator, discriminator


__all__ = [
    "DISCRIMINATOR_CONFIG",
    "Discriminator",
    "GENERATOR_CONFIG",
    "Generator",
    "HYPERPARAMETERS",
    "build_model",
    "data",
    "discriminator_config",
    "generator_config",
    "load_checkpoint",
    "load_discriminator",
    "load_generator",
    "load_original_checkpoint",
    "save_checkpoint",
]
