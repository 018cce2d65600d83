"""Growth bookkeeping shared by the progressive generator and discriminator (resolution, fade-in ``alpha``).

A network is built with the blocks of *every* stage at once. It starts at ``image_size_init``;
``increase_resolution()`` doubles ``image_size`` and starts a fade (``alpha = 0``);
``advance_transition(step)`` adds ``step`` to ``alpha`` in float32 (as the original's buffer arithmetic, so
10 000 steps of 1e-4 end at 1.0000535) and, once ``alpha >= 1``, merges the faded-in block into the trunk.
Merging *moves* modules between containers, which is why the state-dict keys depend on (stage, fading)
exactly as in the original.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch import nn


def _after_state_dict_load(module: ProgressiveNetwork, incompatible_keys: object) -> None:
    """A loaded ``alpha`` buffer (the discriminator's) may end or start a fade: refresh the flag."""
    module._sync_fading()


class ProgressiveNetwork(nn.Module, ABC):
    """Base class: attributes, growth API and the original's ``*_attrs`` dict; subclasses merge blocks."""

    alpha: torch.Tensor

    def __init__(
        self,
        n_features: Sequence[int],
        image_size_init: int,
        leaky_slope: float,
        n_colors: int,
        persistent_alpha: bool,
    ) -> None:
        super().__init__()
        n_features = [int(n) for n in n_features]
        if not n_features or min(n_features) < 1:
            raise ValueError(
                f"n_features must be a non-empty list of positive channel counts, got {n_features}"
            )
        if image_size_init < 1:
            raise ValueError(f"image_size_init must be >= 1, got {image_size_init}")
        self.n_features = n_features
        self.image_size_init = int(image_size_init)
        self.image_size = int(image_size_init)
        self.image_size_max = int(image_size_init) * 2 ** (len(n_features) - 1)
        self.n_layers = 1
        self.n_layers_max = len(n_features)
        self.leaky_slope = float(leaky_slope)
        self.n_colors = int(n_colors)
        self.register_buffer("alpha", torch.tensor(1.0), persistent=persistent_alpha)
        self._fading = False
        self.register_load_state_dict_post_hook(_after_state_dict_load)

    def _remember_build_order(self) -> None:
        """Record the parameters in construction order: an optimizer built from them indexes its state the
        same way at every stage, so saved optimizer state resumes onto a re-grown network. The toRGB /
        fromRGB layers that growth replaces stay in this list (as in the original, whose optimizer is built
        once at 16 px); they receive no gradient, so Adam leaves them alone."""
        self._build_order = tuple(self.parameters())

    def parameters_in_build_order(self) -> Iterator[nn.Parameter]:
        """All parameters of all stages in a stage-independent order (use this for optimizers)."""
        return iter(self._build_order)

    @property
    def fading(self) -> bool:
        """True while a new block is being faded in (``alpha < 1``).

        Kept as a Python flag, updated whenever ``alpha`` changes through the growth API or a loaded state
        dict, so that a forward pass never waits for the device to compare ``alpha`` (and compiles without
        graph breaks).
        """
        return self._fading

    def _sync_fading(self) -> None:
        self._fading = bool(self.alpha < 1)

    def increase_resolution(self) -> None:
        """Double ``image_size`` and start fading in the next block (``alpha = 0``)."""
        if self.fading:
            raise RuntimeError(
                f"the transition to {self.image_size} px has not ended (alpha={float(self.alpha)})"
            )
        if self.image_size * 2 > self.image_size_max:
            raise ValueError(f"cannot grow beyond the final resolution {self.image_size_max}")
        self.alpha = 0 * self.alpha
        self._fading = True
        self.n_layers += 1
        self.image_size *= 2

    def advance_transition(self, step: float | torch.Tensor) -> None:
        """Add ``step`` to ``alpha``; when it reaches 1 the faded-in block becomes part of the trunk."""
        self.alpha += step
        self._sync_fading()
        if not self.fading:
            self._merge_new_block()

    def set_resolution(self, res: int, alpha: float | torch.Tensor = 1.0) -> None:
        """Grow to resolution ``res``; the last step is left at fade-in ``alpha`` (1 = finished)."""
        res = int(res)
        ratio = res / self.image_size
        if res < self.image_size or res > self.image_size_max or not math.log2(ratio).is_integer():
            raise ValueError(
                f"resolution {res} is not reachable from {self.image_size} by doubling "
                f"(final resolution {self.image_size_max})"
            )
        while self.image_size < res:
            self.increase_resolution()
            self.advance_transition(alpha if self.image_size == res else 1.0)

    @abstractmethod
    def _merge_new_block(self) -> None:
        """Make the faded-in block permanent once alpha reaches 1 (keys shift as in the original)."""

    def saved_attrs(self) -> dict[str, Any]:
        """The original's ``Generator_attrs`` / ``Discriminator_attrs`` dict, same names and order."""
        attrs: dict[str, Any] = {
            "LeakyReLU_neg_slope": self.leaky_slope,
            "N_colors": self.n_colors,
            "N_features_per_layer": list(self.n_features),
            "N_layers": self.n_layers,
            "N_layers_max": self.n_layers_max,
            "image_size": self.image_size,
            "image_size_init": self.image_size_init,
            "image_size_max": self.image_size_max,
        }
        if hasattr(self, "latent_dim"):
            attrs["latent_dim"] = self.latent_dim
        attrs["training"] = self.training
        attrs["alpha"] = self.alpha.detach().clone()
        return attrs
