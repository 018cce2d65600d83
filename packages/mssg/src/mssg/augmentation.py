"""Discriminator augmentation in MSSG training: the ``--aug`` / ``--augpipe`` / ``--p`` / ``--target`` options
and StyleGAN2-ADA's adaptive update of the augmentation probability ``p``.

As stylegan3's train.py (which MSSG's three training scripts copy): ``--aug noaug`` (MSSG's default) trains
without augmentation; ``--aug ada`` starts at ``p = 0`` and adapts ``p`` towards ``--target`` (0.6) of the
overfitting heuristic ``r_t = E[sign(D(real))]``; ``--aug fixed`` keeps ``p = --p`` (0.2). The pipeline is
stylegan3's fixed choice, StyleGAN2-ADA's ``bgc`` preset (blit + geometric + colour); ``--augpipe`` (from
stylegan2-ada-pytorch) names another preset.

The augmented images are what D sees for every real and generated image (``D(augment_pipe(img), c)``), R1
included; the pipe's ``p`` buffer is saved with each snapshot.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from insilico_core.augment import AUGPIPE_PRESETS, AugmentPipe

AUG_MODES = ("noaug", "ada", "fixed")
ADA_INTERVAL = 4  # training steps between two adjustments of p
ADA_KIMG = 500  # thousands of real images for p to move by one unit
RESUME_ADA_KIMG = 100  # stylegan3's train.py: react faster after --resume


def build_augment_pipe(
    aug: str,
    augpipe: str = "bgc",
    p: float = 0.2,
    target: float = 0.6,
    device: torch.device | str = "cpu",
) -> AugmentPipe | None:
    """The augmentation pipeline for the training options, or None when D sees the images as they are.

    Args:
        aug: ``--aug``: 'noaug', 'ada' (adaptive ``p``, starting at 0) or 'fixed' (``p`` = ``--p``).
        augpipe: ``--augpipe``: one of :data:`insilico_core.augment.AUGPIPE_PRESETS` ('bgc' by default).
        p: ``--p``, the probability for ``--aug fixed`` (a fixed ``p`` of 0 means no pipeline, as the
            original).
        target: ``--target`` of ``--aug ada``; only validated here (see :class:`AdaController`).
        device: where the pipe's buffers live.

    Raises:
        ValueError: an unknown mode or preset, or ``p`` / ``target`` outside ``[0, 1]``.
    """
    if aug not in AUG_MODES:
        raise ValueError(f"--aug must be one of {', '.join(AUG_MODES)}, got {aug!r}")
    if augpipe not in AUGPIPE_PRESETS:
        raise ValueError(f"--augpipe must be one of {', '.join(AUGPIPE_PRESETS)}, got {augpipe!r}")
    if not 0 <= p <= 1:
        raise ValueError(f"--p must be in [0, 1], got {p}")
    if not 0 <= target <= 1:
        raise ValueError(f"--target must be in [0, 1], got {target}")
    if aug == "noaug" or (aug == "fixed" and p == 0):
        return None
    pipe = AugmentPipe(**AUGPIPE_PRESETS[augpipe]).train().requires_grad_(False).to(device)
    pipe.p.fill_(p if aug == "fixed" else 0.0)
    return pipe


class AdaController:
    """StyleGAN2-ADA's update of ``pipe.p`` as stylegan3's training loop runs it.

    Every real-image discriminator pass reports its logits (:meth:`record`); after each training step,
    :meth:`step` with the number of steps done so far adjusts ``p`` when that number is a multiple of
    ``interval`` (after steps 4, 8, ...): ``p += sign(r_t - target) * batch_size * interval / (kimg * 1000)``,
    clamped below at 0 (not above, as the original), where ``r_t`` is the mean sign of every logit recorded
    since the last adjustment, over all processes. The counts stay on the device until then (no
    synchronisation per pass).

    Args:
        pipe: the pipeline whose ``p`` buffer is adapted.
        target: ``--target``, the wanted ``r_t`` (0.6).
        batch_size: total real images per training step (``--batch``).
        interval: steps between adjustments (4).
        kimg: thousands of images for ``p`` to move by 1 (500; 100 after ``--resume``).
    """

    def __init__(
        self,
        pipe: AugmentPipe,
        target: float = 0.6,
        batch_size: int = 32,
        interval: int = ADA_INTERVAL,
        kimg: float = ADA_KIMG,
    ) -> None:
        if batch_size < 1 or interval < 1 or kimg <= 0:
            raise ValueError(
                f"need batch_size >= 1, interval >= 1 and kimg > 0, got {batch_size}, {interval}, {kimg}"
            )
        self.pipe = pipe
        self.target = target
        self.adjustment = batch_size * interval / (kimg * 1000)
        self.interval = interval
        self.last_signs_mean: float | None = None
        self._signs = torch.zeros(2, dtype=torch.float64, device=pipe.p.device)  # [sum of signs, count]

    def record(self, real_logits: torch.Tensor) -> None:
        """Add one batch of D's real-image logits (``[B]`` or ``[B, 1]``, the adversarial column)."""
        signs = real_logits.detach().sign().to(self._signs)
        self._signs += torch.stack([signs.sum(), signs.new_tensor(signs.numel())])

    def step(self, batch_idx: int) -> None:
        """Call after each training step with the steps done so far (stylegan3's ``batch_idx`` after its
        increment: 1, 2, ...); adjusts ``p`` every ``interval`` steps.

        An adjustment with nothing recorded since the previous one leaves ``p`` as it is.
        """
        if batch_idx % self.interval != 0:
            return
        signs = self._signs.clone()
        if dist.is_available() and dist.is_initialized():
            dist.all_reduce(signs)
        self._signs.zero_()
        total, count = signs.tolist()
        if count == 0:
            return
        self.last_signs_mean = total / count
        direction = (self.last_signs_mean > self.target) - (self.last_signs_mean < self.target)
        self.pipe.p.copy_((self.pipe.p + direction * self.adjustment).clamp(min=0))
