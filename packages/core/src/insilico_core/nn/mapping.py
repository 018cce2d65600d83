"""StyleGAN2/3 mapping network: ``z`` (and label ``c``) -> intermediate latents ``w``.

Keys as stylegan2-ada / stylegan3 ``MappingNetwork``: ``embed.{weight,bias}`` (when ``c_dim > 0``),
``fc{i}.{weight,bias}``, buffer ``w_avg``. stylegan3's mapping is this with ``num_layers=2``.
Multi-StyleGAN's mapping (PixelNorm + 8 x [EqualizedLinear, FusedLeakyReLU] in a Sequential, no w_avg)
is built from :class:`PixelNorm` and :class:`EqualizedLinear` in its package instead.
"""

from __future__ import annotations

import torch
from torch import nn

from insilico_core.nn.equalized import EqualizedLinear
from insilico_core.nn.normalization import normalize_2nd_moment


class MappingNetwork(nn.Module):
    """Normalise ``z`` (and the embedded label), run ``num_layers`` equalized FC layers, track ``w_avg``.

    Args:
        z_dim: latent width (0 = no latent, label only).
        c_dim: label width (0 = unconditional).
        w_dim: output width.
        num_ws: number of copies of ``w`` to output (``[N, num_ws, w_dim]``); None = ``[N, w_dim]``.
        num_layers: FC layers (8 in StyleGAN2, 2 in StyleGAN3).
        embed_features: label embedding width; None = ``w_dim``.
        layer_features: hidden width; None = ``w_dim``.
        activation: activation of every FC layer.
        lr_multiplier: learning-rate multiplier of the FC layers (the embedding uses 1).
        w_avg_beta: decay of the running mean of ``w`` (buffer ``w_avg``, used for truncation);
            None = no tracking, no buffer.
    """

    def __init__(
        self,
        z_dim: int,
        c_dim: int,
        w_dim: int,
        num_ws: int | None,
        num_layers: int = 8,
        embed_features: int | None = None,
        layer_features: int | None = None,
        activation: str = "lrelu",
        lr_multiplier: float = 0.01,
        w_avg_beta: float | None = 0.998,
    ) -> None:
        super().__init__()
        if z_dim <= 0 and c_dim <= 0:
            raise ValueError("MappingNetwork needs z_dim > 0 or c_dim > 0")
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}")
        self.z_dim = z_dim
        self.c_dim = c_dim
        self.w_dim = w_dim
        self.num_ws = num_ws
        self.num_layers = num_layers
        self.w_avg_beta = w_avg_beta
        if embed_features is None:
            embed_features = w_dim
        if c_dim == 0:
            embed_features = 0
        if layer_features is None:
            layer_features = w_dim
        features = [z_dim + embed_features] + [layer_features] * (num_layers - 1) + [w_dim]
        if c_dim > 0:
            self.embed = EqualizedLinear(c_dim, embed_features)
        for idx in range(num_layers):
            layer = EqualizedLinear(
                features[idx], features[idx + 1], activation=activation, lr_multiplier=lr_multiplier
            )
            setattr(self, f"fc{idx}", layer)
        if num_ws is not None and w_avg_beta is not None:
            self.register_buffer("w_avg", torch.zeros([w_dim]))

    def forward(
        self,
        z: torch.Tensor | None,
        c: torch.Tensor | None = None,
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
        update_emas: bool = False,
    ) -> torch.Tensor:
        """Map latents to ``w``.

        Args:
            z: ``[N, z_dim]`` standard-normal latents (ignored when ``z_dim == 0``).
            c: ``[N, c_dim]`` labels (required when ``c_dim > 0``).
            truncation_psi: ``w <- w_avg + psi * (w - w_avg)``; 1 = off, 0 = ``w_avg``.
            truncation_cutoff: truncate only the first this many ``ws``; None = all.
            update_emas: update ``w_avg <- lerp(mean_batch(w), w_avg, w_avg_beta)`` (training).

        Returns:
            ``[N, num_ws, w_dim]`` (or ``[N, w_dim]`` when ``num_ws`` is None).
        """
        x = None
        if self.z_dim > 0:
            if z is None or z.ndim != 2 or z.shape[1] != self.z_dim:
                raise ValueError(f"z must be [N, {self.z_dim}], got {None if z is None else tuple(z.shape)}")
            x = normalize_2nd_moment(z.to(torch.float32))
        if self.c_dim > 0:
            if c is None or c.ndim != 2 or c.shape[1] != self.c_dim:
                raise ValueError(f"c must be [N, {self.c_dim}], got {None if c is None else tuple(c.shape)}")
            y = normalize_2nd_moment(self.embed(c.to(torch.float32)))
            x = torch.cat([x, y], dim=1) if x is not None else y

        for idx in range(self.num_layers):
            x = getattr(self, f"fc{idx}")(x)

        if update_emas and self.w_avg_beta is not None and hasattr(self, "w_avg"):
            # w_avg stays float32 when autocast makes the layers' outputs bfloat16 / float16
            self.w_avg.copy_(x.detach().to(self.w_avg.dtype).mean(dim=0).lerp(self.w_avg, self.w_avg_beta))

        if self.num_ws is not None:
            x = x.unsqueeze(1).repeat([1, self.num_ws, 1])

        if truncation_psi != 1:
            if not hasattr(self, "w_avg"):
                raise ValueError("truncation needs w_avg: build MappingNetwork with num_ws and w_avg_beta")
            w_avg = self.w_avg.to(x.dtype)
            if self.num_ws is None or truncation_cutoff is None:
                x = w_avg.lerp(x, truncation_psi)
            else:
                head = w_avg.lerp(x[:, :truncation_cutoff], truncation_psi)
                x = torch.cat([head, x[:, truncation_cutoff:]], dim=1)
        return x

    def extra_repr(self) -> str:
        return f"z_dim={self.z_dim}, c_dim={self.c_dim}, w_dim={self.w_dim}, num_ws={self.num_ws}"
