"""Sampling a trained generator: sample sequences (``multistylegan-samples``) and latent-space
interpolation videos (``multistylegan-interpolate``), as the original scripts do, on CPU or GPU.

The original scripts wrote into the current folder without seeding, shelled out to ``ffmpeg`` after
generating all 1600 frames (failing at the very end when it was missing), and never created the frame
folder. Here randomness is seeded, the output folder is created, and the video encoder is chosen before
anything is generated: ``ffmpeg`` on the PATH, else the one bundled with ``imageio-ffmpeg``, else an
animated GIF written with Pillow.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from insilico_core.data import write_png
from insilico_core.train import autocast, progress
from PIL import Image

from .images import domain_rgb, frames_side_by_side, save_sequence_pngs, save_sequence_tiff
from .models import Generator

__all__ = [
    "VideoEncoder",
    "choose_video_encoder",
    "generate_samples",
    "interpolation_frame",
    "interpolation_latents",
    "render_interpolation",
]


def _generate(generator: Generator, latents: torch.Tensor, precision: str, **forward: object) -> torch.Tensor:
    device = next(generator.parameters()).device
    with torch.no_grad(), autocast(device, precision):
        return generator(latents.to(device), **forward).float()


def generate_samples(
    generator: Generator,
    samples: int,
    out: str | os.PathLike,
    seed: int = 0,
    batch_size: int = 1,
    file_format: str = "png",
    precision: str = "fp32",
) -> list[Path]:
    """Write ``samples`` sequences from z ~ N(0, I) (no style mixing, fresh noise injection) into ``out``.

    ``png``: ``sample_bf_{i}.png`` and ``sample_gfp_{i}.png`` (3 frames side by side, as the original);
    ``tiff``: ``sample_{i}.tif``, an ImageJ hyperstack (T=3, C=2 BF/GFP, float32 values as generated).
    Returns the files written.
    """
    if samples < 1:
        raise ValueError(f"--samples must be >= 1, got {samples}")
    if batch_size < 1:
        raise ValueError(f"--batch_size must be >= 1, got {batch_size}")
    if file_format not in ("png", "tiff"):
        raise ValueError(f"--format must be 'png' or 'tiff', got {file_format!r}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    latents = torch.randn(samples, generator.latent_dimensions)
    written: list[Path] = []
    for start in progress(range(0, samples, batch_size), desc="Samples", unit="batch"):
        images = _generate(generator, latents[start : start + batch_size], precision)
        for offset, sequence in enumerate(images):
            index = start + offset
            if file_format == "png":
                written += save_sequence_pngs(sequence, out, "sample", index)
            else:
                written.append(save_sequence_tiff(sequence, out / f"sample_{index}.tif"))
    return written


def interpolation_latents(anchors: int, frames: int, latent_dimensions: int, seed: int = 0) -> torch.Tensor:
    """``anchors`` z ~ N(0, I) linearly interpolated (align_corners=True) to latents ``[frames, D]``."""
    if anchors < 2 or frames < anchors:
        raise ValueError(f"need at least 2 anchors and frames >= anchors, got {anchors} and {frames}")
    torch.manual_seed(seed)
    anchor_latents = torch.randn(anchors, latent_dimensions)
    curve = F.interpolate(anchor_latents.T[:, None], size=frames, mode="linear", align_corners=True)
    return curve[:, 0].T.contiguous()


def interpolation_frame(sequence: torch.Tensor) -> np.ndarray:
    """One video frame ``[2H, 3W, 3]`` uint8: BF frames t0|t1|t2 on top (grey), GFP below (green)."""
    rows = [domain_rgb(frames_side_by_side(frames), domain) for domain, frames in enumerate(sequence[:2])]
    return np.concatenate(rows, axis=0)


@dataclass(frozen=True)
class VideoEncoder:
    """How the frames become a video: ``kind`` is ``ffmpeg`` (``executable`` set) or ``gif``."""

    kind: str
    executable: str | None = None

    def output_name(self, video_name: str) -> str:
        return video_name if self.kind == "ffmpeg" else str(Path(video_name).with_suffix(".gif"))


def choose_video_encoder(
    which: Callable[[str], str | None] = shutil.which, allow: tuple[str, ...] = ("ffmpeg", "imageio", "gif")
) -> VideoEncoder:
    """The first available of ``allow``: ``ffmpeg`` on the PATH, the ``imageio-ffmpeg`` binary, Pillow GIF."""
    if "ffmpeg" in allow and (path := which("ffmpeg")):
        return VideoEncoder("ffmpeg", path)
    if "imageio" in allow:
        try:
            executable = importlib.import_module("imageio_ffmpeg").get_ffmpeg_exe()
        except (ImportError, RuntimeError):
            executable = None
        if executable:
            return VideoEncoder("ffmpeg", executable)
    if "gif" in allow:
        return VideoEncoder("gif")
    raise ValueError(f"no video encoder available among {allow}")


def _encode_video(
    encoder: VideoEncoder, frame_files: list[Path], size: tuple[int, int], fps: int, video: Path
) -> Path:
    if encoder.kind == "ffmpeg":
        width, height = size
        pattern = frame_files[0].parent / "frame_%05d.png"
        command = [encoder.executable, "-y", "-loglevel", "error", "-r", str(fps), "-f", "image2",
                   "-s", f"{width}x{height}", "-i", str(pattern), "-vcodec", "libx264", "-crf", "25",
                   "-pix_fmt", "yuv420p", str(video)]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"ffmpeg failed to write {video}: {result.stderr.strip()[-2000:]}")
        return video
    frames = (Image.open(path).convert("P", palette=Image.Palette.ADAPTIVE) for path in frame_files)
    first = next(frames)
    first.save(video, save_all=True, append_images=frames, duration=max(20, round(1000 / fps)), loop=0)
    return video


def render_interpolation(
    generator: Generator,
    out: str | os.PathLike,
    seed: int = 0,
    anchors: int = 16,
    frames: int = 1600,
    batch_size: int = 32,
    fps: int = 60,
    frames_dir: str = "video_gan",
    video_name: str = "video_gan_2.mp4",
    encoder: VideoEncoder | None = None,
    precision: str = "fp32",
) -> tuple[list[Path], Path]:
    """Render the latent walk with the generator's fixed noise buffers (``randomize_noise=False``) into
    ``<out>/<frames_dir>/frame_{index:05d}.png`` and encode ``<out>/<video_name>`` (``.gif`` without ffmpeg).

    The encoder is chosen (and reported) before any frame is generated. Returns (frame files, video file).
    """
    encoder = encoder or choose_video_encoder()
    out = Path(out)
    video = out / encoder.output_name(video_name)
    print(
        f"[multistylegan] video encoder: {encoder.kind}"
        + (f" ({encoder.executable})" if encoder.executable else "")
    )
    latents = interpolation_latents(anchors, frames, generator.latent_dimensions, seed)
    folder = out / frames_dir
    folder.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    for start in progress(range(0, frames, batch_size), desc="Frames", unit="batch"):
        images = _generate(generator, latents[start : start + batch_size], precision, randomize_noise=False)
        for offset, sequence in enumerate(images):
            files.append(write_png(folder / f"frame_{start + offset:05d}.png", interpolation_frame(sequence)))
    height, width = Image.open(files[0]).size[::-1]
    return files, _encode_video(encoder, files, (width, height), fps, video)
