"""The three configuration dicts of Multi-StyleGAN, with the values of the released run.

Key names are the original ``multi_stylegan/config.py`` ones, so a config written for the original code
works here. The generator's output side is ``4 * 2 ** (len(channels) - 1)`` (256 for the seven stages of
the original). ``GENERATOR_CONFIG`` accepts one optional key of ours, ``wire_gfp_branch`` (default False,
the original): True makes the GFP output heads read the GFP features, the intended wiring; it changes the
model, for new trainings only.
"""

from __future__ import annotations

import math
from typing import Any

GENERATOR_CONFIG: dict[str, Any] = {
    # Channels of the 4x4 stage and of each of the six upsampling stages (8x8 ... 256x256)
    "channels": (512, 512, 512, 512, 512, 512, 512),
    # Every channel count is divided by this factor
    "channel_factor": 1,
    "latent_dimensions": 512,
    "depth_style_mapping": 8,
    "starting_resolution": (4, 4),
}

DISCRIMINATOR_CONFIG: dict[str, Any] = {
    # (in, out) per encoder block; the first block's input (3) is replaced by 3 per domain (BF, GFP, RFP)
    "encoder_channels": ((3, 128), (128, 256), (256, 384), (384, 768), (768, 1024)),
    "decoder_channels": ((1024, 768), (768, 384), (384, 256), (256, 128)),
    # The original's 3-D FFT input path; it called ``torch.rfft`` (removed in torch 1.8) and was never used
    "fft": False,
}

HYPERPARAMETERS: dict[str, Any] = {
    # Probability that a generator input is a pair of latents (style mixing)
    "p_mixed_noise": 0.9,
    # Path-length regularisation every 16 iterations, weight ln2 / (256^2 (ln256 - ln2))
    "lazy_generator_regularization": 16,
    "w_generator_regularization": math.log(2) / ((256**2) * (math.log(256) - math.log(2))),
    # R1 every 16 iterations with weight 10
    "lazy_discriminator_regularization": 16,
    "w_discriminator_regularization_r1": 10.0,
    # Weight of the CutMix augmentation and consistency losses
    "w_discriminator_regularization": 4.0,
    # Fraction of the batch appended to the fakes as real sequences in a wrong time order
    "batch_factor_wrong_order": 1.0 / 4.0,
    # Fraction of the batch used by the path-length regularisation
    "batch_size_shrink_path_length_regularization": 2.0 / 4.0,
    "betas": (0.0, 0.999),
    # Top-k: v goes from 1 to 0.5 between these fractions of all iterations
    "top_k_start": 1.0 / 4.0,
    "top_k_finish": 3.0 / 4.0,
    # Wrong-order sequences from this fraction of the epochs on
    "wrong_order_start": 3.0 / 4.0,
    # Trap weight map from this fraction of the epochs on (no map is ever given in the original)
    "trap_weight": 1.0 / 4.0,
}


def generator_config(
    channels: int | None = None, resolution: int | None = None, latent_dimensions: int | None = None
) -> dict[str, Any]:
    """A copy of ``GENERATOR_CONFIG`` with a smaller width and/or resolution for small runs and tests.

    channels: feature channels of every stage (original 512); resolution: output side, a power of two
    >= 8 (original 256); latent_dimensions: z and w size (original 512).
    """
    config = dict(GENERATOR_CONFIG)
    stages = len(config["channels"])
    if resolution is not None:
        if resolution < 8 or resolution & (resolution - 1):
            raise ValueError(f"resolution must be a power of two >= 8, got {resolution}")
        stages = int(math.log2(resolution)) - 1
    width = channels if channels is not None else config["channels"][0]
    if width < 8:
        raise ValueError(f"channels must be >= 8, got {width}")
    config["channels"] = (width,) * stages
    if latent_dimensions is not None:
        config["latent_dimensions"] = latent_dimensions
    return config


def discriminator_config(channels: int | None = None) -> dict[str, Any]:
    """A copy of ``DISCRIMINATOR_CONFIG`` with every channel count scaled by ``channels / 128``.

    channels: width of the first encoder block (original 128); must be a multiple of 16 so that the
    non-local blocks' out/8 projections keep whole channels.
    """
    config = dict(DISCRIMINATOR_CONFIG)
    if channels is None:
        return config
    if channels < 16 or channels % 16:
        raise ValueError(f"discriminator channels must be a positive multiple of 16, got {channels}")

    def scale(pair: tuple[int, int]) -> tuple[int, int]:
        return tuple(c * channels // 128 for c in pair)

    config["encoder_channels"] = tuple(scale(pair) for pair in config["encoder_channels"])
    config["decoder_channels"] = tuple(scale(pair) for pair in config["decoder_channels"])
    return config
