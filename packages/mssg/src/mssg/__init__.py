"""Multi-Source StyleGAN (Lai et al., MIDL 2024) on current PyTorch."""

from mssg.checkpoint import load_snapshot, save_snapshot

__all__ = ["load_snapshot", "save_snapshot"]
