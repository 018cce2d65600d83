"""neuron-gan (progressive WGAN-GP for Drosophila class IV neuron images) on current PyTorch.

Public API: :class:`GeneratorPG`, :class:`DiscriminatorPG`, :func:`load_checkpoint`, :func:`load_generator`,
:func:`load_discriminator`, :func:`save_checkpoint`, :func:`sample_latent`, :func:`generate` and the
:mod:`neurongan.losses` module.
"""

from . import losses
from .checkpoints import load_checkpoint, load_discriminator, load_generator, save_checkpoint
from .models import DiscriminatorPG, GeneratorPG
from .sampling import generate, sample_latent, save_sample_grid

__version__ = "0.1.0"

__all__ = [
    "DiscriminatorPG",
    "GeneratorPG",
    "generate",
    "load_checkpoint",
    "load_discriminator",
    "load_generator",
    "losses",
    "sample_latent",
    "save_checkpoint",
    "save_sample_grid",
]
