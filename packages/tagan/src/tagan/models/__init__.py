"""TA-GAN models by their ``--model`` name. Classes are imported on first use."""

from __future__ import annotations

import importlib

# --model -> (module, class)
MODELS: dict[str, tuple[str, str]] = {
    "TAGAN_AxonalRings": ("task_assisted", "AxonalRingsModel"),
    "TAGAN_Dendrites": ("task_assisted", "DendritesModel"),
    "TAGAN_Synprot": ("task_assisted", "SynprotModel"),
    "TAGAN_SAureus": ("task_assisted", "SAureusModel"),
    "TAGAN_SimulatedNanodomains": ("task_assisted", "SimulatedNanodomainsModel"),
    "TAGAN": ("task_assisted", "TaskAssistedGANModel"),
    "TAGAN_live": ("live", "LiveModel"),
    "TAGAN_cycle": ("cycle", "CycleModel"),
    "segmentation": ("segmentation", "SegmentationModel"),
    "pix2pix": ("pix2pix", "Pix2PixModel"),
    "cycle_gan": ("cycle_gan", "CycleGANModel"),
}
# spellings used by the original README
MODEL_ALIASES = {"TAGAN_SimulatedNanomdomains": "TAGAN_SimulatedNanodomains", "cycle-gan": "cycle_gan"}
MODEL_NAMES = tuple(MODELS)


def find_model_class(name: str):
    """The model class for ``--model name`` (README aliases accepted)."""
    canonical = MODEL_ALIASES.get(name, name)
    if canonical not in MODELS:
        raise ValueError(f"--model {name!r} is unknown; expected one of {', '.join(MODEL_NAMES)}")
    module_name, class_name = MODELS[canonical]
    module = importlib.import_module(f"{__name__}.{module_name}")
    return getattr(module, class_name)


def create_model(opt):
    """Instantiate the model of ``opt.model`` with ``opt``."""
    return find_model_class(opt.model)(opt)
