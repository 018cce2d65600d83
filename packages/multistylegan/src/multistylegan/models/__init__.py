"""Multi-StyleGAN networks with the original state-dict keys."""

from .discriminator import Discriminator
from .generator import Generator

__all__ = ["Discriminator", "Generator"]
