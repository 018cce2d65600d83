"""The original test.py: run a trained model over ``<dataroot>/<phase>`` and write its visuals.

Outputs go to ``<results_dir>/<name>/<phase>_<epoch>/images/<input stem>_gen<k>_<label>.tif`` with an
``index.html``; ``--num_gens`` generations per input (each a fresh dropout draw in the default train mode,
for uncertainty maps), ``--eval`` for deterministic eval-mode outputs. As the original, the networks stay in
train mode by default (BatchNorm statistics of the test image, dropout active: the mode of every README test
command), the loader is serial with batch 1 and no flips, and at most ``--num_test`` inputs are processed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from insilico_core.train import progress, seed_everything
from torch.utils.data import DataLoader

from tagan.data.datasets import create_dataset
from tagan.models import create_model
from tagan.outputs import HTMLPage, output_stem, save_visuals


def run_test(opt: argparse.Namespace) -> Path:
    """Test ``opt.model`` with the ``opt.epoch`` checkpoints; returns the results folder."""
    opt.num_threads, opt.batch_size, opt.serial_batches, opt.no_flip, opt.display_id = 0, 1, True, True, -1
    if opt.num_gens < 1:
        raise ValueError(f"--num_gens must be at least 1, got {opt.num_gens}")
    if opt.seed is not None:
        seed_everything(opt.seed)
    dataset = create_dataset(opt)
    if len(dataset) > opt.num_test:
        print(
            f"tagan: processing the first {opt.num_test} of {len(dataset)} inputs (raise --num_test for all)"
        )
    loader = DataLoader(dataset, batch_size=1, shuffle=False, num_workers=0)
    model = create_model(opt)
    model.setup()
    web_dir = Path(opt.results_dir) / opt.name / f"{opt.phase}_{opt.epoch}"
    page = HTMLPage(web_dir, f"Experiment = {opt.name}, Phase = {opt.phase}, Epoch = {opt.epoch}")
    if opt.eval:
        model.eval()
    total = min(len(dataset), opt.num_test)
    for index, data in enumerate(progress(loader, total=total, desc="tagan-test", unit="image")):
        if index >= opt.num_test:
            break
        model.set_input(data)
        for generation in range(opt.num_gens):
            model.test()
            stem = output_stem(model.get_image_paths()[0], generation, opt.legacy_names)
            save_visuals(
                page,
                model.get_current_visuals(),
                stem,
                opt.output_dtype,
                opt.aspect_ratio,
                opt.display_winsize,
            )
    page.save()
    print(f"tagan: results written to {web_dir}")
    return web_dir
