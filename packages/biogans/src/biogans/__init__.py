"""BioGANs: "GANs for Biological Image Synthesis" (Osokin, Chessel, Carazo Salas, Vaggi; ICCV 2017).

Two-channel fluorescence images of fission-yeast cells (red: the cell, green: a polarity protein) from
DCGAN generators trained with GAN, WGAN or WGAN-GP: plain, green-on-red separable, star-shaped (one red
tower, a green tower per protein), independent per-protein and multi-channel models; evaluated with the
classifier two-sample test and by reconstructing test images. Reads and writes the authors' checkpoints.
"""

from . import losses, train
from .checkpoints import (
    convert_original_state_dict,
    export_original_checkpoint,
    infer_original_config,
    load_checkpoint,
    load_original_checkpoint,
    load_original_state_dict,
    save_checkpoint,
)
from .models import MODEL_TYPES, build_discriminator, build_generator, build_model
from .noise import make_fixed_noise

__version__ = "0.1.0"

__all__ = [
    "MODEL_TYPES",
    "build_discriminator",
    "build_generator",
    "build_model",
    "convert_original_state_dict",
    "export_original_checkpoint",
    "infer_original_config",
    "load_checkpoint",
    "load_original_checkpoint",
    "load_original_state_dict",
    "losses",
    "make_fixed_noise",
    "save_checkpoint",
    "train",
]
