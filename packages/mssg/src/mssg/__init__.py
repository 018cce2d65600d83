"""Multi-Source StyleGAN (Lai et al., MIDL 2024) on current PyTorch.

``load_snapshot`` reads the originals' ``network-snapshot-*.pkl`` (and ours) without running code from the
file; ``save_snapshot`` writes our weights-only format. The house names ``load_original_checkpoint``,
``load_checkpoint`` and ``save_checkpoint`` refer to the same two functions.
"""

from mssg.checkpoint import load_snapshot, save_snapshot

load_original_checkpoint = load_snapshot
load_checkpoint = load_snapshot
save_checkpoint = save_snapshot

__all__ = ["load_checkpoint", "load_original_checkpoint", "load_snapshot", "save_checkpoint", "save_snapshot"]
