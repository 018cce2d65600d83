"""insilico core: what the five paper packages share.

Sub-packages (arrows point down only; the core imports no paper package):

- ``ops``: custom ops (bias_act, upfirdn2d, ...) with a reference PyTorch path and compiled C++/CUDA backends.
- ``nn``: shared layers (equalized linear/conv, modulated conv, mapping network, ...).
- ``data``: TIFF/PNG/HDF5 I/O, datasets, normalisation, simulators of microscopy data.
- ``train``: checkpoints, EMA, seeding, devices and precision, distributed helpers, logging.
- ``metrics``: FID, KID, FVD, IS, LPIPS, SSIM, PSNR, C2ST, strata prediction score.
- ``augment``: adaptive discriminator augmentation.
- ``legacy``: safe reading of the original authors' checkpoint files.
"""

__version__ = "0.1.0"
