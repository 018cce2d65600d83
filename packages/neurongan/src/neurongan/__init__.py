"""neuron-gan (progressive WGAN-GP for Drosophila class IV neuron images) on current PyTorch.

Public API: :class:`GeneratorPG`, :class:`DiscriminatorPG`, :func:`load_checkpoint`, :func:`load_generator`,
:func:`load_discriminator`, :func:`save_checkpoint`, :func:`sample_latent`, :func:`generate`,
:func:`build_model` and the :mod:`neurongan.losses` module.
"""

from . import losses
from .checkpoints import load_checkpoint, load_discriminator, load_generator, save_checkpoint
from .config import TrainConfig
from .models import DiscriminatorPG, GeneratorPG
from .sampling import generate, sample_latent, save_sample_grid


def build_model(config: TrainConfig | None = None) -> tuple[GeneratorPG, DiscriminatorPG]:
    """Generator and discriminator at the first stage for ``config`` (default: the original's defaults)."""
    from .train import build_networks

    return build_networks(config or TrainConfig())


__version__ = "0.1.0"

__all__ = [
    "DiscriminatorPG",
    "TrainConfig",
    "build_model",
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
