"""The conditional generator both StyleGAN families share: ``G(z, c) = synthesis(mapping(z, c))``.

stylegan3's ``networks_stylegan2.Generator`` and ``networks_stylegan3.Generator`` are the same wrapper around
different networks: a mapping network (z and the embedded label ``c`` -> ``num_ws`` copies of w, with w
tracking and truncation) and a synthesis network (ws -> image). :class:`ConditionalGenerator` is that wrapper
once; :class:`mssg.networks.stylegan2.Generator` and :class:`mssg.networks.stylegan3.Generator` name the two
networks (and StyleGAN3's 2-layer mapping default).

The subclasses build their networks in methods, not through class attributes holding the network classes:
a method looks the class up in its module when the generator is built, so a module whose classes were
re-bound after import (stylegan's ``@persistence.persistent_class`` wraps every network class, and a
snapshot pickles the wrapped ones) builds the wrapped classes. A class attribute would keep the class
object from import time and the snapshot could not be pickled.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import torch
from torch import nn


def check_ws(ws: torch.Tensor, num_ws: int, w_dim: int) -> None:
    """Raise ValueError unless ``ws`` is ``[N, num_ws, w_dim]``, the input every synthesis network takes."""
    if ws.ndim != 3 or ws.shape[1] != num_ws or ws.shape[2] != w_dim:
        raise ValueError(f"ws must be [N, {num_ws}, {w_dim}], got {tuple(ws.shape)}")


class ConditionalGenerator(nn.Module, ABC):
    """Conditional StyleGAN generator: ``G(z [N, z_dim], c [N, c_dim]) -> img [N, img_channels, R, R]``.

    Args (stock names and order, which snapshots record): z_dim, c_dim, w_dim, img_resolution,
    img_channels, mapping_kwargs (for the mapping network, e.g. ``num_layers``, ``lr_multiplier``), and the
    remaining keyword arguments for the synthesis network. ``init_kwargs`` keeps them all, as given, for
    :func:`mssg.checkpoint.save_snapshot`.

    Attributes: ``synthesis`` (built first, it decides ``num_ws``), ``mapping``, ``num_ws``.
    """

    def __init__(
        self,
        z_dim: int,
        c_dim: int,
        w_dim: int,
        img_resolution: int,
        img_channels: int,
        mapping_kwargs: dict | None = None,
        **synthesis_kwargs,
    ) -> None:
        super().__init__()
        self.init_kwargs = dict(
            z_dim=z_dim,
            c_dim=c_dim,
            w_dim=w_dim,
            img_resolution=img_resolution,
            img_channels=img_channels,
            mapping_kwargs=dict(mapping_kwargs or {}),
            **synthesis_kwargs,
        )  # what a snapshot records to rebuild this network
        self.z_dim = z_dim
        self.c_dim = c_dim
        self.w_dim = w_dim
        self.img_resolution = img_resolution
        self.img_channels = img_channels
        self.synthesis = self.build_synthesis(
            w_dim=w_dim, img_resolution=img_resolution, img_channels=img_channels, **synthesis_kwargs
        )
        self.num_ws = self.synthesis.num_ws
        self.mapping = self.build_mapping(
            z_dim=z_dim, c_dim=c_dim, w_dim=w_dim, num_ws=self.num_ws, **(mapping_kwargs or {})
        )

    @abstractmethod
    def build_synthesis(self, **kwargs: Any) -> nn.Module:
        """The synthesis network for ``w_dim``, ``img_resolution``, ``img_channels`` and the synthesis
        kwargs; it must expose ``num_ws`` and map ``ws [N, num_ws, w_dim]`` to images."""

    @abstractmethod
    def build_mapping(self, **kwargs: Any) -> nn.Module:
        """The mapping network for ``z_dim``, ``c_dim``, ``w_dim``, ``num_ws`` and the ``mapping_kwargs``
        the caller gave (defaults of the family filled in here)."""

    def forward(
        self,
        z: torch.Tensor,
        c: torch.Tensor | None,
        truncation_psi: float = 1,
        truncation_cutoff: int | None = None,
        update_emas: bool = False,
        **synthesis_kwargs,
    ) -> torch.Tensor:
        """``z [N, z_dim]`` ~ N(0, 1), ``c [N, c_dim]`` -> ``[N, img_channels, R, R]`` (nominal range
        [-1, 1]); ``synthesis_kwargs`` (``noise_mode``, ``fused_modconv``, ``force_fp32``) pass to the
        synthesis network."""
        ws = self.mapping(
            z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff, update_emas=update_emas
        )
        return self.synthesis(ws, update_emas=update_emas, **synthesis_kwargs)
