"""Model construction by ``--model_type`` as ``main.py`` does it, with the original initialisation.

Model types (matched case-insensitively and exactly; the original's substring test and the case bug of
``DCGAN-sep-multichannel`` are fixed): see :data:`MODEL_TYPES`.
"""

from __future__ import annotations

from torch import nn

from ..choices import canonical_choice
from .conditional import IndependentGenerators, StarShapedDiscriminator, StarShapedGenerator
from .dcgan import DCGANDiscriminator, DCGANGenerator

#: canonical spelling of every model type of main.py
MODEL_TYPES = (
    "DCGAN",
    "DCGAN-sep",
    "DCGAN-star-shaped",
    "DCGAN-independent",
    "DCGAN-sep-independent",
    "DCGAN-multichannel",
    "DCGAN-sep-multichannel",
)
#: types whose generator has a red tower (fixed noise is grouped by shared red z for these)
SEPARABLE_TYPES = ("DCGAN-sep", "DCGAN-star-shaped", "DCGAN-sep-independent", "DCGAN-sep-multichannel")
#: types trained on conditional data ``[n_classes, B, 2, H, W]`` with the star-shaped discriminator
CONDITIONAL_TYPES = ("DCGAN-star-shaped", "DCGAN-independent", "DCGAN-sep-independent")
#: types whose images have n_classes + 1 channels (red + one green per class)
MULTICHANNEL_TYPES = ("DCGAN-multichannel", "DCGAN-sep-multichannel")


def canonical_model_type(model_type: str) -> str:
    """The canonical spelling of ``model_type`` (case-insensitive exact match); ValueError if unknown."""
    return canonical_choice(model_type, MODEL_TYPES, "model type")


def image_channels(model_type: str, nc: int, n_classes: int) -> int:
    """Channels of the model's images: ``nc`` (2), or n_classes + 1 for multi-channel types.

    For multi-channel types ``nc`` may be given as 2 (the data's channels, as main.py's ``original_nc``)
    or as n_classes + 1.
    """
    if canonical_model_type(model_type) in MULTICHANNEL_TYPES:
        if nc not in (2, n_classes + 1):
            raise ValueError(
                f"multi-channel models have n_classes + 1 = {n_classes + 1} channels, got nc={nc}"
            )
        return n_classes + 1
    if nc < 1:
        raise ValueError(f"nc must be >= 1, got {nc}")
    return nc


def weights_init(module: nn.Module) -> None:
    """The original ``weights_init`` (use with ``model.apply``).

    Conv and transposed-conv weights ~ N(0, 0.02); BatchNorm weight ~ N(1, 0.02), bias 0.
    """
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        module.weight.data.normal_(0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        module.weight.data.normal_(1.0, 0.02)
        module.bias.data.fill_(0)


def build_generator(
    model_type: str,
    image_size: int | tuple[int, int] = (48, 80),
    nz: int = 100,
    ngf: int = 64,
    nc: int = 2,
    n_classes: int = 6,
    red_portion: float = 0.5,
    n_extra_layers: int = 0,
    original_init: bool = True,
) -> nn.Module:
    """The generator of ``model_type``, initialised as the original (construction, then ``weights_init``),
    consuming the global torch RNG in the original's order; ``original_init=False`` leaves PyTorch's
    default initialisation (for loading weights, or to run ``weights_init`` later as :func:`build_model`).

    ``forward(z, i_class=None)``: z ``[B, nz, 1, 1]`` -> ``[B, nc, H, W]`` (joint and multi-channel
    types) or ``[n_classes, B, 2, H, W]`` / ``[B, 2, H, W]`` for class ``i_class`` (conditional types).
    ``red_portion`` is used by the separable types only.
    """
    kind = canonical_model_type(model_type)
    channels = image_channels(kind, nc, n_classes)
    if kind in CONDITIONAL_TYPES and n_extra_layers:
        raise ValueError(f"{kind} generators have no extra layers (the original ignores n_extra_layers)")
    if kind in ("DCGAN", "DCGAN-multichannel"):
        generator = DCGANGenerator(image_size, nz, channels, ngf, n_extra_layers, red_portion=None)
    elif kind in ("DCGAN-sep", "DCGAN-sep-multichannel"):
        generator = DCGANGenerator(image_size, nz, channels, ngf, n_extra_layers, red_portion=red_portion)
    elif kind == "DCGAN-star-shaped":
        generator = StarShapedGenerator(image_size, nz, channels, ngf, n_classes, red_portion=red_portion)
    else:
        generator = IndependentGenerators(
            image_size,
            nz,
            channels,
            ngf,
            n_classes,
            red_portion=red_portion if kind == "DCGAN-sep-independent" else None,
        )
    return generator.apply(weights_init) if original_init else generator


def build_discriminator(
    model_type: str,
    image_size: int | tuple[int, int] = (48, 80),
    nc: int = 2,
    ndf: int = 64,
    n_classes: int = 6,
    n_extra_layers: int = 0,
    use_batch_norm: bool = True,
    original_init: bool = True,
) -> nn.Module:
    """The discriminator of ``model_type`` (DCGAN_D, or one per class for conditional types), initialised as
    the original unless ``original_init=False`` (PyTorch's default initialisation).
    Images ``[B, nc, H, W]`` -> ``[B]`` or ``[n_classes, B, 2, H, W]`` -> ``[n_classes, B]``."""
    kind = canonical_model_type(model_type)
    channels = image_channels(kind, nc, n_classes)
    if kind in CONDITIONAL_TYPES:
        discriminator = StarShapedDiscriminator(
            image_size, channels, ndf, n_classes, n_extra_layers, use_batch_norm
        )
    else:
        discriminator = DCGANDiscriminator(image_size, channels, ndf, n_extra_layers, use_batch_norm)
    return discriminator.apply(weights_init) if original_init else discriminator


def build_model(
    model_type: str,
    algorithm: str = "GAN",
    image_size: int | tuple[int, int] = (48, 80),
    nz: int = 100,
    ngf: int = 64,
    ndf: int = 64,
    nc: int = 2,
    n_classes: int = 6,
    red_portion: float = 0.5,
    n_extra_layers: int = 0,
) -> tuple[nn.Module, nn.Module]:
    """(G, D) exactly as main.py builds them: G constructed, D constructed, then G and D initialised (this
    order matters for the random numbers); D BatchNorm on for GAN and WGAN, off for WGAN-GP."""
    from ..losses import canonical_algorithm

    use_batch_norm = canonical_algorithm(algorithm) != "WGAN-GP"
    generator = build_generator(
        model_type, image_size, nz, ngf, nc, n_classes, red_portion, n_extra_layers, original_init=False
    )
    discriminator = build_discriminator(
        model_type, image_size, nc, ndf, n_classes, n_extra_layers, use_batch_norm, original_init=False
    )
    return generator.apply(weights_init), discriminator.apply(weights_init)
