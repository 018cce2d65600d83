"""What every TA-GAN model shares: building its networks, optimisers and schedulers, train / eval mode,
saving and loading the original checkpoint files, losses and visuals for logging.

A model subclass declares ``model_name``, ``loss_names``, ``visual_names``, the networks it builds
(``network_names``) and how (``define_network``), its option defaults (``option_defaults``, and
``train_option_defaults`` on top of them when training) and the flags it adds (``add_model_options``), and
implements ``set_input``, ``forward`` and ``optimize_parameters``. Networks live in ``self.nets``
(name -> module, e.g. ``'G'``, ``'S'``, ``'D'``); losses in ``self.losses``; visuals in ``self.visuals``.
"""

from __future__ import annotations

import argparse
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import torch
from insilico_core.train import autocast
from torch import nn

from tagan.checkpoints import checkpoint_path, load_network_weights, save_network
from tagan.losses import build_scheduler
from tagan.networks import define_D, define_G

# training defaults of the pix2pix-style models (TA-GAN variants, TAGAN_live, pix2pix, segmentation):
# no buffer of generated images, binary cross-entropy GAN loss
PIX2PIX_TRAINING_DEFAULTS = {"pool_size": 0, "gan_mode": "vanilla"}


def add_task_loss_weights(
    parser: argparse.ArgumentParser, lambda_GAN: float, lambda_seg: float
) -> argparse.ArgumentParser:
    """Add ``--lambda_GAN`` (weight of the adversarial loss) and ``--lambda_seg`` (weight of the task
    network's segmentation loss) with a model's defaults (kept as the original writes them, int or float)."""
    parser.add_argument("--lambda_GAN", type=float, default=lambda_GAN, help="weight of the GAN loss")
    parser.add_argument(
        "--lambda_seg", type=float, default=lambda_seg, help="weight of the segmentation loss"
    )
    return parser


def binarize_rings_and_fibers(
    segmentation: torch.Tensor, ring_threshold: float, fiber_threshold: float
) -> torch.Tensor:
    """Threshold a rings / fibers segmentation ``(N, 2, H, W)`` in place: channel 0 becomes 1.0 where above
    ``ring_threshold`` (else 0.0), channel 1 where above ``fiber_threshold``. Returns the same tensor."""
    segmentation[:, 0] = (segmentation[:, 0] > ring_threshold).float()
    segmentation[:, 1] = (segmentation[:, 1] > fiber_threshold).float()
    return segmentation


class BaseModel(ABC):
    model_name = "base"
    loss_names: tuple[str, ...] = ()
    visual_names: tuple[str, ...] = ()
    # the original modify_commandline_options as data: parser defaults in both phases, then training-only ones
    option_defaults: dict[str, object] = {}
    train_option_defaults: dict[str, object] = {}

    def __init__(self, opt: argparse.Namespace):
        self.opt = opt
        self.isTrain = opt.isTrain
        self.device = opt.device
        self.save_dir = Path(opt.checkpoints_dir) / opt.name
        self.nets: OrderedDict[str, nn.Module] = OrderedDict()
        self.optimizers: list[torch.optim.Optimizer] = []
        self.schedulers: list = []
        self.losses: dict[str, torch.Tensor | float] = {}
        self.visuals: OrderedDict[str, torch.Tensor] = OrderedDict()
        self.image_paths: list[str] = []
        self.metric = 0.0
        for name in self.network_names(self.isTrain):
            net = self.define_network(opt, name).to(self.device)
            if opt.channels_last:
                net = net.to(memory_format=torch.channels_last)
            if len(opt.gpu_ids) > 1:
                net = nn.DataParallel(net, opt.gpu_ids)
            self.nets[name] = net

    # --- declared by each model -------------------------------------------------------------------------
    @classmethod
    def modify_commandline_options(
        cls, parser: argparse.ArgumentParser, is_train: bool
    ) -> argparse.ArgumentParser:
        """Set this model's option defaults (training ones on top when ``is_train``) and add its flags."""
        parser.set_defaults(**cls.option_defaults)
        if is_train:
            parser.set_defaults(**cls.train_option_defaults)
        cls.add_model_options(parser, is_train)
        return parser

    @classmethod
    def add_model_options(cls, parser: argparse.ArgumentParser, is_train: bool) -> None:
        """Add the flags of this model (none unless a model declares some)."""
        return None

    @classmethod
    @abstractmethod
    def network_names(cls, is_train: bool) -> list[str]:
        """Networks built (in this order, which fixes the RNG draws of their initialisation) and saved."""

    @classmethod
    @abstractmethod
    def define_network(cls, opt: argparse.Namespace, name: str) -> nn.Module:
        """The network called ``name`` (e.g. ``"G"``, ``"S"``, ``"D"``) with this model's options."""

    @abstractmethod
    def set_input(self, data: dict) -> None:
        """Take one batch from the data loader (tensors moved to the model's device)."""

    @abstractmethod
    def forward(self) -> None:
        """Run the generator(s) on the current input."""

    @abstractmethod
    def optimize_parameters(self) -> None:
        """One training step of every network, in the original's order."""

    # --- network builders and update steps the models share ----------------------------------------------
    @staticmethod
    def generator(opt: argparse.Namespace, input_nc: int, output_nc: int, use_dropout: bool) -> nn.Module:
        """``define_G`` with the options' ``ngf``, ``netG``, ``norm`` and initialisation."""
        return define_G(
            input_nc, output_nc, opt.ngf, opt.netG, opt.norm, use_dropout, opt.init_type, opt.init_gain
        )

    @staticmethod
    def discriminator(opt: argparse.Namespace, input_nc: int) -> nn.Module:
        """``define_D`` with the options' ``ndf``, ``netD``, ``n_layers_D``, ``norm`` and initialisation."""
        return define_D(input_nc, opt.ndf, opt.netD, opt.n_layers_D, opt.norm, opt.init_type, opt.init_gain)

    def conditional_discriminator_loss(
        self, condition: torch.Tensor, real: torch.Tensor, fake: torch.Tensor, weight: float = 1.0
    ) -> torch.Tensor:
        """pix2pix loss of ``nets['D']``, which judges ``cat(condition, image)``: logs ``D_fake`` and
        ``D_real`` (each times ``weight``) and returns their mean. ``fake`` is detached (no gradient to G)."""
        D = self.nets["D"]
        with self.autocast():
            fake_logits = D(torch.cat((condition, fake.detach()), 1))
            real_logits = D(torch.cat((condition, real), 1))
        self.losses["D_fake"] = self.criterionGAN(fake_logits.float(), False) * weight
        self.losses["D_real"] = self.criterionGAN(real_logits.float(), True) * weight
        return (self.losses["D_fake"] + self.losses["D_real"]) * 0.5

    def conditional_adversarial_loss(self, condition: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        """G's pix2pix adversarial term: ``nets['D']`` should call ``cat(condition, image)`` real."""
        with self.autocast():
            logits = self.nets["D"](torch.cat((condition, image), 1))
        return self.criterionGAN(logits.float(), True)

    def discriminator_pair_loss(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """CycleGAN loss of one unconditional discriminator: mean of real -> True, detached fake -> False."""
        with self.autocast():
            real_logits = D(real)
            fake_logits = D(fake.detach())
        return (
            self.criterionGAN(real_logits.float(), True) + self.criterionGAN(fake_logits.float(), False)
        ) * 0.5

    @staticmethod
    def descend(optimizer: torch.optim.Optimizer, loss: Callable[[], torch.Tensor]) -> None:
        """One step of ``optimizer``: zero its gradients, backpropagate ``loss()``, update."""
        optimizer.zero_grad()
        loss().backward()
        optimizer.step()

    def update_discriminator_then_generator(self) -> None:
        """pix2pix step: forward, one Adam step of D on ``discriminator_loss``, then (D frozen) one of G on
        ``generator_loss``."""
        self.forward()
        D = self.nets["D"]
        self.set_requires_grad(D, True)
        self.descend(self.optimizer_D, self.discriminator_loss)
        self.set_requires_grad(D, False)
        self.descend(self.optimizer_G, self.generator_loss)

    def update_generators_then_discriminators(self, discriminators: list[nn.Module]) -> None:
        """CycleGAN step: forward, one Adam step of both generators (``discriminators`` frozen) on
        ``generator_loss``, then one of the discriminators on ``discriminator_loss``."""
        self.forward()
        self.set_requires_grad(discriminators, False)
        self.descend(self.optimizer_G, self.generator_loss)
        self.set_requires_grad(discriminators, True)
        self.descend(self.optimizer_D, self.discriminator_loss)

    # --- shared behaviour -------------------------------------------------------------------------------
    @classmethod
    def check_network_name(cls, name: str, is_train: bool = True) -> None:
        names = cls.network_names(is_train)
        if name not in names:
            raise ValueError(
                f"model {cls.model_name} has no network {name!r}; expected one of {', '.join(names)}"
            )

    def adam(self, *nets: nn.Module) -> torch.optim.Adam:
        """Adam(lr, betas=(beta1, 0.999)) over the parameters of ``nets``, registered for the schedulers."""
        parameters = [p for net in nets for p in net.parameters()]
        optimizer = torch.optim.Adam(parameters, lr=self.opt.lr, betas=(self.opt.beta1, 0.999))
        self.optimizers.append(optimizer)
        return optimizer

    def oriented(self, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(a, b)`` as the models' (A, B) images, swapped with ``--direction BtoA``."""
        return (b, a) if self.opt.direction == "BtoA" else (a, b)

    def to_device(self, tensor: torch.Tensor) -> torch.Tensor:
        tensor = tensor.to(self.device)
        if self.opt.channels_last and tensor.dim() == 4:
            tensor = tensor.contiguous(memory_format=torch.channels_last)
        return tensor

    def autocast(self):
        """Autocast context for ``--precision`` (fp32: none; bf16 on CPU / CUDA; fp16 on CUDA)."""
        return autocast(self.device, self.opt.precision)

    def setup(self) -> None:
        """Create the schedulers (training) and load checkpoints (test, or training with --continue_train)."""
        if self.isTrain:
            self.schedulers = [build_scheduler(optimizer, self.opt) for optimizer in self.optimizers]
        if not self.isTrain or self.opt.continue_train:
            self.load_networks(self.load_prefix())
        self.print_networks(self.opt.verbose)

    def load_prefix(self) -> str:
        return f"iter_{self.opt.load_iter}" if self.opt.load_iter > 0 else str(self.opt.epoch)

    def unwrapped(self, name: str) -> nn.Module:
        net = self.nets[name]
        return net.module if isinstance(net, nn.DataParallel) else net

    def networks_to_load(self) -> list[str]:
        """With ``--epoch pretrained`` only the task network is loaded (TAGAN_live fine-tuning recipe)."""
        names = list(self.nets)
        if self.opt.epoch == "pretrained":
            names = [name for name in names if "G" not in name and "D" not in name]
        return names

    def load_networks(self, prefix: str) -> None:
        for name in self.networks_to_load():
            path = checkpoint_path(self.save_dir, prefix, name)
            print(f"loading the model from {path}")
            load_network_weights(self.unwrapped(name), path, map_location=self.device)

    def save_networks(self, prefix: str | int) -> list[Path]:
        """Write ``<prefix>_net_<name>.pth`` for every network (bare CPU state dicts, atomic)."""
        return [
            save_network(self.unwrapped(name), checkpoint_path(self.save_dir, prefix, name))
            for name in self.nets
        ]

    def print_networks(self, verbose: bool) -> None:
        print("---------- Networks initialized -------------")
        for name, net in self.nets.items():
            if verbose:
                print(net)
            count = sum(p.numel() for p in net.parameters())
            print(f"[Network {name}] Total number of parameters : {count / 1e6:.3f} M")
        print("-----------------------------------------------")

    def eval(self) -> None:
        """Eval mode for every network (test ``--eval``): BatchNorm running statistics, no dropout."""
        for net in self.nets.values():
            net.eval()

    def train(self) -> None:
        for net in self.nets.values():
            net.train()

    def test(self) -> None:
        """Forward without gradients (test time)."""
        with torch.no_grad():
            self.forward()

    def set_requires_grad(self, nets: nn.Module | list[nn.Module], requires_grad: bool) -> None:
        for net in nets if isinstance(nets, list) else [nets]:
            for parameter in net.parameters():
                parameter.requires_grad = requires_grad

    def update_learning_rate(self) -> float:
        for scheduler in self.schedulers:
            if self.opt.lr_policy == "plateau":
                scheduler.step(self.metric)
            else:
                scheduler.step()
        return self.optimizers[0].param_groups[0]["lr"]

    def get_current_losses(self) -> OrderedDict[str, float]:
        return OrderedDict(
            (name, float(torch.as_tensor(self.losses[name]).detach()))
            for name in self.loss_names
            if name in self.losses
        )

    def get_current_visuals(self) -> OrderedDict[str, torch.Tensor]:
        return OrderedDict((name, self.visuals[name]) for name in self.visual_names if name in self.visuals)

    def get_image_paths(self) -> list[str]:
        return self.image_paths

    def training_state(self) -> dict:
        """Optimiser and scheduler states, for exact resumption (our own ``*_train_state.pth`` file)."""
        return {
            "optimizers": [optimizer.state_dict() for optimizer in self.optimizers],
            "schedulers": [scheduler.state_dict() for scheduler in self.schedulers],
        }

    def load_training_state(self, state: dict) -> None:
        for optimizer, saved in zip(self.optimizers, state["optimizers"], strict=True):
            optimizer.load_state_dict(saved)
        for scheduler, saved in zip(self.schedulers, state["schedulers"], strict=True):
            scheduler.load_state_dict(saved)
