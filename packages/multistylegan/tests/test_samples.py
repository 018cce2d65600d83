"""multistylegan-samples and multistylegan-interpolate on a width-reduced checkpoint; checkpoint errors."""

from __future__ import annotations

from pathlib import Path

import click
import multistylegan as msg
import numpy as np
import pytest
import tifffile
import torch
from click.testing import CliRunner, Result
from multistylegan import cli
from multistylegan.losses import PathLengthRegularization
from multistylegan.sample import choose_video_encoder, interpolation_latents
from PIL import Image

RESOLUTION = 32


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    generator, discriminator = msg.build_model(
        generator_channels=8, resolution=RESOLUTION, discriminator_channels=16
    )
    ema = msg.Generator(config=msg.generator_config(channels=8, resolution=RESOLUTION))
    # A trained-looking EMA: output biases that put the images inside (0, 1)
    with torch.no_grad():
        for block in (ema.starting_output_block_1, ema.starting_output_block_2):
            block.bias.fill_(0.5)
    g_opt = torch.optim.Adam(generator.get_parameters(2e-4, 2e-6))
    d_opt = torch.optim.Adam(discriminator.parameters())
    path = tmp_path_factory.mktemp("checkpoint") / "checkpoint_100.pt"
    msg.save_checkpoint(path, ema, generator, g_opt, discriminator, d_opt, PathLengthRegularization())
    return path


def _run(command: click.Command, checkpoint: Path, out: Path, flags: str = "") -> Result:
    """``command --load_checkpoint <checkpoint> --out <out> <flags>`` through click's test runner."""
    arguments = ["--load_checkpoint", str(checkpoint), "--out", str(out), *flags.split()]
    return CliRunner().invoke(command, arguments)


def test_samples_png_as_the_original(checkpoint: Path, tmp_path: Path):
    result = _run(cli.samples, checkpoint, tmp_path, "--samples 3 --device cpu --batch_size 2 --seed 1")
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(f"sample_{d}_{i}.png" for d in ("bf", "gfp") for i in range(3))
    bf = np.asarray(Image.open(tmp_path / "sample_bf_0.png"))
    gfp = np.asarray(Image.open(tmp_path / "sample_gfp_0.png"))
    assert bf.shape == gfp.shape == (RESOLUTION, 3 * RESOLUTION, 3)
    assert np.array_equal(bf[..., 0], bf[..., 1]) and np.array_equal(bf[..., 0], bf[..., 2])
    assert not gfp[..., 0].any() and not gfp[..., 2].any() and gfp[..., 1].any()
    # the files hold the generator's output for the seeded latents, quantised like torchvision
    generator = msg.load_generator(checkpoint)
    torch.manual_seed(1)
    latents = torch.randn(3, 512)
    torch.manual_seed(1)
    torch.randn(3, 512)
    with torch.no_grad():
        images = generator(latents[:2])
    expected = (
        (images[0, 0].permute(1, 0, 2).reshape(RESOLUTION, -1) * 255 + 0.5).clamp(0, 255).to(torch.uint8)
    )
    assert np.array_equal(bf[..., 0], expected.numpy())


def test_samples_tiff_hyperstack(checkpoint: Path, tmp_path: Path):
    result = _run(cli.samples, checkpoint, tmp_path, "--samples 2 --format tiff --device cpu")
    assert result.exit_code == 0, result.output
    with tifffile.TiffFile(tmp_path / "sample_1.tif") as tif:
        assert tif.is_imagej
        assert tif.imagej_metadata["frames"] == 3 and tif.imagej_metadata["channels"] == 2
        stack = tif.asarray()
    assert stack.shape == (3, 2, RESOLUTION, RESOLUTION) and stack.dtype == np.float32


def test_interpolation_frames_and_gif(checkpoint: Path, tmp_path: Path):
    flags = "--device cpu --anchors 2 --frames 5 --batch_size 2 --encoder gif --fps 10"
    result = _run(cli.interpolate, checkpoint, tmp_path, flags)
    assert result.exit_code == 0, result.output
    frames = sorted((tmp_path / "video_gan").iterdir())
    assert [f.name for f in frames] == [f"frame_{i:05d}.png" for i in range(5)]
    first = np.asarray(Image.open(frames[0]))
    assert first.shape == (2 * RESOLUTION, 3 * RESOLUTION, 3)
    assert not first[RESOLUTION:, :, 0].any()  # GFP row is green only
    gif = Image.open(tmp_path / "video_gan_2.gif")
    assert gif.n_frames == 5 and gif.size == (3 * RESOLUTION, 2 * RESOLUTION)


def test_interpolation_latents_pass_through_anchors():
    latents = interpolation_latents(anchors=3, frames=9, latent_dimensions=4, seed=5)
    torch.manual_seed(5)
    anchors = torch.randn(3, 4)
    torch.testing.assert_close(latents[[0, 4, 8]], anchors)
    torch.testing.assert_close(latents[2], 0.5 * (anchors[0] + anchors[1]))


def test_video_encoder_is_checked_before_generating(checkpoint: Path, tmp_path: Path):
    assert choose_video_encoder(which=lambda name: "/opt/bin/ffmpeg", allow=("ffmpeg",)).kind == "ffmpeg"
    assert choose_video_encoder(which=lambda name: None, allow=("ffmpeg", "gif")).kind == "gif"
    with pytest.raises(ValueError, match="no video encoder"):
        choose_video_encoder(which=lambda name: None, allow=("ffmpeg",))
    if choose_video_encoder(allow=("ffmpeg", "imageio", "gif")).kind == "ffmpeg":
        pytest.skip("an ffmpeg is installed here")
    result = _run(cli.interpolate, checkpoint, tmp_path, "--encoder ffmpeg")
    assert result.exit_code != 0 and "--encoder" in result.output
    assert not (tmp_path / "video_gan").exists()


def test_checkpoint_errors(tmp_path: Path, checkpoint: Path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        msg.load_generator(tmp_path / "absent.pt")
    other = tmp_path / "other_model.pt"
    torch.save({"netG": {"weight": torch.zeros(2)}}, other)
    with pytest.raises(ValueError, match="not a Multi-StyleGAN checkpoint"):
        msg.load_generator(other)
    with pytest.raises(ValueError, match="which"):
        msg.load_generator(checkpoint, which="discriminator")
    result = _run(cli.samples, other, tmp_path)
    assert result.exit_code != 0 and "not a Multi-StyleGAN checkpoint" in str(result.exception)


def _reprefixed(state: dict, old: str, new: str) -> dict:
    return {new + key.removeprefix(old): value for key, value in state.items()}


@pytest.mark.parametrize(
    ("generator_prefix", "discriminator_prefix"), [("", ""), ("", "discriminator."), ("module.", "module.")]
)
def test_every_original_prefix_loads_strictly(
    checkpoint: Path, tmp_path: Path, generator_prefix, discriminator_prefix
):
    raw = msg.load_checkpoint(checkpoint)
    variant = {
        "generator_ema": _reprefixed(raw["generator_ema"], "module.", generator_prefix),
        "discriminator": _reprefixed(raw["discriminator"], "discriminator.module.", discriminator_prefix),
    }
    path = tmp_path / "variant.pt"
    torch.save(variant, path)
    reference = msg.load_generator(checkpoint).state_dict()
    for key, value in msg.load_generator(path).state_dict().items():
        assert torch.equal(value, reference[key])
    assert msg.load_discriminator(path).input_planes == 6


def test_incomplete_state_dict_is_rejected(checkpoint: Path, tmp_path: Path):
    raw = msg.load_checkpoint(checkpoint)
    broken = dict(raw, generator_ema={k: v for k, v in raw["generator_ema"].items() if "noises" not in k})
    torch.save(broken, tmp_path / "broken.pt")
    with pytest.raises(RuntimeError, match="Missing key"):
        msg.load_generator(tmp_path / "broken.pt")
