"""Command lines: the README commands of the original parse verbatim with each model's defaults."""

from __future__ import annotations

import shlex

import pytest
import torch
from tagan.options import parse_options

README_TRAIN = [
    "--dataroot=AxonalRingsDataset --model=TAGAN_AxonalRings",
    "--dataroot=DendriticFActinDataset --model=TAGAN_Dendrites",
    "--dataroot=SynapticProteinsDataset --model=TAGAN_Synprot",
    "--dataroot=SAureusDataset --model=TAGAN_SAureus",
    "--dataroot=SimulatedNanodomainsDataset --model=TAGAN_SimulatedNanomdomains",
    "--dataroot=LiveFActinDataset --model=TAGAN_live --dataset_mode=live_train --continue --epoch=pretrained "
    "--name=LiveFActin",
    "--dataroot=DomainAdaptedLiveDataset --model=segmentation",
    "--dataroot=FixedLiveDataset --model=TAGAN_cycle --dataset_mode=fixed_live",
    "--dataroot=AxonalRingsDataset --model=pix2pix",
    "--dataroot=AxonalRingsDataset --model=cycle-gan --dataset_mode=aligned",
]
README_TEST = [
    "--dataroot=AxonalRingsDataset --model=TAGAN_AxonalRings --epoch=1000 --name=AxonalRings",
    "--dataroot=DendriticFActinDataset --model=TAGAN_Dendrites --epoch=500 --name=DendriticFActin",
    "--dataroot=SynapticProteinsDataset --model=TAGAN_Synprot --epoch=200 --name=SynapticProteins "
    "--preprocess=bottomhalf",
    "--dataroot=SynapticProteinsDataset --model=TAGAN_Synprot --epoch=200 --name=SynapticProteins "
    "--preprocess=tophalf",
    "--dataroot=SAureusDataset --model=TAGAN_SAureus --epoch=best --name=SAureus_precise",
    "--dataroot=SimulatedNanodomainsDataset --model=TAGAN_SimulatedNanodomains --epoch=400 "
    "--name=SimulatedNanodomains",
    "--dataroot=LiveFActinDataset --model=TAGAN_live --epoch=5000 --name=LiveFActin --phase=20201130_cs4 "
    "--dataset_mode=live_test --preprocess=center --crop_size=512",
    "--dataroot=FixedLiveDataset --model=TAGAN_cycle --dataset_mode=fixed_live --phase=train",
]


def parse(command: str, is_train: bool, tmp_path):
    argv = shlex.split(command) + [f"--checkpoints_dir={tmp_path}"]
    return parse_options(argv, is_train=is_train)


@pytest.mark.parametrize("command", README_TRAIN)
def test_readme_train_commands_parse(command, tmp_path):
    opt = parse(command, True, tmp_path)
    assert (tmp_path / opt.name / "train_opt.txt").is_file()


@pytest.mark.parametrize("command", README_TEST)
def test_readme_test_commands_parse(command, tmp_path):
    opt = parse(command, False, tmp_path)
    assert opt.num_gens == 1 and not opt.eval
    assert (tmp_path / opt.name / f"{opt.phase}_opt.txt").is_file()


def test_model_defaults_per_phase(tmp_path):
    train = parse(README_TRAIN[0], True, tmp_path)
    assert (train.norm, train.netG, train.netS, train.dataset_mode) == (
        "batch",
        "resnet_9blocks",
        "resnet_6blocks",
        "axons",
    )
    assert (train.batch_size, train.crop_size, train.preprocess) == (8, 128, "crop_rotation")
    assert (train.niter, train.niter_decay, train.gan_mode, train.pool_size) == (900, 100, "vanilla", 0)
    assert (train.lambda_GAN, train.lambda_seg) == (1, 10)
    dendrites_test = parse(README_TEST[1], False, tmp_path)
    assert dendrites_test.preprocess == "flip_rotation" and dendrites_test.load_size == 256
    dendrites_train = parse(README_TRAIN[1], True, tmp_path)
    assert (dendrites_train.preprocess, dendrites_train.batch_size, dendrites_train.niter) == (
        "crop_rotation",
        32,
        500,
    )
    synprot = parse(README_TRAIN[2], True, tmp_path)
    assert (synprot.input_nc, synprot.output_nc, synprot.save_epoch_freq) == (2, 2, 100)
    nano = parse(README_TRAIN[4], True, tmp_path)
    assert (nano.model, nano.batch_size, nano.preprocess, nano.lambda_seg) == (
        "TAGAN_SimulatedNanodomains",
        64,
        "rotation",
        100,
    )
    cycle = parse(README_TRAIN[7], True, tmp_path)
    assert (cycle.crop_size, cycle.pool_size, cycle.lambda_A, cycle.lambda_seg) == (224, 50, 10.0, 1)
    cycle_gan = parse(README_TRAIN[9], True, tmp_path)
    assert cycle_gan.model == "cycle_gan" and cycle_gan.no_dropout and cycle_gan.norm == "instance"


def test_readme_abbreviation_and_live_fixes(tmp_path):
    live_train = parse(README_TRAIN[5], True, tmp_path)
    assert live_train.continue_train and live_train.epoch == "pretrained"
    assert live_train.netS == "unet_128" and not live_train.legacy_live_adversarial
    live_test = parse(README_TEST[6], False, tmp_path)
    assert live_test.load_size == 512  # the original failed its load_size >= crop_size assertion here
    saureus = parse(README_TEST[4] + " --num_gens=10", False, tmp_path)
    assert saureus.num_gens == 10  # the original defined --num_gens twice and crashed


def test_gpu_ids_fall_back_to_cpu(tmp_path, capsys):
    opt = parse(README_TRAIN[0], True, tmp_path)
    if torch.cuda.is_available():
        assert opt.gpu_ids == [0]
    else:
        assert opt.gpu_ids == [] and opt.device == torch.device("cpu")
        assert "CUDA is not available" in capsys.readouterr().out
    assert parse(README_TRAIN[0] + " --gpu_ids=-1", True, tmp_path).gpu_ids == []


def test_suffix_and_options_file(tmp_path):
    opt = parse(README_TRAIN[0] + " --name=run --suffix={netG}_b{batch_size} --batch_size=2", True, tmp_path)
    assert opt.name == "run_resnet_9blocks_b2"
    text = (tmp_path / opt.name / "train_opt.txt").read_text()
    assert "               batch_size: 2                             \t[default: 8]" in text


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("--dataroot=x --model=TAGAN_Unknown", "--model 'TAGAN_Unknown'"),
        ("--dataroot=x --model=TAGAN_AxonalRings --dataset_mode=unaligned", "--dataset_mode 'unaligned'"),
        ("--dataroot=x --model=TAGAN_AxonalRings --gpu_ids=a", "--gpu_ids"),
        (
            "--dataroot=x --model=TAGAN_AxonalRings --preprocess=resize_and_crop --load_size=64",
            "--load_size 64",
        ),
    ],
)
def test_bad_flags_name_the_flag(command, message, tmp_path):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        parse(command, True, tmp_path)


def test_unknown_flag_is_an_argparse_error(tmp_path):
    with pytest.raises(SystemExit):
        parse("--dataroot=x --model=TAGAN_AxonalRings --not_a_flag=1", True, tmp_path)
