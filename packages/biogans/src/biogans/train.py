"""Training of BioGANs models (``--mode train``)."""

from __future__ import annotations

from .train_step import critic_steps, latent_noise, train_iteration

__all__ = ["critic_steps", "latent_noise", "train_iteration"]
