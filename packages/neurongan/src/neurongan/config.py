"""Training configuration: the original's ``configs/config.py`` variables, config files, and CLI overrides.

Resolution order (as the original, whose argparse defaults are never used): built-in defaults (the values of
the original ``configs/config.py``) <- the user config file (``--configs NAME``) <- flags given on the command
line. A config file is a ``.toml`` file of ``name = value`` lines (preferred) or one of the original's
``.py`` files; ``NAME`` without a suffix is looked up as ``configs/NAME.toml`` then ``configs/NAME.py`` under
the current folder. A ``.py`` config is *executed* (that is how the original reads it), so only use ``.py``
files you trust; a note is printed when one is run. Unknown variable names are an error.

Differences from the original, on purpose: directories default to folders of the current working folder
(``data/science_2022``, ``images``, ``weights``, ``plots``, ``logs``) instead of the repository root, the ID
table that silently replaced the feature lists is available as named presets (``features_preset``), and
``validate`` raises ``ValueError`` instead of asserting or prompting.
"""

from __future__ import annotations

import dataclasses
import math
import runpy
import sys
import types
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The feature lists the original attached to training IDs (configs/config.py, define_ID_dependent_configs).
FEATURE_PRESETS: dict[str, tuple[list[int], list[int]]] = {
    "0004": ([1024, 512, 256, 128, 64, 32, 16, 8], [16, 32, 64, 128, 128, 128, 128]),
    "0005": ([1024, 512, 256, 128, 64, 32, 16, 8], [16, 32, 64, 128, 128, 128, 128]),
    "0006": ([512, 256, 128, 64, 32, 16, 8, 8], [64, 128, 256, 256, 256, 128, 64]),
    "0007": ([512, 256, 128, 64, 32, 16], [16, 32, 64, 128, 256, 512]),
    "0008": ([512, 256, 128, 64], [64, 128, 256, 512]),
    "0009": ([32, 32, 32, 32, 16, 16], [16, 16, 32, 32, 32, 32]),
    "default": ([128, 64, 32, 32, 16, 16], [16, 16, 32, 32, 64, 128]),
}

# Names the original config module defines besides the variables (ignored when an original file is read).
_ORIGINAL_HELPERS = {"local_vars", "configs_name"}


@dataclass
class TrainConfig:
    """Every variable of the original ``configs/config.py`` (same names, same effective defaults) plus the
    new ones marked "new"."""

    root_dir: str = "."
    configs_dir: str = "configs"
    data_dir: str = "data"
    images_dir: str = "images"
    weights_dir: str = "weights"
    plots_dir: str = "plots"
    logs_dir: str = "logs"
    wgan: bool = False
    n_critic: int = 1
    adapt_critic: bool = False
    weights_init: str = ""
    unroll_steps: int = 0
    pggan: bool = True
    grad_pen_lambda: float = 10.0
    transit_sch: list[int] = field(default_factory=lambda: [25000, 50000, 75000, 100000, 125000])
    transit_period: int | None = None
    alpha_step: float = 0.0001
    ID: str = ""
    samples_sub_dir: str = ""
    RMSprop: bool = False
    learning_rate: float = 0.0001
    batch_size: int = 8
    N_epochs: int = 150000
    N_epochs_session: int | None = None
    beta1: float = 0.5
    sim_loss_lambda: float = 0.0
    sim_loss_lambda_decay_rate: float = 0.0
    drift_epsilon: float = 0.001
    resume: bool = False
    N_workers: int = 2
    seed: int = 1
    checkpointing_period: int = 100
    device: str = "default"
    pin_memory: bool = False
    dataset_name: str = "science_2022"
    dataset_dir: str = "data/science_2022"
    translation: float = 0.05
    image_preprocessing: str = "cpu"
    latent_dim: int = 512
    image_size: int = 512
    N_colors: int = 1
    LeakyReLU_leak: float = 0.2
    N_gen_features: list[int] = field(default_factory=lambda: list(FEATURE_PRESETS["default"][0]))
    N_dis_features: list[int] = field(default_factory=lambda: list(FEATURE_PRESETS["default"][1]))
    # new: extra snapshot GenDisc_{ID}_{k}k.pth every this many epochs (original: 1000; 0 = none)
    snapshot_period: int = 1000
    # new: named feature lists of the original's ID table ('' = use N_gen_features / N_dis_features)
    features_preset: str = ""
    # new: 'fp32' (the original) or 'bf16' autocast; channels-last memory layout
    precision: str = "fp32"
    channels_last: bool = False

    @property
    def image_size_init(self) -> int:
        """Resolution of the first stage: ``image_size / 2**(len(N_gen_features) - 1)``."""
        return self.image_size // 2 ** (len(self.N_gen_features) - 1)

    @property
    def checkpoint_path(self) -> Path:
        """``weights/GenDisc_{ID}.pth``, the original's training-state file."""
        return Path(self.weights_dir) / f"GenDisc_{self.ID}.pth"

    def to_dict(self) -> dict[str, Any]:
        """Plain values only (stored in our checkpoints, loadable with weights_only)."""
        return dataclasses.asdict(self)


CONFIG_NAMES = tuple(f.name for f in dataclasses.fields(TrainConfig))


def resolve_config_file(name: str | Path, search_dir: str | Path = "configs") -> Path:
    """A config given as a path (``.toml`` / ``.py``) or as a name looked up in ``search_dir``."""
    path = Path(name)
    if path.suffix in (".toml", ".py"):
        if not path.is_file():
            raise FileNotFoundError(f"config file {path} does not exist")
        return path
    if path.suffix:
        raise ValueError(f"config file {path} must be a .toml or .py file")
    tried = [
        Path(search_dir) / f"{name}.toml",
        Path(search_dir) / f"{name}.py",
        Path(f"{name}.toml"),
        Path(f"{name}.py"),
    ]
    for candidate in tried:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"config {name!r} not found; tried {', '.join(str(p) for p in tried)}")


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The variables of a ``.toml`` or (executed) ``.py`` config file; unknown names raise ValueError."""
    path = Path(path)
    if path.suffix == ".toml":
        if sys.version_info >= (3, 11):
            import tomllib
        else:
            import tomli as tomllib
        with path.open("rb") as handle:
            values = tomllib.load(handle)
    else:
        print(
            f"note: executing the Python config file {path} (as the original train.py does); "
            "prefer a .toml config",
            file=sys.stderr,
        )
        namespace = runpy.run_path(str(path), run_name="neurongan_user_config")
        values = {
            name: value
            for name, value in namespace.items()
            if not name.startswith("__")
            and name not in _ORIGINAL_HELPERS
            and not isinstance(value, types.ModuleType | types.FunctionType | type)
        }
    unknown = sorted(set(values) - set(CONFIG_NAMES))
    if unknown:
        raise ValueError(
            f"{path}: unknown config variable(s) {', '.join(unknown)}; known: {', '.join(CONFIG_NAMES)}"
        )
    return values


def build_config(
    config_file: str | Path | None = None, overrides: dict[str, Any] | None = None
) -> TrainConfig:
    """Defaults <- ``config_file`` <- ``overrides`` (the flags given on the command line), validated."""
    values: dict[str, Any] = {}
    if config_file:
        values.update(read_config_file(resolve_config_file(config_file)))
    overrides = overrides or {}
    unknown = sorted(set(overrides) - set(CONFIG_NAMES))
    if unknown:
        raise ValueError(f"unknown config variable(s) {', '.join(unknown)}")
    values.update(overrides)
    config = TrainConfig(**values)
    validate(config)
    return config


def validate(config: TrainConfig) -> None:
    """The original's ``validate_configs`` checks (as ValueError), the ID and derived values filled in."""
    if not config.ID:
        config.ID = uuid.uuid4().hex[:4]
    if not config.samples_sub_dir:
        config.samples_sub_dir = str(Path(config.images_dir) / config.ID)
    if config.features_preset:
        if config.features_preset not in FEATURE_PRESETS:
            raise ValueError(
                f"features_preset {config.features_preset!r} is not one of {', '.join(FEATURE_PRESETS)}"
            )
        gen, dis = FEATURE_PRESETS[config.features_preset]
        config.N_gen_features, config.N_dis_features = list(gen), list(dis)
    if config.wgan or not config.pggan:
        raise ValueError(
            "only the progressive (pggan) networks are ported; the legacy WGAN/DCGAN networks "
            "(wgan=True or pggan=False) are not"
        )
    if config.image_size < 1 or 2 ** round(math.log2(config.image_size)) != config.image_size:
        raise ValueError(f"image_size must be a power of 2, got {config.image_size}")
    if len(config.N_gen_features) != len(config.N_dis_features):
        raise ValueError(
            f"N_gen_features ({len(config.N_gen_features)} entries) and N_dis_features "
            f"({len(config.N_dis_features)}) must have the same length"
        )
    transitions = len(config.N_gen_features) - 1
    if config.image_size_init < 4:
        raise ValueError(
            f"the first stage would be {config.image_size_init} px; it must be >= 4 (use fewer "
            "feature entries or a larger image_size)"
        )
    if config.transit_period is not None:
        config.transit_sch = [k * int(config.transit_period) for k in range(1, transitions + 1)]
    config.transit_sch = [int(t) for t in config.transit_sch]
    if len(config.transit_sch) != transitions:
        raise ValueError(
            f"transit_sch has {len(config.transit_sch)} transitions but the networks grow {transitions} times"
        )
    if transitions and config.N_epochs <= config.transit_sch[-1]:
        raise ValueError(
            f"N_epochs ({config.N_epochs}) must be greater than the last transition "
            f"({config.transit_sch[-1]})"
        )
    if config.alpha_step <= 0:
        raise ValueError(f"alpha_step must be positive, got {config.alpha_step}")
    fade_epochs = math.ceil(1 / config.alpha_step)
    gaps = [b - a for a, b in zip([0, *config.transit_sch], config.transit_sch, strict=False)]
    if any(gap <= fade_epochs for gap in gaps[1:]) or any(gap <= 0 for gap in gaps):
        raise ValueError(
            f"transitions {config.transit_sch} must increase and be more than {fade_epochs} "
            "epochs (1 / alpha_step) apart"
        )
    if config.batch_size < 1 or config.n_critic < 0 or config.checkpointing_period < 1:
        raise ValueError("batch_size and checkpointing_period must be >= 1 and n_critic >= 0")
    if config.image_preprocessing not in ("cpu", "device"):
        raise ValueError(f"image_preprocessing must be 'cpu' or 'device', got {config.image_preprocessing!r}")
    if config.precision not in ("fp32", "bf16"):
        raise ValueError(f"precision must be fp32 or bf16, got {config.precision!r}")
