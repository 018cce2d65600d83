"""TA-GAN data: the original folder layouts and dataset modes, the original preprocessing pipeline."""
