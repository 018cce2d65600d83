"""The training loop of the original train.py / train_cycle.py, with exact resumption, a progress bar and
validation losses that are really computed.

Per epoch ``epoch_count .. niter + niter_decay``: one pass over the shuffled ``<dataroot>/<phase>`` data
(``optimize_parameters`` per batch); every ``print_freq`` samples the losses go to ``loss_log.txt`` (the
original format) and ``metrics.jsonl`` / ``metrics.csv``; every ``save_latest_freq`` samples ``latest`` (or
``iter_<n>``) checkpoints; every ``save_epoch_freq`` epochs ``<epoch>`` and ``latest``; the last batch's
visuals go to ``web/images/epoch<NNN>_<label>.tif`` with ``web/index.html``; the schedulers step.

Beside the network files, each save writes ``<prefix>_train_state.pth`` (optimisers, schedulers, epoch,
sample count, RNG states; our addition): ``--continue_train --epoch <prefix>`` then resumes exactly where
that save was made. Without the file it behaves as the original (networks only, from ``--epoch_count``).
"""

from __future__ import annotations

import argparse
import copy
import csv
import time
from pathlib import Path

import torch
from insilico_core.train import (
    MetricsLogger,
    atomic_save,
    capture_rng_state,
    load_checkpoint,
    progress,
    restore_rng_state,
    seed_everything,
    seeded_loader_kwargs,
)
from torch.utils.data import DataLoader

from tagan.data.datasets import create_dataset
from tagan.models import create_model
from tagan.outputs import HTMLPage, save_visuals


def make_loader(opt: argparse.Namespace, dataset, shuffle: bool) -> DataLoader:
    """DataLoader with the original batch size / workers; seeded when ``--seed`` is given."""
    extra = seeded_loader_kwargs(opt.seed) if opt.seed is not None else {}
    return DataLoader(
        dataset, batch_size=opt.batch_size, shuffle=shuffle, num_workers=opt.num_threads, **extra
    )


def validation_options(opt: argparse.Namespace, crop_size: int | None = None) -> argparse.Namespace:
    """The original validation options: phase ``valid``, centre crop, no flips, batch of ``batch_size``."""
    val = copy.copy(opt)
    val.phase, val.preprocess, val.no_flip = "valid", "center", True
    if crop_size is not None:
        val.crop_size, val.batch_size = crop_size, 1
    return val


def validation_losses(model, loader: DataLoader) -> dict[str, float]:
    """Mean losses over ``loader`` with the networks in eval mode and no updates (the original's train_cycle
    reported stale training losses here)."""
    model.eval()
    sums: dict[str, float] = {}
    count = 0
    with torch.no_grad():
        for data in loader:
            model.set_input(data)
            model.forward()
            model.compute_losses()
            for name, value in model.get_current_losses().items():
                sums[name] = sums.get(name, 0.0) + value
            count += 1
    model.train()
    return {name: total / max(count, 1) for name, total in sums.items()}


class LossLog:
    """``loss_log.txt`` in the original format plus metrics.jsonl / metrics.csv (insilico_core)."""

    def __init__(self, directory: Path):
        self.path = directory / "loss_log.txt"
        with self.path.open("a") as handle:
            handle.write(f"================ Training Loss ({time.strftime('%c')}) ================\n")
        self.metrics = MetricsLogger(directory, tensorboard=False)

    def log(self, epoch: int, epoch_iter: int, total_iters: int, losses: dict, t_comp: float, t_data: float):
        message = f"(epoch: {epoch}, iters: {epoch_iter}, time: {t_comp:.3f}, data: {t_data:.3f}) "
        message += "".join(f"{name}: {value:.3f} " for name, value in losses.items())
        with self.path.open("a") as handle:
            handle.write(message + "\n")
        self.metrics.log(total_iters, epoch=epoch, **losses)
        return message


def loader_generators(loader: DataLoader) -> dict[str, torch.Generator]:
    """The loader's own shuffling generator (seeded runs), saved and restored with the global RNGs."""
    return {"loader": loader.generator} if loader.generator is not None else {}


def save_checkpoint(model, prefix: str | int, epoch: int, total_iters: int, loader: DataLoader) -> None:
    """Network files in the original layout plus our ``<prefix>_train_state.pth`` for exact resumption."""
    model.save_networks(prefix)
    rng = capture_rng_state(loader_generators(loader))
    state = {"epoch": epoch, "total_iters": total_iters, "rng": rng, **model.training_state()}
    atomic_save(state, model.save_dir / f"{prefix}_train_state.pth")


def resume(model, opt: argparse.Namespace, loader: DataLoader) -> int:
    """Restore optimisers, schedulers, RNG and counters saved with the loaded checkpoint; returns the
    number of samples already seen (0 without a state file)."""
    path = model.save_dir / f"{model.load_prefix()}_train_state.pth"
    if not opt.continue_train or not path.is_file():
        return 0
    state = load_checkpoint(path)
    model.load_training_state(state)
    restore_rng_state(state["rng"], loader_generators(loader))
    opt.epoch_count = state["epoch"] + 1
    print(f"tagan: resuming after epoch {state['epoch']} ({state['total_iters']} samples) from {path}")
    return state["total_iters"]


def save_epoch_visuals(model, opt: argparse.Namespace, epoch: int) -> None:
    if opt.no_html:
        return
    page = HTMLPage(model.save_dir / "web", f"Experiment name = {opt.name}", refresh=1)
    save_visuals(page, model.get_current_visuals(), f"epoch{epoch:03d}", width=opt.display_winsize)
    page.save()


def train(opt: argparse.Namespace, cycle_log: bool = False) -> Path:
    """Train ``opt.model`` on ``opt.dataroot``; returns the checkpoint folder.

    ``cycle_log``: train_cycle.py's per-epoch ``loss.csv`` (mean training losses, then mean validation
    losses on ``<dataroot>/valid`` with a 224 centre crop); it needs the validation folder.
    """
    if opt.precision == "fp16":
        raise ValueError("--precision fp16 is for tagan-test only; train with fp32 or bf16")
    if opt.seed is not None:
        seed_everything(opt.seed)
    dataset = create_dataset(opt)
    loader = make_loader(opt, dataset, shuffle=not opt.serial_batches)
    validation = None
    if cycle_log or opt.save_best:
        val_opt = validation_options(opt, crop_size=224 if cycle_log else None)
        validation = make_loader(val_opt, create_dataset(val_opt), shuffle=False)
    print(f"The number of training images = {len(dataset)}")
    model = create_model(opt)
    model.setup()
    total_iters = resume(model, opt, loader)
    log = LossLog(model.save_dir)
    csv_path = model.save_dir / "loss.csv"
    if cycle_log and not csv_path.exists():
        with csv_path.open("w", newline="") as handle:
            csv.writer(handle).writerow(["epoch", *model.loss_names, *model.loss_names])
    best = float("inf")
    last_epoch = opt.niter + opt.niter_decay
    for epoch in range(opt.epoch_count, last_epoch + 1):
        epoch_start = time.time()
        epoch_iter, sums, batches = 0, {}, 0
        data_start = time.time()
        for data in progress(loader, desc=f"epoch {epoch}/{last_epoch}", unit="batch", leave=False):
            iter_start = time.time()
            t_data = iter_start - data_start
            total_iters += opt.batch_size
            epoch_iter += opt.batch_size
            model.set_input(data)
            model.optimize_parameters()
            losses = model.get_current_losses()
            for name, value in losses.items():
                sums[name] = sums.get(name, 0.0) + value
            batches += 1
            if total_iters % opt.print_freq == 0:
                t_comp = (time.time() - iter_start) / opt.batch_size
                print(log.log(epoch, epoch_iter, total_iters, losses, t_comp, t_data))
            if total_iters % opt.save_latest_freq == 0:
                print(f"saving the latest model (epoch {epoch}, total_iters {total_iters})")
                prefix = f"iter_{total_iters}" if opt.save_by_iter else "latest"
                save_checkpoint(model, prefix, epoch, total_iters, loader)
            data_start = time.time()
        if epoch % opt.save_epoch_freq == 0 or epoch == last_epoch:
            print(f"saving the model at the end of epoch {epoch}, iters {total_iters}")
            save_checkpoint(model, "latest", epoch, total_iters, loader)
            save_checkpoint(model, epoch, epoch, total_iters, loader)
        save_epoch_visuals(model, opt, epoch)
        if validation is not None:
            valid = validation_losses(model, validation)
            log.metrics.log(total_iters, epoch=epoch, **{f"valid_{k}": v for k, v in valid.items()})
            if cycle_log:
                means = [sums.get(name, 0.0) / max(batches, 1) for name in model.loss_names]
                with csv_path.open("a", newline="") as handle:
                    csv.writer(handle).writerow(
                        [epoch, *means, *(valid.get(n, 0.0) for n in model.loss_names)]
                    )
            if opt.save_best and valid.get("S_fake", float("inf")) < best:
                best = valid["S_fake"]
                print(f"saving the best model (epoch {epoch}, validation S_fake {best:.4f})")
                save_checkpoint(model, "best", epoch, total_iters, loader)
        print(f"End of epoch {epoch} / {last_epoch} \t Time Taken: {time.time() - epoch_start:.0f} sec")
        model.update_learning_rate()
    return model.save_dir
