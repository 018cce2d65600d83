"""Simulators of microscopy data: seedable, and each writes the on-disk layout of its paper, so that every
package trains, tests and demos with no download, and users get in-silico data they can control.

Every simulator is a function ``simulate_<kind>(out: Path, n: int, seed: int, **options) -> Path`` in its own
module of this package; it writes ``n`` samples under ``out`` in the layout the paper's loader reads and
returns the dataset root. ``simulate(kind, ...)`` dispatches by the kind's name (as ``insilico-core simulate``
does); modules are imported on first use.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

# kind -> (module, function, one-line description)
SIMULATORS: dict[str, tuple[str, str, str]] = {
    "axonal-rings": (
        "axonal_rings",
        "simulate_axonal_rings",
        "paired confocal / STED images of periodic F-actin rings with ring masks (TA-GAN AxonalRings layout)",
    ),
    "yeast-timelapse": (
        "yeast_timelapse",
        "simulate_yeast_timelapse",
        "brightfield + GFP sequences of budding yeast in microfluidic traps (Multi-StyleGAN layout)",
    ),
    "fission-yeast": (
        "fission_yeast",
        "simulate_fission_yeast",
        "48x80 fission-yeast cells, red outline + class-specific green localisation (BioGANs LIN layout)",
    ),
    "neurons": (
        "neurons",
        "simulate_neurons",
        "branching dendritic arbors, 512x512 8-bit grayscale (neuron-gan layout)",
    ),
    "morpho-digits": (
        "morpho_digits",
        "simulate_morpho_digits",
        "Morpho-MNIST-like digits with covariates from two sources (MSSG layout, dataset.json labels)",
    ),
}


def simulate(kind: str, out: str | Path, n: int, seed: int = 0, **options: Any) -> Path:
    """Write ``n`` simulated samples of ``kind`` under ``out``; returns the dataset root."""
    if kind not in SIMULATORS:
        raise ValueError(f"unknown simulator kind {kind!r}; expected one of {', '.join(sorted(SIMULATORS))}")
    if n < 1:
        raise ValueError(f"n must be a positive number of samples, got {n}")
    module_name, function_name, _ = SIMULATORS[kind]
    module = importlib.import_module(f"{__name__}.{module_name}")
    return getattr(module, function_name)(Path(out), n=n, seed=seed, **options)
