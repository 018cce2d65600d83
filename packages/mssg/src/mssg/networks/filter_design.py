"""Low-pass FIR filter design for StyleGAN3 layers, in numpy/torch (no scipy at run time).

StyleGAN3 designs each layer's up/down filters with ``scipy.signal.firwin`` (Kaiser-windowed sinc) or, for
radially symmetric downsampling filters (StyleGAN3-R), a Kaiser-windowed jinc. The same formulas are written
here so that freshly constructed generators need no scipy; loaded snapshots take the stored buffers anyway.
"""

from __future__ import annotations

import numpy as np
import torch


def kaiser_beta(attenuation_db: float) -> float:
    """Kaiser window beta for a stop-band attenuation in dB (Kaiser's empirical formula, as scipy)."""
    a = attenuation_db
    if a > 50:
        return 0.1102 * (a - 8.7)
    if a > 21:
        return 0.5842 * (a - 21) ** 0.4 + 0.07886 * (a - 21)
    return 0.0


def kaiser_attenuation(numtaps: int, width: float) -> float:
    """Kaiser FIR attenuation (dB): ``numtaps`` taps, transition ``width`` (fraction of Nyquist)."""
    return 2.285 * (numtaps - 1) * np.pi * width + 7.95


def design_lowpass_filter(
    numtaps: int, cutoff: float, width: float, fs: float, radial: bool = False
) -> torch.Tensor | None:
    """StyleGAN3 ``SynthesisLayer.design_lowpass_filter``.

    Args:
        numtaps: filter length (1 = identity, returns None).
        cutoff: cut-off frequency in the units of ``fs``.
        width: transition band width in the units of ``fs``.
        fs: sampling rate.
        radial: radially symmetric 2-D jinc filter instead of a separable 1-D sinc filter.

    Returns:
        float32 ``[numtaps]`` (separable, sums to 1) or ``[numtaps, numtaps]`` (radial), or None.
    """
    if numtaps < 1:
        raise ValueError(f"numtaps must be >= 1, got {numtaps}")
    if numtaps == 1:
        return None
    nyquist = fs / 2
    beta = kaiser_beta(kaiser_attenuation(numtaps, width / nyquist))
    window = np.kaiser(numtaps, beta)
    if not radial:
        m = np.arange(numtaps) - (numtaps - 1) / 2
        c = cutoff / nyquist
        h = c * np.sinc(c * m) * window
        return torch.as_tensor(h / h.sum(), dtype=torch.float32)
    x = (np.arange(numtaps) - (numtaps - 1) / 2) / fs
    r = torch.as_tensor(np.hypot(*np.meshgrid(x, x)), dtype=torch.float64)
    f = (torch.special.bessel_j1(2 * cutoff * (np.pi * r)) / (np.pi * r)).numpy()
    f = f * np.outer(window, window)
    return torch.as_tensor(f / f.sum(), dtype=torch.float32)
