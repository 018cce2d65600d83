"""Training then testing through the console-script entry points, on the real AxonalRings samples and on
simulated data: checkpoint names and reloading, output files and their value mapping, --num_gens / --eval,
exact resumption, TAGAN_cycle's loss.csv, TAGAN_live inference, combine_bottomtop."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import tagan
import tifffile
import torch
from insilico_core.data.simulate import simulate
from tagan import cli
from tagan.checkpoints import checkpoint_path, load_state_dict, save_network
from tagan.unet_dendrites import UNet

pytestmark = pytest.mark.slow

TINY = ["--ngf=4", "--ndf=4", "--num_threads=0", "--gpu_ids=-1"]
LABELS = ("confocal", "STED", "fakeSTED", "seg_STED", "seg_fakeSTED", "seg_GT")


def run(main, argv: list[str]) -> None:
    assert main([str(a) for a in argv]) == 0


def train_axonal(dataroot: Path, work: Path, name: str, *extra: str) -> Path:
    run(
        cli.train_main,
        [
            f"--dataroot={dataroot}",
            "--model=TAGAN_AxonalRings",
            f"--name={name}",
            f"--checkpoints_dir={work}",
            "--batch_size=1",
            "--crop_size=32",
            "--seed=0",
            *TINY,
            *extra,
        ],
    )
    return work / name


def run_test_axonal(dataroot: Path, work: Path, name: str, *extra: str) -> Path:
    run(
        cli.test_main,
        [
            f"--dataroot={dataroot}",
            "--model=TAGAN_AxonalRings",
            f"--name={name}",
            "--epoch=2",
            f"--checkpoints_dir={work}",
            f"--results_dir={work / 'results'}",
            *TINY,
            *extra,
        ],
    )
    return work / "results" / name / "test_2"


def check_training_outputs(folder: Path) -> None:
    for prefix in ("2", "latest"):
        for net in "GSD":
            assert checkpoint_path(folder, prefix, net).is_file()
    assert (folder / "train_opt.txt").is_file()
    assert "================ Training Loss" in (folder / "loss_log.txt").read_text()
    assert (folder / "web" / "images" / "epoch002_fakeSTED.tif").is_file()
    # our checkpoint reloads through the original-file loader, with the original key layout
    generator = tagan.load_original_network(folder / "2_net_G.pth", "TAGAN_AxonalRings", "G", ngf=4)
    assert not generator.training
    assert list(generator.state_dict()) == list(load_state_dict(folder / "2_net_G.pth"))
    assert list(generator.state_dict()) == list(tagan.build_network("TAGAN_AxonalRings", "G").state_dict())
    with torch.no_grad():
        output = generator(torch.zeros(1, 1, 32, 32))
    assert output.shape == (1, 1, 32, 32) and torch.isfinite(output).all()


def check_test_outputs(results: Path, stem: str, size: int) -> None:
    images = results / "images"
    for label in LABELS:
        array = tifffile.imread(images / f"{stem}_gen0_{label}.tif")
        assert array.shape == (1, 1, size, size) and array.dtype == np.uint16
        assert array.max() <= 255
    assert f'src="images/{stem}_gen0_fakeSTED.tif"' in (results / "index.html").read_text()


@pytest.mark.shared_data
def test_train_two_iterations_then_test_on_the_axonal_samples(tmp_path, shared_data):
    dataroot = shared_data / "tagan-samples" / "AxonalRingsDataset"  # one training image: 1 iteration / epoch
    folder = train_axonal(dataroot, tmp_path, "AxonalRings", "--niter=2", "--niter_decay=0")
    check_training_outputs(folder)
    results = run_test_axonal(dataroot, tmp_path, "AxonalRings", "--preprocess=none")
    check_test_outputs(results, "0", 224)
    confocal = tifffile.imread(results / "images" / "0_gen0_confocal.tif")[0, 0]
    raw = tifffile.imread(dataroot / "test" / "0.tif")[0]
    assert np.array_equal(confocal, raw)  # inputs come back as their 8-bit values


def test_train_then_test_on_simulated_rings(tmp_path):
    dataroot = simulate("axonal-rings", tmp_path / "AxonalRingsDataset", n=4, seed=0)  # 2 train images
    folder = train_axonal(dataroot, tmp_path, "sim", "--niter=2", "--niter_decay=0", "--batch_size=2")
    check_training_outputs(folder)
    results = run_test_axonal(dataroot, tmp_path, "sim", "--preprocess=none", "--num_gens=2", "--seed=1")
    check_test_outputs(results, "3", 224)
    images = results / "images"
    gen0, gen1 = (tifffile.imread(images / f"3_gen{k}_fakeSTED.tif") for k in (0, 1))
    assert not np.array_equal(gen0, gen1)  # default train mode: dropout gives a new draw per generation
    shutil.copytree(images, tmp_path / "first")
    run_test_axonal(dataroot, tmp_path, "sim", "--preprocess=none", "--num_gens=2", "--seed=1")
    assert np.array_equal(
        tifffile.imread(tmp_path / "first" / "3_gen1_fakeSTED.tif"),
        tifffile.imread(images / "3_gen1_fakeSTED.tif"),
    )  # --seed makes it repeatable
    run_test_axonal(
        dataroot, tmp_path, "sim", "--preprocess=none", "--num_gens=2", "--eval", "--output_dtype=float32"
    )
    gen0, gen1 = (tifffile.imread(images / f"3_gen{k}_fakeSTED.tif") for k in (0, 1))
    assert gen0.dtype == np.float32 and np.array_equal(gen0, gen1)  # eval mode is deterministic
    assert gen0.min() >= -1 and gen0.max() <= 1
    quantised = tifffile.imread(tmp_path / "first" / "3_gen0_confocal.tif")
    unquantised = tifffile.imread(images / "3_gen0_confocal.tif")
    assert np.array_equal(
        quantised, np.rint((unquantised.astype(np.float64) + 1) / 2 * 255).astype(np.uint16)
    )
    legacy = run_test_axonal(dataroot, tmp_path, "sim", "--preprocess=none", "--legacy_names")
    assert (legacy / "images" / "_fakeSTED.tif").is_file()  # absolute path: first character '/' -> ''


def test_resume_continues_exactly(tmp_path):
    dataroot = simulate("axonal-rings", tmp_path / "data", n=4, seed=0)
    constant_lr = ["--lr_policy=step", "--lr_decay_iters=100", "--niter_decay=0"]
    train_axonal(dataroot, tmp_path, "straight", "--niter=2", *constant_lr)
    train_axonal(dataroot, tmp_path, "resumed", "--niter=1", *constant_lr)
    train_axonal(dataroot, tmp_path, "resumed", "--niter=2", "--continue_train", *constant_lr)
    for net in "GSD":
        straight = load_state_dict(checkpoint_path(tmp_path / "straight", 2, net))
        resumed = load_state_dict(checkpoint_path(tmp_path / "resumed", 2, net))
        for key, value in straight.items():
            assert torch.allclose(value.float(), resumed[key].float(), atol=1e-6), (net, key)


def make_unet_dendrites(folder: Path) -> None:
    torch.manual_seed(0)
    folder.mkdir(parents=True)
    torch.save(UNet(1, 2, number_filter=2, depth=3).state_dict(), folder / "params.net")
    params = {"in_channels": 1, "out_channels": 2, "number_filter": 2, "depth": 3, "size": 128}
    (folder / "params_trainer.pkl").write_bytes(pickle.dumps(params))


def test_train_cycle_writes_loss_csv_and_tests(tmp_path):
    source = simulate("axonal-rings", tmp_path / "rings", n=6, seed=0)
    root = tmp_path / "FixedLive"
    for split, files in (
        ("train", sorted((source / "train").glob("*.tif"))[:2]),
        ("valid", sorted((source / "valid").glob("*.tif"))),
    ):
        for index, path in enumerate(files):
            stack = tifffile.imread(path)
            (root / f"{split}_fixed").mkdir(parents=True, exist_ok=True)
            (root / f"{split}_live").mkdir(parents=True, exist_ok=True)
            tifffile.imwrite(
                root / f"{split}_fixed" / f"{index}.tif", stack[[1, 2, 2]], photometric="minisblack"
            )
            tifffile.imwrite(root / f"{split}_live" / f"{index}.tif", stack[0].astype(np.float32))
    make_unet_dendrites(tmp_path / "UNet_Dendrites")
    common = [
        f"--dataroot={root}",
        "--model=TAGAN_cycle",
        "--dataset_mode=fixed_live",
        "--name=cycle",
        f"--checkpoints_dir={tmp_path}",
        f"--unet_dendrites={tmp_path / 'UNet_Dendrites'}",
        "--crop_size=32",
        *TINY,
    ]
    run(cli.train_cycle_main, [*common, "--niter=1", "--niter_decay=0", "--seed=0"])
    folder = tmp_path / "cycle"
    for net in ("G_F", "G_L", "D_F", "D_L"):
        assert checkpoint_path(folder, 1, net).is_file()
    rows = (folder / "loss.csv").read_text().strip().splitlines()
    names = ["D_F", "G_F", "cycle_F", "D_L", "G_L", "cycle_L", "seg"]
    assert rows[0].split(",") == ["epoch", *names, *names]
    values = [float(v) for v in rows[1].split(",")]
    assert len(values) == 15 and values[0] == 1 and all(np.isfinite(values))
    assert values[1:8] != values[8:]  # validation losses are computed, not copies of the training ones
    run(
        cli.test_main,
        [*common, "--epoch=1", "--phase=train", f"--results_dir={tmp_path / 'results'}", "--eval"],
    )
    fake = tifffile.imread(tmp_path / "results" / "cycle" / "train_1" / "images" / "0_gen0_fake_F.tif")
    assert fake.shape == (1, 1, 32, 32) and fake.dtype == np.uint16


@pytest.mark.shared_data
def test_live_inference_on_the_sample_sequence(tmp_path, shared_data):
    folder = tmp_path / "LiveFActin"
    torch.manual_seed(0)
    for net in "GS":
        save_network(tagan.build_network("TAGAN_live", net, ngf=2), checkpoint_path(folder, 5000, net))
    run(
        cli.test_main,
        [
            f"--dataroot={shared_data / 'tagan-samples' / 'LiveFActinDataset'}",
            "--model=TAGAN_live",
            "--epoch=5000",
            "--name=LiveFActin",
            "--phase=20201130_cs4",
            "--dataset_mode=live_test",
            "--preprocess=center",
            "--crop_size=512",
            "--ngf=2",
            f"--checkpoints_dir={tmp_path}",
            f"--results_dir={tmp_path / 'results'}",
            "--gpu_ids=-1",
        ],
    )
    images = tmp_path / "results" / "LiveFActin" / "20201130_cs4_5000" / "images"
    shapes = {p.name.split("_gen0_")[1]: tifffile.imread(p).shape for p in images.glob("*.tif")}
    assert shapes == {
        "input.tif": (1, 3, 512, 512),
        "STED.tif": (1, 1, 512, 512),
        "fakeSTED.tif": (1, 1, 512, 512),
        "seg_STED.tif": (1, 2, 384, 384),
        "seg_fakeSTED0.tif": (1, 1, 384, 384),
        "seg_fakeSTED1.tif": (1, 1, 384, 384),
    }


def test_cli_errors_name_the_missing_folder(tmp_path, capsys):
    assert (
        cli.train_main(
            [
                f"--dataroot={tmp_path}",
                "--model=TAGAN_AxonalRings",
                f"--checkpoints_dir={tmp_path}",
                "--gpu_ids=-1",
            ]
        )
        == 2
    )
    assert f"{tmp_path / 'train'}" in capsys.readouterr().err
    (tmp_path / "train_fixed").mkdir()
    (tmp_path / "train_live").mkdir()
    assert (
        cli.train_main(
            [
                f"--dataroot={tmp_path}",
                "--model=TAGAN_AxonalRings",
                "--dataset_mode=wrong",
                f"--checkpoints_dir={tmp_path}",
            ]
        )
        == 2
    )
    assert "--dataset_mode 'wrong'" in capsys.readouterr().err
    assert (
        cli.test_main(
            [
                f"--dataroot={tmp_path}",
                "--model=TAGAN_AxonalRings",
                "--phase=train_fixed",
                f"--checkpoints_dir={tmp_path}",
                "--gpu_ids=-1",
            ]
        )
        == 2
    )
    assert "holds no images" in capsys.readouterr().err


def test_combine_bottomtop_stacks_rows(tmp_path):
    top, bottom = tmp_path / "top", tmp_path / "bottom"
    top.mkdir()
    bottom.mkdir()
    upper = np.arange(2 * 4 * 6, dtype=np.uint16).reshape(1, 2, 4, 6)
    tifffile.imwrite(top / "a_gen0_fakeSTED.tif", upper)
    tifffile.imwrite(bottom / "a_gen0_fakeSTED.tif", upper + 100)
    run(cli.combine_bottomtop_main, ["--top", top, "--bottom", bottom, "--output", tmp_path / "out"])
    merged = tifffile.imread(tmp_path / "out" / "a_gen0_fakeSTED.tif")
    assert merged.shape == (1, 2, 8, 6)
    assert np.array_equal(merged[:, :, :4], upper) and np.array_equal(merged[:, :, 4:], upper + 100)
    (bottom / "a_gen0_fakeSTED.tif").unlink()
    assert (
        cli.combine_bottomtop_main(["--top", str(top), "--bottom", str(bottom), "--output", str(tmp_path)])
        == 2
    )
