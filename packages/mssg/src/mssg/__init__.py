"""Multi-Source StyleGAN (Lai et al., MIDL 2024) on current PyTorch."""
