"""Custom ops of the StyleGAN family: fused bias + activation (``bias_act``), upfirdn2d resampling, and
StyleGAN3's ``filtered_lrelu`` (upsample, leaky ReLU, downsample; one fused kernel on the compiled backends).

Every op has three backends: ``ref`` (pure PyTorch, any device and dtype, always there, the tests' oracle),
``cpu`` (C++ kernels, float32/float64/bfloat16) and ``cuda`` (CUDA kernels, float16/float32/float64). The
compiled backends are built once per environment into a cache and a speed-up that never breaks anything: if
one cannot be built, a single warning names the build log and the ops run on ``ref``. ``impl=None`` picks the
best backend for the tensor; ``INSILICO_OPS=ref`` forces the reference. ``status()`` reports the backends,
``build()`` builds them now (also ``insilico-core ops status`` / ``insilico-core ops build``).
"""

from insilico_core.ops._build import BackendStatus, build, cache_dir, status
from insilico_core.ops.bias_act import ACTIVATIONS, bias_act
from insilico_core.ops.filtered_lrelu import filtered_lrelu
from insilico_core.ops.rosinality import FusedLeakyReLU, fused_leaky_relu, upfirdn2d_rosinality
from insilico_core.ops.upfirdn2d import downsample2d, filter2d, setup_filter, upfirdn2d, upsample2d

__all__ = [
    "ACTIVATIONS",
    "BackendStatus",
    "FusedLeakyReLU",
    "bias_act",
    "build",
    "cache_dir",
    "downsample2d",
    "filter2d",
    "filtered_lrelu",
    "fused_leaky_relu",
    "setup_filter",
    "status",
    "upfirdn2d",
    "upfirdn2d_rosinality",
    "upsample2d",
]
