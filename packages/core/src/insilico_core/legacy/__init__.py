"""Reading the original authors' checkpoint files safely.

- :func:`load_torch_file`: zip and legacy (pre-1.6) ``torch.save`` files with ``weights_only=True``,
  optionally with numpy data under numpy-1 or numpy-2 names.
- :func:`read_persistent_pickle`: StyleGAN2/3 persistence pickles (MSSG snapshots) into
  :class:`PersistentRecord` trees, never executing the embedded source.
- :func:`strip_prefix`, :func:`remap_keys`: rename state-dict keys (``module.`` wrappers, original
  layer names).
"""

from .errors import LegacyFormatError, UnsafePickleError
from .keys import remap_keys, strip_prefix
from .persistent_pickle import PersistentRecord, read_persistent_pickle
from .torch_file import load_torch_file

__all__ = [
    "LegacyFormatError",
    "PersistentRecord",
    "UnsafePickleError",
    "load_torch_file",
    "read_persistent_pickle",
    "remap_keys",
    "strip_prefix",
]
