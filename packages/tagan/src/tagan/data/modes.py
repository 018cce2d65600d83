"""Names of the dataset modes (``--dataset_mode``) and the README's alternative spellings."""

from __future__ import annotations

DATASET_MODES = (
    "aligned",
    "axons",
    "dendrites",
    "synprot",
    "saureus",
    "live_train",
    "live_test",
    "fixed_live",
    "two_masks_channels",
)
# names the original README uses for modules that only exist as stale bytecode there
DATASET_ALIASES = {
    "mask": "axons",
    "two_masks": "dendrites",
    "mask_dataset": "axons",
    "two_masks_dataset": "dendrites",
    "live": "live_train",
}


def resolve_dataset_mode(mode: str) -> str:
    """The canonical dataset mode for ``--dataset_mode mode``; unknown modes raise ValueError."""
    canonical = DATASET_ALIASES.get(mode, mode)
    if canonical not in DATASET_MODES:
        raise ValueError(f"--dataset_mode {mode!r} is unknown; expected one of {', '.join(DATASET_MODES)}")
    return canonical
