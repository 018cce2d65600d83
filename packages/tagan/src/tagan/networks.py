"""The networks of TA-GAN: ResNet generators (G and the task network S), U-Net generators and PatchGAN
discriminators (D).

Module structure, ``nn.Sequential`` indices, bias rules, norm layers and dropout placement are exactly
those of the original code (FLClab/TA-GAN, a fork of junyanz/pytorch-CycleGAN-and-pix2pix), so the
original ``{epoch}_net_{G,S,D}.pth`` files load with a strict ``load_state_dict`` and the forward passes
consume the torch RNG (dropout) in the same order. Images are ``(N, C, H, W)`` tensors in [-1, 1]; every
generator and segmenter ends with ``tanh``, so outputs are in [-1, 1] too.

``define_G`` / ``define_S`` / ``define_D`` build a network from the option names (``netG``, ``netS``,
``netD``, ``norm``, ...) and initialise it as the original does; ``build_network`` picks them per model.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from insilico_core.nn import UNetSkipConnectionBlock, pix2pix_resnet_block
from torch import nn

NormFactory = Callable[[int], nn.Module]

# --netG / --netS architectures: a ResNet by its residual blocks, a U-Net by its stride-2 levels
RESNET_BLOCKS = {"resnet_9blocks": 9, "resnet_6blocks": 6}
UNET_DOWNSAMPLINGS = {"unet_32": 5, "unet_128": 7, "unet_256": 8}
GENERATOR_NAMES = ("resnet_9blocks", "resnet_6blocks", "unet_256", "unet_128")
SEGMENTER_NAMES = ("unet_32", "unet_128", "resnet_6blocks")
DISCRIMINATOR_NAMES = ("basic", "n_layers", "pixel")
NORM_NAMES = ("batch", "instance", "none")
INIT_NAMES = ("normal", "xavier", "kaiming", "orthogonal")


def norm_layer_factory(norm: str) -> tuple[NormFactory, bool]:
    """The norm layer for ``--norm`` and whether the convolutions before it carry a bias.

    batch: ``BatchNorm2d`` (affine, running statistics); instance: ``InstanceNorm2d`` (no affine, no running
    statistics); none: identity. As in the original, convolutions have a bias only with instance norm (so not
    with ``none`` either).
    """
    if norm == "batch":
        return (lambda channels: nn.BatchNorm2d(channels, affine=True, track_running_stats=True)), False
    if norm == "instance":
        return (lambda channels: nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)), True
    if norm == "none":
        return (lambda channels: nn.Identity()), False
    raise ValueError(f"--norm {norm!r} is not a normalisation layer; expected one of {', '.join(NORM_NAMES)}")


class ResnetGenerator(nn.Module):
    """Johnson-style ResNet image-to-image network, used for G and (``segmentor=True``) for S.

    7x7 conv, two stride-2 downsamplings (ngf -> 4 ngf), ``n_blocks`` residual blocks, two transposed-conv
    upsamplings, 7x7 conv to ``output_nc`` channels, tanh. The residual blocks are the core pix2pix blocks
    (keys ``conv_block.{i}``); generator blocks always hold a Dropout entry (p = 0.5 with dropout, else 0),
    segmenter blocks none, which shifts the index of the second convolution, as the checkpoints record.
    Input ``(N, input_nc, H, W)`` with H, W multiples of 4; output ``(N, output_nc, H, W)`` in [-1, 1].
    """

    def __init__(
        self,
        input_nc: int,
        output_nc: int,
        ngf: int = 64,
        norm_layer: NormFactory | None = None,
        use_bias: bool = False,
        use_dropout: bool = False,
        n_blocks: int = 6,
        segmentor: bool = False,
    ):
        super().__init__()
        if n_blocks < 0:
            raise ValueError(f"n_blocks must be >= 0, got {n_blocks}")
        norm_layer = norm_layer or norm_layer_factory("batch")[0]
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(input_nc, ngf, kernel_size=7, padding=0, bias=use_bias),
            norm_layer(ngf),
            nn.ReLU(True),
        ]
        for i in range(2):
            channels = ngf * 2**i
            layers += [
                nn.Conv2d(channels, channels * 2, kernel_size=3, stride=2, padding=1, bias=use_bias),
                norm_layer(channels * 2),
                nn.ReLU(True),
            ]
        block_dropout = None if segmentor else (0.5 if use_dropout else 0.0)
        layers += [
            pix2pix_resnet_block(ngf * 4, "reflect", norm_layer, use_bias, block_dropout)
            for _ in range(n_blocks)
        ]
        for i in range(2):
            channels = ngf * 2 ** (2 - i)
            layers += [
                nn.ConvTranspose2d(
                    channels,
                    channels // 2,
                    kernel_size=3,
                    stride=2,
                    padding=1,
                    output_padding=1,
                    bias=use_bias,
                ),
                norm_layer(channels // 2),
                nn.ReLU(True),
            ]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, kernel_size=7, padding=0), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class UnetGenerator(nn.Module):
    """U-Net with ``num_downs`` stride-2 levels (unet_128: 7, unet_256: 8) of the core pix2pix skip block
    (keys ``model.model.1.model.3...``); H and W must be divisible by ``2**num_downs``. Output
    ``(N, output_nc, H, W)`` in [-1, 1].

    The original's first LeakyReLU of each level works in place, so the skip half it concatenates is
    LeakyReLU(x); the core block keeps x, which changes no value or gradient (the concatenation feeds the
    parent level's ReLU and ``relu(leaky_relu(x)) == relu(x)``), so the released weights give the same
    outputs."""

    def __init__(
        self,
        input_nc: int,
        output_nc: int,
        num_downs: int,
        ngf: int = 64,
        norm_layer: NormFactory | None = None,
        use_bias: bool = False,
        use_dropout: bool = False,
    ):
        super().__init__()
        if num_downs < 5:
            raise ValueError(f"a U-Net needs at least 5 downsamplings, got num_downs={num_downs}")
        norm_layer = norm_layer or norm_layer_factory("batch")[0]
        common = {"norm_layer": norm_layer, "use_bias": use_bias}
        block = UNetSkipConnectionBlock(ngf * 8, ngf * 8, innermost=True, **common)
        for _ in range(num_downs - 5):
            block = UNetSkipConnectionBlock(
                ngf * 8, ngf * 8, submodule=block, use_dropout=use_dropout, **common
            )
        block = UNetSkipConnectionBlock(ngf * 4, ngf * 8, submodule=block, **common)
        block = UNetSkipConnectionBlock(ngf * 2, ngf * 4, submodule=block, **common)
        block = UNetSkipConnectionBlock(ngf, ngf * 2, submodule=block, **common)
        self.model = UNetSkipConnectionBlock(
            output_nc, ngf, input_nc=input_nc, submodule=block, outermost=True, **common
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class NLayerDiscriminator(nn.Module):
    """PatchGAN discriminator: Conv4x4 s2 (bias) + LeakyReLU, ``n_layers - 1`` further stride-2 levels, one
    stride-1 level, and a 1-channel stride-1 conv giving patch logits (128x128 input -> 14x14 with n=3)."""

    def __init__(
        self,
        input_nc: int,
        ndf: int = 64,
        n_layers: int = 3,
        norm_layer: NormFactory | None = None,
        use_bias: bool = False,
    ):
        super().__init__()
        norm_layer = norm_layer or norm_layer_factory("batch")[0]
        layers: list[nn.Module] = [
            nn.Conv2d(input_nc, ndf, kernel_size=4, stride=2, padding=1),
            nn.LeakyReLU(0.2, True),
        ]
        mult = 1
        for n in range(1, n_layers):
            previous, mult = mult, min(2**n, 8)
            layers += [
                nn.Conv2d(ndf * previous, ndf * mult, kernel_size=4, stride=2, padding=1, bias=use_bias),
                norm_layer(ndf * mult),
                nn.LeakyReLU(0.2, True),
            ]
        previous, mult = mult, min(2**n_layers, 8)
        layers += [
            nn.Conv2d(ndf * previous, ndf * mult, kernel_size=4, stride=1, padding=1, bias=use_bias),
            norm_layer(ndf * mult),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf * mult, 1, kernel_size=4, stride=1, padding=1),
        ]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class PixelDiscriminator(nn.Module):
    """1x1 PatchGAN ("pixelGAN"): one logit per pixel; ``net`` = 1x1 convs input_nc -> ndf -> 2 ndf -> 1."""

    def __init__(
        self, input_nc: int, ndf: int = 64, norm_layer: NormFactory | None = None, use_bias: bool = False
    ):
        super().__init__()
        norm_layer = norm_layer or norm_layer_factory("batch")[0]
        self.net = nn.Sequential(
            nn.Conv2d(input_nc, ndf, kernel_size=1),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf, ndf * 2, kernel_size=1, bias=use_bias),
            norm_layer(ndf * 2),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf * 2, 1, kernel_size=1, bias=use_bias),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def init_weights(net: nn.Module, init_type: str = "normal", init_gain: float = 0.02) -> None:
    """Initialise as the original: conv / linear weights N(0, gain) (or xavier / kaiming / orthogonal), biases
    0; BatchNorm2d weights N(1, gain), biases 0. Modules are visited in ``nn.Module.apply`` order (children
    before parents), so the draws from the torch RNG come in the original order."""
    if init_type not in INIT_NAMES:
        raise ValueError(f"--init_type {init_type!r} is unknown; expected one of {', '.join(INIT_NAMES)}")

    def initialise(module: nn.Module) -> None:
        classname = type(module).__name__
        weight = getattr(module, "weight", None)
        if weight is not None and ("Conv" in classname or "Linear" in classname):
            if init_type == "normal":
                nn.init.normal_(weight.data, 0.0, init_gain)
            elif init_type == "xavier":
                nn.init.xavier_normal_(weight.data, gain=init_gain)
            elif init_type == "kaiming":
                nn.init.kaiming_normal_(weight.data, a=0, mode="fan_in")
            else:
                nn.init.orthogonal_(weight.data, gain=init_gain)
            if getattr(module, "bias", None) is not None:
                nn.init.constant_(module.bias.data, 0.0)
        elif "BatchNorm2d" in classname:
            nn.init.normal_(module.weight.data, 1.0, init_gain)
            nn.init.constant_(module.bias.data, 0.0)

    net.apply(initialise)


def image_network(
    architecture: str,
    input_nc: int,
    output_nc: int,
    filters: int,
    norm_layer: NormFactory,
    use_bias: bool,
    use_dropout: bool,
    segmentor: bool,
) -> nn.Module:
    """The ResNet (``RESNET_BLOCKS``) or U-Net (``UNET_DOWNSAMPLINGS``) named ``architecture``, not yet
    initialised; ``segmentor`` builds ResNet blocks without a dropout entry (the task network's layout)."""
    if architecture in RESNET_BLOCKS:
        n_blocks = RESNET_BLOCKS[architecture]
        return ResnetGenerator(
            input_nc, output_nc, filters, norm_layer, use_bias, use_dropout, n_blocks, segmentor
        )
    num_downs = UNET_DOWNSAMPLINGS[architecture]
    return UnetGenerator(input_nc, output_nc, num_downs, filters, norm_layer, use_bias, use_dropout)


def define_G(
    input_nc: int,
    output_nc: int,
    ngf: int,
    netG: str,
    norm: str = "batch",
    use_dropout: bool = False,
    init_type: str = "normal",
    init_gain: float = 0.02,
) -> nn.Module:
    """Generator for ``--netG`` (resnet_9blocks | resnet_6blocks | unet_256 | unet_128), initialised."""
    norm_layer, use_bias = norm_layer_factory(norm)
    if netG not in GENERATOR_NAMES:
        raise ValueError(f"--netG {netG!r} is not a generator; expected one of {', '.join(GENERATOR_NAMES)}")
    net = image_network(netG, input_nc, output_nc, ngf, norm_layer, use_bias, use_dropout, segmentor=False)
    init_weights(net, init_type, init_gain)
    return net


def define_S(
    input_nc: int,
    output_nc: int,
    nsf: int,
    netS: str,
    norm: str = "batch",
    init_type: str = "normal",
    init_gain: float = 0.02,
) -> nn.Module:
    """Task (segmentation) network for ``--netS`` (unet_32 | unet_128 | resnet_6blocks), never with dropout;
    every TA-GAN model passes ``--ngf`` as ``nsf``."""
    norm_layer, use_bias = norm_layer_factory(norm)
    if netS not in SEGMENTER_NAMES:
        raise ValueError(f"--netS {netS!r} is not a segmenter; expected one of {', '.join(SEGMENTER_NAMES)}")
    net = image_network(netS, input_nc, output_nc, nsf, norm_layer, use_bias, False, segmentor=True)
    init_weights(net, init_type, init_gain)
    return net


def define_D(
    input_nc: int,
    ndf: int,
    netD: str,
    n_layers_D: int = 3,
    norm: str = "batch",
    init_type: str = "normal",
    init_gain: float = 0.02,
) -> nn.Module:
    """Discriminator for ``--netD`` (basic = 3-layer PatchGAN | n_layers | pixel), initialised."""
    norm_layer, use_bias = norm_layer_factory(norm)
    if netD == "basic":
        net: nn.Module = NLayerDiscriminator(input_nc, ndf, 3, norm_layer, use_bias)
    elif netD == "n_layers":
        net = NLayerDiscriminator(input_nc, ndf, n_layers_D, norm_layer, use_bias)
    elif netD == "pixel":
        net = PixelDiscriminator(input_nc, ndf, norm_layer, use_bias)
    else:
        raise ValueError(
            f"--netD {netD!r} is not a discriminator; expected one of {', '.join(DISCRIMINATOR_NAMES)}"
        )
    init_weights(net, init_type, init_gain)
    return net
