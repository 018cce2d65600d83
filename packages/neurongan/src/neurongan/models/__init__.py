"""neuron-gan's progressive GAN networks (PGGAN-style, 16 -> 512 px, fade-in blending)."""

from .discriminator import DiscriminatorPG
from .generator import GeneratorPG
from .layers import FromImage, ScaleBlock, ToImage, leaky_relu_gain

__all__ = ["DiscriminatorPG", "FromImage", "GeneratorPG", "ScaleBlock", "ToImage", "leaky_relu_gain"]
