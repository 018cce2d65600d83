"""BioGANs networks: DCGAN (plain and separable), star-shaped, independent and multi-channel models."""

from .conditional import (
    IndependentGenerators,
    MultiChannelAsConditional,
    StarShapedBlock,
    StarShapedDiscriminator,
    StarShapedGenerator,
)
from .dcgan import DCGANDiscriminator, DCGANGenerator
from .factory import (
    CONDITIONAL_TYPES,
    MODEL_TYPES,
    MULTICHANNEL_TYPES,
    SEPARABLE_TYPES,
    build_discriminator,
    build_generator,
    build_model,
    canonical_model_type,
    image_channels,
    weights_init,
)
from .layers import OriginallyNamedSequential, RedFirstSeparableConv

__all__ = [
    "CONDITIONAL_TYPES",
    "MODEL_TYPES",
    "MULTICHANNEL_TYPES",
    "SEPARABLE_TYPES",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "IndependentGenerators",
    "MultiChannelAsConditional",
    "OriginallyNamedSequential",
    "RedFirstSeparableConv",
    "StarShapedBlock",
    "StarShapedDiscriminator",
    "StarShapedGenerator",
    "build_discriminator",
    "build_generator",
    "build_model",
    "canonical_model_type",
    "image_channels",
    "weights_init",
]
