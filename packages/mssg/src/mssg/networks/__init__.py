"""MSSG networks: StyleGAN2 / StyleGAN3 conditional generators and the MSSG discriminator (stock keys)."""

from mssg.networks import stylegan2, stylegan3
from mssg.networks.discriminator import Discriminator

__all__ = ["Discriminator", "stylegan2", "stylegan3"]
