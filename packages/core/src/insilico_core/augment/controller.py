"""The ADA probability controller: raise ``p`` while the discriminator overfits, lower it otherwise.

The overfitting heuristic is ``r_t = E[sign(D(x))]``, averaged over an interval of discriminator steps; every
``interval`` observations ``p`` moves by ``step`` towards more augmentation when ``r_t > target`` and towards
less when ``r_t < target``, clamped to ``[0, p_max]``.

Two parameterisations are in use:

- Multi-StyleGAN (``AdaptiveP()``): ``r`` from the FAKE predictions of every D call (scalar and pixel-wise
  outputs, see :func:`overfitting_heuristic`), ``interval`` 8 calls, ``step`` 0.005, ``p`` starts at 0.05,
  ``p_max`` 0.8, a tie lowers ``p``.
- StyleGAN2-ADA / MSSG (:meth:`AdaptiveP.stylegan2_ada`): ``r`` from the REAL logits, ``interval`` 4 steps,
  ``step = batch * interval / (ada_kimg * 1000)`` with ``ada_kimg`` 500, ``p`` starts at 0, ``p_max`` 1, a
  tie leaves ``p`` unchanged.
"""

from __future__ import annotations

from typing import Any

import torch


def overfitting_heuristic(scalar_logits: torch.Tensor, pixel_logits: torch.Tensor | None = None) -> float:
    """``mean(sign(D))`` of one batch; with pixel-wise logits Multi-StyleGAN's blend.

    Args:
        scalar_logits: ``[B]`` or ``[B, 1]`` discriminator outputs.
        pixel_logits: optional ``[B, 1, H, W]`` U-Net discriminator map; then
            ``r = 0.5 * mean(sign(scalar)) + 0.5 * mean(sign(mean_HW(pixel)))``.

    Returns:
        A float in ``[-1, 1]``.
    """
    with torch.no_grad():
        r = torch.sign(scalar_logits.float()).mean()
        if pixel_logits is not None:
            r = 0.5 * r + 0.5 * torch.sign(pixel_logits.float().mean(dim=(-1, -2))).mean()
    return float(r)


class AdaptiveP:
    """Accumulates the overfitting heuristic and adjusts the augmentation probability ``p``.

    Args:
        target: target value of ``r_t`` (0.6 in both papers).
        interval: number of :meth:`update` calls per adjustment.
        step: change of ``p`` per adjustment.
        p: initial probability.
        p_max: upper clamp of ``p``.
        decrease_on_tie: lower ``p`` when ``r_t == target`` (Multi-StyleGAN) instead of keeping it.
    """

    def __init__(
        self,
        target: float = 0.6,
        interval: int = 8,
        step: float = 5e-3,
        p: float = 0.05,
        p_max: float = 0.8,
        decrease_on_tie: bool = True,
    ) -> None:
        if interval < 1:
            raise ValueError(f"interval must be >= 1, got {interval}")
        if step < 0:
            raise ValueError(f"step must be >= 0, got {step}")
        if not 0.0 <= p_max <= 1.0 or not 0.0 <= p <= p_max:
            raise ValueError(f"need 0 <= p <= p_max <= 1, got p={p}, p_max={p_max}")
        self.target = target
        self.interval = interval
        self.step = step
        self.p_max = p_max
        self.decrease_on_tie = decrease_on_tie
        self.p = p
        self.history: list[float] = []
        self._sum = 0.0
        self._weight = 0.0
        self._calls = 0

    @classmethod
    def stylegan2_ada(
        cls, batch_size: int, target: float = 0.6, interval: int = 4, ada_kimg: float = 500.0, p: float = 0.0
    ) -> AdaptiveP:
        """StyleGAN2-ADA's rule: ``p`` changes by one unit per ``ada_kimg`` thousand real images."""
        if batch_size < 1 or ada_kimg <= 0:
            raise ValueError(f"need batch_size >= 1 and ada_kimg > 0, got {batch_size} and {ada_kimg}")
        step = batch_size * interval / (ada_kimg * 1000)
        return cls(target=target, interval=interval, step=step, p=p, p_max=1.0, decrease_on_tie=False)

    def update(self, sign_mean: float | torch.Tensor, count: int = 1) -> float:
        """Record ``mean(sign(D))`` of one step over ``count`` samples; adjust ``p`` every ``interval`` calls.

        Returns:
            The (possibly adjusted) probability ``p``.
        """
        self._sum += float(sign_mean) * count
        self._weight += count
        self._calls += 1
        if self._calls >= self.interval:
            r_t = self._sum / self._weight
            if r_t > self.target:
                self.p += self.step
            elif r_t < self.target or self.decrease_on_tie:
                self.p -= self.step
            self.p = min(max(self.p, 0.0), self.p_max)
            self.history.append(r_t)
            self._sum, self._weight, self._calls = 0.0, 0.0, 0
        return self.p

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume, as plain numbers (loadable with ``torch.load(weights_only=True)``)."""
        return {
            "p": self.p,
            "target": self.target,
            "interval": self.interval,
            "step": self.step,
            "p_max": self.p_max,
            "decrease_on_tie": self.decrease_on_tie,
            "history": list(self.history),
            "pending_sum": self._sum,
            "pending_weight": self._weight,
            "pending_calls": self._calls,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict`; only ``p`` is required (e.g. StyleGAN2-ADA ``augment_pipe.p``)."""
        if "p" not in state:
            raise KeyError("ADA controller state needs at least 'p'")
        for name in ("target", "interval", "step", "p_max", "decrease_on_tie"):
            if name in state:
                setattr(self, name, type(getattr(self, name))(state[name]))
        self.p = float(state["p"])
        self.history = [float(r) for r in state.get("history", [])]
        self._sum = float(state.get("pending_sum", 0.0))
        self._weight = float(state.get("pending_weight", 0.0))
        self._calls = int(state.get("pending_calls", 0))
