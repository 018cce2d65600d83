"""MSSG training: one loop for single-source (``mssg-train``), semi-multi-source (``mssg-train-ms``) and real
multi-source (``mssg-train-real-ms``: the joint layout gets a source flag column that D learns to predict)
runs.

At start-up a multi-source run fits each source's latent covariate model on that source's trainset labels
(:mod:`mssg.latent`; MSSG's ``MorphoSampler`` / ``CausalSampling`` / ``SourceSampling``) and saves them as
``latent_model_source{1,2}.json`` in the run directory; a resumed run reuses the files beside the snapshot
it resumes from unless ``refit`` asks for a new fit (MSSG refits at every start).

Per iteration (spec §5.3): take ``batch`` images from each source (independent endless samplers; MSSG's
``ConcatDataset`` pairing dropped the larger source's extra images), complete their labels to the joint layout
(:class:`mssg.multisource.LabelCompleter`), draw generator labels from the sources' train labels (completed
the same way), run the phases Gmain, Greg (every 4, StyleGAN2 only), Dmain, Dreg (every 16) with
lazy-regularisation Adam, update G_ema (half-life ``ema_kimg``, ramp-up 0.05), and count ``batch`` images
(one source's batch, as MSSG). Every ``tick`` kimg: log; every ``snap`` ticks: sample grid, snapshot,
optional metrics, lambda update. Device-agnostic (CPU, CUDA, MPS) and ``torchrun``-ready through
:mod:`insilico_core.train`.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from insilico_core.train import (
    EMA,
    MetricsLogger,
    all_reduce_mean,
    init_distributed,
    progress,
    save_image_grid,
    seed_everything,
)

from mssg.augmentation import ADA_KIMG, RESUME_ADA_KIMG, AdaController, build_augment_pipe
from mssg.checkpoint import load_snapshot, save_snapshot
from mssg.data import CovariateImageDataset, SplitFiles, read_labels
from mssg.latent import LatentModel, MorphoCovariateModel, fit_latent_model, load_latent_model
from mssg.losses import AuxLayout, MSSGLoss, lambda_schedule
from mssg.multisource import MORPHO, LabelCompleter, completion_scenario, fit_morpho_models
from mssg.networks import Discriminator, stylegan2, stylegan3

CFGS = ("stylegan3-t", "stylegan3-r", "stylegan2")

# train_real_ms.py's --data_name -> this package's real multi-source schema (mssg.covariates), where the
# real-MS dataset class reads other covariates than the semi-MS one of the same name.
REAL_MS_SCHEMAS = {"ukb": "ukb_real", "retinal": "retinal_real"}

LATENT_MODEL_FILE = "latent_model_source{}.json"


@dataclass
class TrainOptions:
    """Every flag of the original train.py / train_ms.py / train_real_ms.py (spec §2.1-2.3), plus
    device/precision; ``real_multisource`` selects the real multi-source layout and loss; ``refit`` fits the
    latent models anew on resume instead of reusing the ``latent_model_source*.json`` beside the snapshot;
    ``latent_mssg_sampling`` samples them with MSSG's quirks (see :func:`fit_source_models`)."""

    outdir: str
    cfg: str
    data: list[str]
    data_name: list[str]
    sources: list[str | None]
    gpus: int
    batch: int
    gamma: float
    use_ground_truth: bool = False
    real_multisource: bool = False
    refit: bool = False
    latent_mssg_sampling: bool = False
    cond: bool = True
    mirror: bool = False
    aug: str = "noaug"
    augpipe: str = "bgc"
    resume: str | None = None
    exact_resume: bool = False
    resume_kimg: int = 0
    freezed: int = 0
    data_scenario: str = "high"
    lambda_: float = 0.1
    lambda_step: int = 1000
    p: float = 0.2
    target: float = 0.6
    batch_gpu: int | None = None
    cbase: int = 16384
    cmax: int = 512
    glr: float | None = None
    dlr: float = 0.002
    map_depth: int | None = None
    mbstd_group: int = 4
    desc: str | None = None
    metrics: list[str] = field(default_factory=list)
    kimg: int = 14000
    tick: int = 4
    snap: int = 100
    seed: int = 0
    fp32: bool = False
    nobench: bool = False
    workers: int = 3
    loss_impl: str = "bce_sigmoid"
    device: str = "auto"
    max_size: int | None = None
    dry_run: bool = False


def build_networks(options: TrainOptions, c_dim: int, resolution: int, channels: int):
    """G and D with the original train.py kwargs for ``--cfg`` (spec §2.1)."""
    sg2 = options.cfg == "stylegan2"
    g_kwargs: dict = dict(
        z_dim=512,
        w_dim=512,
        c_dim=c_dim,
        img_resolution=resolution,
        img_channels=channels,
        mapping_kwargs=dict(num_layers=options.map_depth or (8 if sg2 else 2)),
        channel_base=options.cbase,
        channel_max=options.cmax,
        num_fp16_res=0 if options.fp32 else 4,
        conv_clamp=None if options.fp32 else 256,
    )
    if sg2:
        g_kwargs["fused_modconv_default"] = "inference_only"
        G = stylegan2.Generator(**g_kwargs)
    else:
        g_kwargs["magnitude_ema_beta"] = 0.5 ** (options.batch / (20 * 1e3))
        if options.cfg == "stylegan3-r":
            g_kwargs.update(
                conv_kernel=1,
                channel_base=options.cbase * 2,
                channel_max=options.cmax * 2,
                use_radial_filters=True,
            )
        G = stylegan3.Generator(**g_kwargs)
    D = Discriminator(
        c_dim=c_dim,
        img_resolution=resolution,
        img_channels=channels,
        channel_base=options.cbase,
        channel_max=options.cmax,
        num_fp16_res=0 if options.fp32 else 4,
        conv_clamp=None if options.fp32 else 256,
        block_kwargs=dict(freeze_layers=options.freezed),
        epilogue_kwargs=dict(mbstd_group_size=options.mbstd_group),
    )
    return G, D


def _datasets(options: TrainOptions, mode: str) -> list[CovariateImageDataset]:
    """The sources' datasets; ``--data_scenario half`` keeps a random half of each (MSSG halved its already
    capped size, min(N, M) / 2 — fixed here: half of all images)."""
    datasets = []
    for path, name, source in zip(options.data, options.data_name, options.sources, strict=True):
        if options.real_multisource:
            name = REAL_MS_SCHEMAS.get(name, name)
        max_size = options.max_size
        if options.data_scenario == "half":
            full = CovariateImageDataset(path, name, source, mode=mode, use_labels=options.cond)
            max_size = len(full) // 2 if max_size is None else min(max_size, len(full) // 2)
        datasets.append(
            CovariateImageDataset(
                path,
                name,
                source,
                mode=mode,
                max_size=max_size,
                xflip=options.mirror,
                random_seed=options.seed,
                use_labels=options.cond,
            )
        )
    return datasets


def _train_labels(dataset: CovariateImageDataset) -> np.ndarray:
    """RAW labels ``[N, K]`` of all images of the dataset's trainset (what the latent models are fitted on,
    whatever split or ``max_size`` the dataset itself uses)."""
    if dataset.split == "trainset":
        return dataset.raw_labels
    return read_labels(SplitFiles(dataset.path, "trainset"), dataset.covariates)[1]


def fit_source_models(
    datasets: list[CovariateImageDataset],
    use_ground_truth: bool = False,
    seed: int = 0,
    mssg_sampling: bool = False,
) -> list[MorphoCovariateModel | LatentModel]:
    """One latent model per source, fitted on its trainset labels (``use_ground_truth``: Morpho-MNIST's
    structural equations instead; ``seed``: the mixtures' k-means++ initialisation; ``mssg_sampling``: sample
    with MSSG's marginal mixture-regression covariance and half logits, for parity)."""
    if all(ds.data_name == MORPHO for ds in datasets):
        raws = [_train_labels(ds) for ds in datasets]
        return fit_morpho_models(raws[0], raws[1], use_ground_truth)
    return [
        fit_latent_model(
            ds.data_name,
            ds.source,
            [c.name for c in ds.covariates],
            _train_labels(ds),
            seed,
            conditional_covariance=not mssg_sampling,
            half_logit=mssg_sampling,
        )
        for ds in datasets
    ]


def build_completer(
    datasets: list[CovariateImageDataset],
    use_ground_truth: bool,
    source_flag: bool = False,
    models: list[MorphoCovariateModel | LatentModel] | None = None,
    seed: int = 0,
    mssg_sampling: bool = False,
) -> LabelCompleter:
    """Describe the joint label layout of ``datasets`` (``source_flag``: real multi-source, with the source
    column) with the sources' latent models: ``models`` (e.g. read back from a run) or fitted here (see
    :func:`fit_source_models` for ``seed`` and ``mssg_sampling``)."""
    first = datasets[0]
    stats = [ds.stats for ds in datasets]
    if len(datasets) == 1:
        if source_flag:
            raise ValueError("real multi-source training needs two sources (--data1 and --data2)")
        return LabelCompleter(first.data_name, [first.source], stats)
    names = [ds.data_name for ds in datasets]
    completion_scenario(names, source_flag)  # unsupported pairs fail before any fitting
    if models is None:
        models = fit_source_models(datasets, use_ground_truth, seed, mssg_sampling)
    return LabelCompleter(first.data_name, [ds.source for ds in datasets], stats, models, source_flag, names)


def saved_latent_models(run_dir: Path, count: int) -> list[MorphoCovariateModel | LatentModel] | None:
    """The ``count`` latent models a run saved (``latent_model_source{k}.json``), or None when it saved none.

    Raises ValueError when only some of them are there (a damaged run directory)."""
    paths = [Path(run_dir) / LATENT_MODEL_FILE.format(k + 1) for k in range(count)]
    present = [p.is_file() for p in paths]
    if not any(present):
        return None
    if not all(present):
        missing = [str(p) for p, ok in zip(paths, present, strict=True) if not ok]
        raise ValueError(f"{run_dir}: latent model files {missing} are missing (rerun with --refit True)")
    return [load_latent_model(p) for p in paths]


def _run_dir(options: TrainOptions, dataset_name: str) -> Path:
    outdir = Path(options.outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    ids = [int(m.group()) for p in outdir.iterdir() if (m := re.match(r"^\d+", p.name))]
    prefix = "multisource-" if len(options.data) > 1 else ""
    desc = (
        f"{options.cfg}-cond{options.cond}-{prefix}{dataset_name}-aug{options.aug}-gpus{options.gpus}"
        f"-batch{options.batch}-gamma{options.gamma:g}-kimg{options.kimg}"
    )
    if options.desc:
        desc += f"-{options.desc}"
    return outdir / f"{max(ids, default=-1) + 1:05d}-{desc}"


def _resume_path(options: TrainOptions) -> tuple[Path, int]:
    """(snapshot, kimg) from ``--resume``: the file itself (``--exact_resume True``) or the snapshot with the
    lowest ``fid50k_full`` listed in a ``metric-*.jsonl``."""
    path = Path(options.resume)
    if not options.exact_resume:
        best = None
        for line in path.read_text().splitlines():
            record = json.loads(line)
            fid = record.get("results", {}).get("fid50k_full")
            if fid is not None and (best is None or fid < best[0]):
                best = (fid, record["snapshot_pkl"])
        if best is None:
            raise ValueError(
                f"--resume {path}: no fid50k_full results listed (use --exact_resume True with a pkl)"
            )
        path = path.parent / best[1]
    match = re.search(r"(\d+)\.(pkl|pt)$", path.name)
    return path, int(match.group(1)) if match else 0


def _grid_size(resolution: int) -> tuple[int, int]:
    return int(np.clip(7680 // resolution, 7, 32)), int(np.clip(4320 // resolution, 4, 32))


def training_loop(options: TrainOptions) -> Path:
    """Run the training described by ``options``; returns the run directory."""
    if options.cfg not in CFGS:
        raise ValueError(f"--cfg must be one of {', '.join(CFGS)}, got {options.cfg!r}")
    if options.batch % options.gpus:
        raise ValueError(f"--batch {options.batch} must be a multiple of --gpus {options.gpus}")
    info = init_distributed(options.device)
    device = info.device
    augment_pipe = build_augment_pipe(options.aug, options.augpipe, options.p, options.target, device)
    ada = None
    if augment_pipe is not None and options.aug == "ada":
        ada_kimg = RESUME_ADA_KIMG if options.resume else ADA_KIMG
        ada = AdaController(augment_pipe, options.target, options.batch, kimg=ada_kimg)
    batch_gpu = options.batch_gpu or options.batch // info.world_size
    if options.batch % (batch_gpu * info.world_size):
        raise ValueError(f"--batch {options.batch} must be a multiple of --batch-gpu x processes")
    seed_everything(options.seed * info.world_size + info.rank)

    datasets = _datasets(options, "train")
    models = None
    if options.resume:
        resume_path, parsed_kimg = _resume_path(options)
        if len(datasets) == 2 and not options.refit:
            models = saved_latent_models(resume_path.parent, len(datasets))
    completer = build_completer(
        datasets,
        options.use_ground_truth,
        options.real_multisource,
        models=models,
        seed=options.seed,
        mssg_sampling=options.latent_mssg_sampling,
    )
    c_dim = completer.c_dim if options.cond else 0
    resolution, channels = datasets[0].resolution, datasets[0].num_channels
    G, D = build_networks(options, c_dim, resolution, channels)
    start_kimg = options.resume_kimg
    if options.resume:
        snap = load_snapshot(resume_path, c_dim=c_dim)
        for name, module in (("G", G), ("D", D)):
            module.load_state_dict(snap[name].state_dict())
        start_kimg = parsed_kimg or options.resume_kimg
    G, D = G.to(device).train().requires_grad_(False), D.to(device).train().requires_grad_(False)
    ema = EMA(G, half_life_images=options.batch * 10 / 32 * 1000, rampup=None if options.resume else 0.05)
    if options.resume:
        ema.module.load_state_dict(snap["G_ema"].state_dict())
    run_dir = _run_dir(options, datasets[0].name.rsplit("-", 1)[0])
    meta = dict(
        options=asdict(options),
        c_layout=completer.layout,
        completer=completer.to_dict(),
        c_dim=c_dim,
        resolution=resolution,
        channels=channels,
    )
    if info.is_main:
        print(
            f"MSSG: {options.cfg}, c layout {completer.layout} (c_dim {c_dim}), {resolution}px x {channels}, "
            f"sources {[len(ds) for ds in datasets]} images, device {device}, run dir {run_dir}"
        )
        if models is not None:
            print(f"MSSG: latent models reused from {resume_path.parent} (--refit True fits them anew)")
    if options.dry_run:
        return run_dir
    if info.is_main:
        run_dir.mkdir(parents=True)
        (run_dir / "training_options.json").write_text(json.dumps(meta, indent=1, default=str))
        for k, model in enumerate(completer.models):
            model.save(run_dir / LATENT_MODEL_FILE.format(k + 1))
    if info.is_distributed:  # every process starts from rank 0's weights
        for tensor in [*G.state_dict().values(), *D.state_dict().values(), *ema.module.state_dict().values()]:
            torch.distributed.broadcast(tensor, src=0)

    sg2 = options.cfg == "stylegan2"
    loss = MSSGLoss(
        G,
        D,
        AuxLayout.from_covariates(completer.covariates, completer.source_flag)
        if c_dim
        else AuxLayout((), (), ()),
        r1_gamma=options.gamma,
        style_mixing_prob=0.9 if sg2 else 0.0,
        pl_weight=2.0 if sg2 else 0.0,
        blur_init_sigma=10 if options.cfg == "stylegan3-r" and not options.resume else 0,
        blur_fade_kimg=options.batch * 200 / 32,
        loss_impl=options.loss_impl,
        augment_pipe=augment_pipe,
        ada=ada,
    )
    glr = options.glr or (0.002 if sg2 else 0.0025)
    phases = []
    for name, module, lr, reg_interval in (("G", G, glr, 4 if sg2 else None), ("D", D, options.dlr, 16)):
        ratio = reg_interval / (reg_interval + 1) if reg_interval else 1
        opt = torch.optim.Adam(module.parameters(), lr=lr * ratio, betas=(0.0, 0.99**ratio), eps=1e-8)
        if reg_interval is None:
            phases.append((f"{name}both", module, opt, 1))
        else:
            phases += [(f"{name}main", module, opt, 1), (f"{name}reg", module, opt, reg_interval)]

    rng = np.random.default_rng(options.seed * 1000 + info.rank)
    torch_gen = torch.Generator().manual_seed(options.seed * 1000 + info.rank)
    grid_w, grid_h = _grid_size(resolution)
    grid_z = torch.randn([grid_w * grid_h, G.z_dim], generator=torch.Generator().manual_seed(options.seed))
    grid_c = (
        _draw_gen_labels(datasets, completer, grid_w * grid_h, np.random.default_rng(options.seed))[
            : grid_w * grid_h
        ]
        if c_dim
        else torch.zeros([grid_w * grid_h, 0])
    )
    logger = MetricsLogger(run_dir) if info.is_main else None
    if info.is_main:
        reals = torch.stack([datasets[0][i][0] for i in range(min(len(datasets[0]), grid_w * grid_h))])
        save_image_grid(reals.float(), run_dir / "reals.png", nrow=grid_w, value_range=(0, 255))

    cur_nimg = start_kimg * 1000
    aux_weight = lambda_schedule(start_kimg, options.lambda_, options.lambda_step)
    loss.aux_weight = aux_weight
    tick_start_nimg, batch_idx, cur_tick = cur_nimg, 0, 0
    total_nimg = options.kimg * 1000
    bar = progress(total=total_nimg, desc="training", unit="img", initial=cur_nimg, disable=not info.is_main)
    tick_time = time.time()
    while True:
        real_img, real_c = [], []
        for s, ds in enumerate(datasets):
            idx = torch.randint(len(ds), (batch_gpu,), generator=torch_gen)
            items = [ds[int(i)] for i in idx]
            real_img.append(torch.stack([it[0] for it in items]).to(device).float() / 127.5 - 1)
            labels = np.stack([it[1].numpy() for it in items])
            real_c.append(
                torch.from_numpy(completer.complete(s, labels, rng)).to(device)
                if c_dim
                else torch.zeros([batch_gpu, 0], device=device)
            )
        real_img, real_c = torch.cat(real_img), torch.cat(real_c)
        n_real = real_img.shape[0]
        for phase, module, opt, interval in phases:
            if batch_idx % interval != 0:
                continue
            gen_z = torch.randn([n_real, G.z_dim], device=device)
            gen_c = (
                _draw_gen_labels(datasets, completer, n_real, rng).to(device)
                if c_dim
                else torch.zeros([n_real, 0], device=device)
            )
            opt.zero_grad(set_to_none=True)
            module.requires_grad_(True)
            stats = loss.accumulate_gradients(
                phase, real_img, real_c, gen_z, gen_c, gain=interval, cur_nimg=cur_nimg
            )
            module.requires_grad_(False)
            params = [p for p in module.parameters() if p.grad is not None]
            for p in params:
                if info.is_distributed:
                    p.grad.copy_(all_reduce_mean(p.grad, info))
                torch.nan_to_num(p.grad, nan=0, posinf=1e5, neginf=-1e5, out=p.grad)
            opt.step()
            if logger is not None and stats:
                logger.log(cur_nimg, **stats)
        ema.update(G, options.batch)
        cur_nimg += options.batch
        batch_idx += 1
        if ada is not None:
            ada.step(batch_idx)
        bar.update(options.batch)
        done = cur_nimg >= total_nimg
        if not done and cur_nimg < tick_start_nimg + options.tick * 1000:
            continue
        cur_tick += 1
        kimg = cur_nimg / 1000
        if logger is not None:
            logger.log(
                cur_nimg,
                kimg=kimg,
                tick=cur_tick,
                sec_per_tick=time.time() - tick_time,
                aux_lambda=aux_weight,
                augment=float(augment_pipe.p) if augment_pipe is not None else 0.0,
            )
        tick_time, tick_start_nimg = time.time(), cur_nimg
        if info.is_main and (done or cur_tick % options.snap == 0):
            G_ema = ema.module
            with torch.no_grad():
                images = torch.cat(
                    [
                        G_ema(z.to(device), c.to(device), noise_mode="const").cpu()
                        for z, c in zip(grid_z.split(batch_gpu), grid_c.split(batch_gpu), strict=True)
                    ]
                )
            save_image_grid(images, run_dir / f"fakes{int(kimg):06d}.png", nrow=grid_w)
            snapshot_meta = {**meta, "kimg": kimg, "cur_nimg": cur_nimg}
            save_snapshot(
                run_dir / f"network-snapshot-{int(kimg):06d}.pt",
                G,
                D,
                G_ema,
                augment_pipe=augment_pipe,
                training_set_kwargs=datasets[0].kwargs(),
                meta=snapshot_meta,
            )
        aux_weight = lambda_schedule(kimg, options.lambda_, options.lambda_step)
        loss.aux_weight = aux_weight
        if done:
            break
    bar.close()
    if logger is not None:
        logger.close()
    return run_dir


def _draw_gen_labels(
    datasets: list[CovariateImageDataset], completer: LabelCompleter, count: int, rng: np.random.Generator
) -> torch.Tensor:
    """``count`` generator labels: per source ``count // sources`` train labels drawn uniformly with
    replacement, completed to the joint layout, concatenated and shuffled (MSSG's ``gen_c``)."""
    per = -(-count // len(datasets))
    parts = []
    for s, ds in enumerate(datasets):
        picks = rng.integers(len(ds), size=per)
        parts.append(completer.complete(s, np.stack([ds.get_label(int(i)) for i in picks]), rng))
    labels = np.concatenate(parts)[rng.permutation(per * len(datasets))][:count]
    return torch.from_numpy(np.ascontiguousarray(labels))
