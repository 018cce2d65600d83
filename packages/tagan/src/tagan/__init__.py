"""TA-GAN (Bouchard et al., Nature Machine Intelligence 2023): task-assisted GANs for resolution enhancement
of optical nanoscopy images, re-implemented from FLClab/TA-GAN for current PyTorch.

Public API:
``build_network(model, net, **overrides)``: a network ('G', 'S', 'D', or 'G_F', ... for the cycle models)
with that model's default options;
``load_original_network(path, model, net, device='cpu')``: the same network loaded from an original
``{epoch}_net_{G,S,D}.pth`` file (legacy or zip), in eval mode;
``load_unet_dendrites(folder)``: the frozen UNet_Dendrites segmenter of TAGAN_cycle.
Console scripts: ``tagan-train``, ``tagan-test``, ``tagan-train-cycle``, ``tagan-combine-bottomtop``.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from tagan.checkpoints import load_network_weights
from tagan.unet_dendrites import load_unet_dendrites

__version__ = "0.1.0"
__all__ = ["build_network", "load_original_network", "load_unet_dendrites", "__version__"]


def build_network(model: str, net: str, **overrides) -> nn.Module:
    """Build network ``net`` of ``model`` as the original does with that model's default (training) options;
    ``overrides`` are option names (``ngf=32``, ``no_dropout=True``, ``input_nc=2``, ``netS='unet_128'``).

    E.g. ``build_network('TAGAN_AxonalRings', 'G')`` is the 9-block ResNet generator 1 -> 1 with BatchNorm and
    dropout 0.5; ``build_network('TAGAN_live', 'S')`` the unet_128 segmenter 1 -> 2.
    """
    from tagan.models import find_model_class
    from tagan.options import default_options

    model_class = find_model_class(model)
    model_class.check_network_name(net, is_train=True)
    return model_class.define_network(default_options(model, is_train=True, **overrides), net)


def load_original_network(
    path: str | Path, model: str, net: str, device: str | torch.device = "cpu", **overrides
) -> nn.Module:
    """Build ``net`` of ``model`` and load the original checkpoint ``path`` into it (strict keys; a
    ``module.`` prefix is stripped). Returned on ``device`` in eval mode."""
    network = build_network(model, net, **overrides)
    load_network_weights(network, path, map_location=device)
    return network.to(device).eval()
