"""TIFF / PNG / JPEG readers and writers: exact round trips, metadata, bit depth, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from insilico_core.data import (
    ImageData,
    float_to_integer,
    read_image,
    read_png,
    read_tiff,
    write_image,
    write_imagej_hyperstack,
    write_jpeg,
    write_png,
    write_tiff,
)
from PIL import Image


def _pixels(shape: tuple[int, ...], dtype: str, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "f":
        return rng.normal(0.0, 1000.0, size=shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float32"])
@pytest.mark.parametrize(
    ("shape", "axes"), [((13, 17), "YX"), ((4, 13, 17), "ZYX"), ((2, 3, 13, 17), "TCYX")]
)
def test_tiff_round_trip_is_exact(tmp_path, dtype, shape, axes):
    array = _pixels(shape, dtype)
    write_tiff(tmp_path / "a.tif", array, axes=axes)
    image = read_tiff(tmp_path / "a.tif")
    assert image.dtype == np.dtype(dtype)
    assert image.axes == axes
    np.testing.assert_array_equal(image.array, array)
    # an independent reader sees the same pixels
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "a.tif"), array)


def test_three_plane_stack_is_not_taken_for_rgb_and_rgb_needs_samples_axis(tmp_path):
    planes = _pixels((3, 6, 7), "uint16")
    write_tiff(tmp_path / "planes.tif", planes)
    assert read_tiff(tmp_path / "planes.tif").shape == (3, 6, 7)
    rgb = _pixels((6, 7, 3), "uint8")
    write_tiff(tmp_path / "rgb.tif", rgb, axes="YXS")
    image = read_tiff(tmp_path / "rgb.tif")
    assert image.axes == "YXS"
    np.testing.assert_array_equal(image.array, rgb)
    with tifffile.TiffFile(tmp_path / "rgb.tif") as tif:
        assert tif.pages[0].photometric == tifffile.PHOTOMETRIC.RGB


def test_sixteen_bit_values_above_255_survive_tiff_and_png(tmp_path):
    array = np.array([[0, 255, 256, 4095], [30000, 65535, 1000, 2200]], dtype=np.uint16)
    for name in ("a.tif", "a.png"):
        write_image(tmp_path / name, array)
        back = read_image(tmp_path / name).array
        assert back.dtype == np.uint16
        np.testing.assert_array_equal(back, array)
    with Image.open(tmp_path / "a.png") as image:
        assert image.mode.startswith("I;16")  # a real 16-bit PNG, not an 8-bit one


def test_imagej_hyperstack_opens_with_channels_slices_frames(tmp_path):
    array = _pixels((3, 2, 2, 8, 9), "uint16")
    write_imagej_hyperstack(tmp_path / "h.tif", array, pixel_size_um=0.0325, channel_names=["BF", "GFP"])
    with tifffile.TiffFile(tmp_path / "h.tif") as tif:
        assert tif.is_imagej
        assert tif.series[0].axes == "TZCYX"
        meta = tif.imagej_metadata
        assert (meta["frames"], meta["slices"], meta["channels"]) == (3, 2, 2)
        assert meta["hyperstack"] is True
        assert meta["unit"] == "um"
        np.testing.assert_array_equal(tif.asarray(), array)
    image = read_tiff(tmp_path / "h.tif")
    assert image.axes == "TZCYX"
    assert image.pixel_size_um == pytest.approx(0.0325, rel=1e-6)
    assert image.channel_names == ("BF", "GFP")


@pytest.mark.parametrize("dtype", ["uint8", "float32"])
def test_imagej_tiff_keeps_dtype_and_pixel_size(tmp_path, dtype):
    array = _pixels((5, 7, 6), dtype)
    write_tiff(tmp_path / "ij.tif", array, axes="ZYX", imagej=True, pixel_size_um=0.2)
    image = read_tiff(tmp_path / "ij.tif")
    assert (image.axes, image.dtype) == ("ZYX", np.dtype(dtype))
    assert image.pixel_size_um == pytest.approx(0.2)
    np.testing.assert_array_equal(image.array, array)


def test_ome_tiff_physical_pixel_size_is_read(tmp_path):
    array = _pixels((2, 10, 12), "uint16")
    metadata = {"axes": "CYX", "PhysicalSizeX": 65.0, "PhysicalSizeXUnit": "nm", "PhysicalSizeY": 65.0}
    tifffile.imwrite(tmp_path / "a.ome.tif", array, ome=True, metadata=metadata)
    image = read_image(tmp_path / "a.ome.tif")
    assert image.axes == "CYX"
    assert image.pixel_size_um == pytest.approx(0.065)
    np.testing.assert_array_equal(image.array, array)


def test_plain_tiff_pixel_size_in_centimetre_units(tmp_path):
    write_tiff(tmp_path / "a.tif", _pixels((4, 4), "uint8"), pixel_size_um=0.5)
    with tifffile.TiffFile(tmp_path / "a.tif") as tif:
        pixels_per_cm = tif.pages[0].tags["XResolution"].value
    assert pixels_per_cm[0] / pixels_per_cm[1] == pytest.approx(2e4)
    assert read_tiff(tmp_path / "a.tif").pixel_size_um == pytest.approx(0.5)


def test_dpi_placeholder_resolution_is_not_a_pixel_size(tmp_path):
    tifffile.imwrite(tmp_path / "a.tif", _pixels((4, 4), "uint8"), resolution=(72, 72), resolutionunit="INCH")
    assert read_tiff(tmp_path / "a.tif").pixel_size_um is None


def test_multi_page_tiff_written_by_another_tool(tmp_path):
    pages = _pixels((6, 9, 11), "uint16")
    with tifffile.TiffWriter(tmp_path / "pages.tif") as writer:
        for page in pages:
            writer.write(page, contiguous=True)
    image = read_tiff(tmp_path / "pages.tif")
    assert image.shape == (6, 9, 11)
    np.testing.assert_array_equal(image.array, pages)


@pytest.mark.parametrize(
    ("shape", "dtype"),
    [((11, 13), "uint8"), ((11, 13), "uint16"), ((11, 13, 3), "uint8"), ((11, 13, 4), "uint8")],
)
def test_png_round_trip_is_exact(tmp_path, shape, dtype):
    array = _pixels(shape, dtype)
    write_png(tmp_path / "a.png", array)
    image = read_png(tmp_path / "a.png")
    assert image.dtype == np.dtype(dtype)
    assert image.axes == ("YX" if len(shape) == 2 else "YXS")
    np.testing.assert_array_equal(image.array, array)
    with Image.open(tmp_path / "a.png") as reference:
        np.testing.assert_array_equal(np.asarray(reference).astype(dtype), array)


def test_palette_and_one_bit_pngs_are_expanded(tmp_path):
    indices = np.array([[0, 1], [2, 1]], dtype=np.uint8)
    palette = Image.new("P", (2, 2))
    palette.putdata(indices.ravel().tolist())
    palette.putpalette([10, 20, 30, 200, 100, 0, 0, 0, 255] + [0] * (256 * 3 - 9))
    palette.save(tmp_path / "p.png")
    rgb = read_png(tmp_path / "p.png")
    assert rgb.axes == "YXS"
    np.testing.assert_array_equal(rgb.array[0, 1], [200, 100, 0])
    Image.fromarray(np.array([[True, False]])).save(tmp_path / "b.png")
    np.testing.assert_array_equal(read_png(tmp_path / "b.png").array, [[255, 0]])


def test_jpeg_round_trip_is_close(tmp_path):
    yy, xx = np.mgrid[0:32, 0:32]
    array = np.stack([xx * 8, yy * 8, (xx + yy) * 4], axis=-1).astype(np.uint8)
    write_jpeg(tmp_path / "a.jpg", array, quality=98)
    image = read_image(tmp_path / "a.jpg")
    assert image.shape == array.shape and image.dtype == np.uint8
    assert np.abs(image.array.astype(int) - array).mean() < 2.0


def test_writers_refuse_float_for_integer_formats_and_conversion_is_explicit(tmp_path):
    values = np.array([[0.0, 0.25], [0.5, 1.0]], dtype=np.float32)
    with pytest.raises(ValueError, match="float_to_integer"):
        write_png(tmp_path / "a.png", values)
    with pytest.raises(ValueError, match="a.png"):
        write_png(tmp_path / "a.png", values)
    converted = float_to_integer(values, "uint16", value_range=(0.0, 1.0))
    np.testing.assert_array_equal(converted, [[0, 16384], [32768, 65535]])
    np.testing.assert_array_equal(float_to_integer(np.array([-1.0, 2.0]), "uint8"), [0, 255])
    with pytest.raises(ValueError, match="16-bit colour"):
        write_png(tmp_path / "rgb.png", np.zeros((4, 4, 3), np.uint16))
    with pytest.raises(ValueError, match="ImageJ"):
        write_tiff(tmp_path / "a.tif", np.zeros((4, 4), np.int32), imagej=True)


def test_image_data_behaves_like_its_array():
    image = ImageData(np.arange(6, dtype=np.uint16).reshape(2, 3), "YX")
    np.testing.assert_array_equal(np.asarray(image), image.array)
    assert image.shape == (2, 3) and image.dtype == np.uint16
    with pytest.raises(ValueError, match="axes"):
        ImageData(np.zeros((2, 3)), "ZYX")


def test_bad_input_errors_name_the_file(tmp_path):
    missing = tmp_path / "missing.tif"
    with pytest.raises(FileNotFoundError, match="missing.tif"):
        read_image(missing)
    with pytest.raises(FileNotFoundError, match="missing.png"):
        read_image(tmp_path / "missing.png")
    unsupported = tmp_path / "a.bmpx"
    unsupported.write_bytes(b"\x00")
    with pytest.raises(ValueError, match="a.bmpx"):
        read_image(unsupported)
    with pytest.raises(ValueError, match="a.bmpx"):
        write_image(unsupported, np.zeros((2, 2), np.uint8))
    for name in ("garbage.tif", "garbage.png"):
        (tmp_path / name).write_bytes(b"this is not an image at all")
        with pytest.raises(ValueError, match=name):
            read_image(tmp_path / name)
    # a valid TIFF header with nothing readable behind it
    (tmp_path / "truncated.tif").write_bytes(b"II*\x00\x08\x00\x00\x00\x00\x00")
    with pytest.raises(ValueError, match="truncated.tif"):
        read_image(tmp_path / "truncated.tif")
    with pytest.raises(ValueError, match="h.tif"):
        write_imagej_hyperstack(tmp_path / "h.tif", np.zeros((2, 3, 4), np.uint8))
