"""End to end through the command lines on simulated LIN data (tiny networks and images)."""

from __future__ import annotations

import biogans
import pytest
import torch
from biogans.cli import figures_main, main, make_splits_main, nearest_neighbors_main, report_main
from insilico_core.data.simulate import simulate
from PIL import Image

CLASSES = ("Arp3", "Sid2", "Tea1")
SMALL = ["--image_height", "16", "--image_width", "32", "--ngf", "8", "--ndf", "8", "--num_workers", "0"]


@pytest.fixture(scope="module")
def lin(tmp_path_factory):
    root = tmp_path_factory.mktemp("biogans")
    simulate("fission-yeast", root / "train", n=24, seed=0, classes=CLASSES, image_size=(16, 32))
    simulate("fission-yeast", root / "test", n=24, seed=1, classes=CLASSES, image_size=(16, 32))
    assert make_splits_main([str(root / "test"), str(root / "test_splits"), "--num_splits", "1"]) == 0
    assert (
        make_splits_main(
            [str(root / "test"), str(root / "cond_splits"), "--num_splits", "1", "--layout", "conditional"]
        )
        == 0
    )
    return root


@pytest.mark.slow
def test_train_evaluate_and_resume_a_joint_model(lin, tmp_path, capsys):
    experiment = tmp_path / "wgangp-sep"
    common = [
        "--dataroot",
        str(lin / "train"),
        "--dataset_type",
        "folder-cached",
        "--model_type",
        "DCGAN-sep",
        "--GAN_algorithm",
        "WGAN-GP",
        "--batch_size",
        "4",
        "--experiment",
        str(experiment),
        *SMALL,
    ]
    assert (
        main([*common, "--num_iter", "2", "--num_disc_iters", "2", "--save_iter", "2", "--image_iter", "1"])
        == 0
    )
    assert (experiment / "fake_samples_1.png").is_file() and (experiment / "real_samples.png").is_file()
    # 8 per row, 2-px padding: 4 images of 32x16
    assert Image.open(experiment / "fake_samples_2.png").size == (4 * 34 + 2, 18 + 2)
    G = biogans.load_original_checkpoint(experiment / "netG_iter_2.pth")
    assert G.original_config["model_type"] == "DCGAN-sep" and G.original_config["image_size"] == (16, 32)
    assert main([*common, "--num_iter", "4", "--num_disc_iters", "2", "--save_iter", "2", "--resume"]) == 0
    assert (experiment / "netD_iter_4.pth").is_file()
    out = capsys.readouterr().out
    assert "[2/4][epoch" in out and "[0/4]" not in out.split("[1/2]")[-1]  # resumed at iteration 2

    split = lin / "test_splits" / "split0"
    assert (
        main(
            [
                "--mode",
                "eval-gen-vs-real",
                "--dataroot",
                str(split / "train"),
                "--test_data",
                str(split / "test"),
                "--dataset_type",
                "folder-cached",
                "--model_type",
                "DCGAN-sep",
                "--netG",
                str(experiment / "netG_iter_4.pth"),
                "--GAN_algorithm",
                "WGAN",
                "--num_iter",
                "3",
                "--batch_size",
                "4",
                "--experiment",
                str(tmp_path / "eval"),
                "--random_seed",
                "0",
                *SMALL,
            ]
        )
        == 0
    )
    last = capsys.readouterr().out.strip().splitlines()
    assert last[-2].startswith("Evaluated on 15 batches")  # 5 passes x 12 held-out images in batches of 4
    assert last[-1].startswith("WGAN-score: equals")
    (tmp_path / "logs").mkdir()
    for k, value in enumerate((1.0, 2.0)):
        (tmp_path / "logs" / f"seed0_split{k}_evalWGAN-GP_iter5000_classesArp3Tea1.txt").write_text(
            f"WGAN-GP-score: equals {value}\n"
        )
    assert (
        report_main(
            [
                "table1",
                "--logs",
                str(tmp_path / "logs"),
                "--classes",
                *CLASSES,
                "--csv",
                str(tmp_path / "table1.csv"),
            ]
        )
        == 0
    )
    assert "1.5±0.5" in (tmp_path / "table1.csv").read_text()


@pytest.mark.slow
def test_conditional_model_reconstruction_and_figures(lin, tmp_path, capsys):
    experiment = tmp_path / "star"
    split = lin / "cond_splits" / "split0"
    assert (
        main(
            [
                "--dataroot",
                str(split / "train"),
                "--dataset_type",
                "conditional-cached",
                "--model_type",
                "dcgan-star-shaped",
                "--batch_size",
                "2",
                "--num_iter",
                "1",
                "--save_iter",
                "1",
                "--experiment",
                str(experiment),
                *SMALL,
            ]
        )
        == 0
    )
    assert {p.name for p in experiment.glob("fake_samples_1_*.png")} == {
        f"fake_samples_1_{c}.png" for c in CLASSES
    }
    netG = experiment / "netG_iter_1.pth"
    assert (
        main(
            [
                "--mode",
                "reconstruction-separable",
                "--dataroot",
                str(lin / "train"),
                "--test_data",
                str(split / "test"),
                "--dataset_type",
                "conditional-cached",
                "--model_type",
                "DCGAN-star-shaped",
                "--netG",
                str(netG),
                "--batch_size",
                "2",
                "--reconstruction_steps",
                "1",
                "--reconstruction_trials",
                "1",
                "--experiment",
                str(tmp_path / "rec"),
                *SMALL,
            ]
        )
        == 0
    )
    results = torch.load(tmp_path / "rec" / "reconstruction_data.pth", weights_only=True)
    assert set(results) == {"l2_dists", "lls_noise", "lls_noise_init", "nn_dists"}
    assert all(len(results["l2_dists"][c]) == 4 for c in CLASSES)  # 4 test images per class: 2 batches of 2
    assert (tmp_path / "rec" / "Tea1" / "Tea1_batch1_image1.png").is_file()
    assert "All classes: L2-reconstr mean" in capsys.readouterr().out
    assert (
        figures_main(
            [
                "--netG",
                str(netG),
                "--class_names",
                *CLASSES,
                "--out",
                str(tmp_path / "fig"),
                "--steps_per_leg",
                "4",
                "--num_samples",
                "8",
            ]
        )
        == 0
    )
    gif = Image.open(tmp_path / "fig" / "cell_cycle.gif")
    assert gif.n_frames == 3 * 4 and (tmp_path / "fig" / "samples_Sid2.png").is_file()
    assert (
        nearest_neighbors_main(
            [
                "--query_datasets",
                str(lin / "train"),
                "--search_dataset",
                str(lin / "train"),
                "--out",
                str(tmp_path / "nn.pth"),
            ]
        )
        == 0
    )
    table = torch.load(tmp_path / "nn.pth", weights_only=True)
    assert len(table) == 24 and all(len(v) == 5 for row in table.values() for v in row.values())


def test_bad_flags_give_clear_errors(lin, tmp_path, capsys):
    base = [
        "--dataroot",
        str(lin / "train"),
        "--dataset_type",
        "folder-cached",
        "--experiment",
        str(tmp_path),
    ]
    with pytest.raises(SystemExit):
        main([*base, "--model_type", "DCGAN-star"])
    assert "--model_type: 'DCGAN-star' is not one of" in capsys.readouterr().err
    assert main([*base, "--model_type", "DCGAN", "--num_workers", "0"]) == 2  # default 64x64 vs 16x32 data
    assert "--image_height/--image_width are 64x64" in capsys.readouterr().err
    assert main([*base, "--model_type", "DCGAN-star-shaped", *SMALL]) == 2
    assert "needs --dataset_type conditional-cached" in capsys.readouterr().err
    assert main(["--mode", "eval-gen-vs-real", *base, "--model_type", "DCGAN", "--test_data", "x"]) == 2
    assert "--netG" in capsys.readouterr().err
