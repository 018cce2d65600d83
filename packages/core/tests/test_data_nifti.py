"""NIfTI-1 reader / writer: hand-packed headers (both byte orders, scaling, sform / qform / base affine),
round trips, read_image dispatch, bad input, and nibabel as an independent reader / writer when installed."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
from insilico_core.data import read_image, read_nifti, write_nifti
from insilico_core.data.nifti import (
    decode_nifti,
    encode_nifti,
    quaternion_to_rotation,
    rotation_to_quaternion,
)


def _header(
    order: str,
    shape: tuple[int, ...],
    datatype: int,
    bitpix: int,
    *,
    pixdim=(1.0, 1.0, 1.0, 1.0),
    vox_offset: float = 352.0,
    slope: float = 0.0,
    inter: float = 0.0,
    qform_code: int = 0,
    sform_code: int = 0,
    quatern=(0.0, 0.0, 0.0),
    qoffset=(0.0, 0.0, 0.0),
    srow=((0.0,) * 4,) * 3,
    magic: bytes = b"n+1\x00",
) -> bytes:
    """The documented NIfTI-1 header fields packed one by one at their offsets (independent of the module)."""
    dim = [len(shape), *shape] + [1] * (7 - len(shape))
    parts = [
        struct.pack(order + "i", 348),  # sizeof_hdr
        b"\x00" * 10 + b"\x00" * 18,  # data_type, db_name
        struct.pack(order + "ihcc", 0, 0, b"r", b"\x00"),  # extents, session_error, regular, dim_info
        struct.pack(order + "8h", *dim),
        struct.pack(order + "3f", 0, 0, 0),  # intent_p1..3
        struct.pack(order + "hhhh", 0, datatype, bitpix, 0),  # intent_code, datatype, bitpix, slice_start
        struct.pack(order + "8f", *(list(pixdim) + [1.0] * (8 - len(pixdim)))),
        struct.pack(order + "3f", vox_offset, slope, inter),
        struct.pack(order + "hcc", 0, b"\x00", b"\x02"),  # slice_end, slice_code, xyzt_units (mm)
        struct.pack(order + "4f", 0, 0, 0, 0),  # cal_max, cal_min, slice_duration, toffset
        struct.pack(order + "2i", 0, 0),  # glmax, glmin
        b"\x00" * 80 + b"\x00" * 24,  # descrip, aux_file
        struct.pack(order + "2h", qform_code, sform_code),
        struct.pack(order + "6f", *quatern, *qoffset),
        struct.pack(order + "12f", *np.asarray(srow, np.float64).ravel()),
        b"\x00" * 16,  # intent_name
        magic,
    ]
    header = b"".join(parts)
    assert len(header) == 348
    return header


def _file(header: bytes, voxels: bytes, vox_offset: int = 352) -> bytes:
    return header + b"\x00" * (vox_offset - 348) + voxels


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize(
    ("dtype", "code", "bitpix"),
    [("u1", 2, 8), ("i2", 4, 16), ("i4", 8, 32), ("f4", 16, 32), ("f8", 64, 64)],
)
def test_hand_built_file_reads_in_fortran_order_both_endians(tmp_path, order, dtype, code, bitpix):
    rng = np.random.default_rng(0)
    volume = (rng.random((3, 4, 5)) * 100).astype(dtype)
    srow = np.array([[2.0, 0, 0, -10], [0, 3.0, 0, 20], [0, 0, 4.0, 30]])
    header = _header(order, volume.shape, code, bitpix, sform_code=2, srow=srow)
    voxels = volume.astype(np.dtype(dtype).newbyteorder(order)).tobytes(order="F")
    path = tmp_path / "v.nii"
    path.write_bytes(_file(header, voxels))
    array, affine = read_nifti(path)
    assert array.dtype == np.dtype(dtype) and array.shape == (3, 4, 5)
    np.testing.assert_array_equal(array, volume)
    np.testing.assert_array_equal(affine, np.vstack([srow, [0, 0, 0, 1]]))


def test_vox_offset_gzip_and_scaling_are_applied(tmp_path):
    volume = np.arange(24, dtype=np.int16).reshape(2, 3, 4)
    header = _header("<", volume.shape, 4, 16, vox_offset=400.0, slope=0.5, inter=-3.0)
    path = tmp_path / "s.nii.gz"
    path.write_bytes(gzip.compress(_file(header, volume.tobytes(order="F"), vox_offset=400)))
    array, _ = read_nifti(path)
    assert array.dtype == np.float64
    np.testing.assert_allclose(array, volume * 0.5 - 3.0)
    raw = read_image(path)  # read_image keeps the stored values and records the scaling
    assert raw.dtype == np.int16 and raw.axes == "XYZ"
    np.testing.assert_array_equal(raw.array, volume)
    assert raw.metadata["scl_slope"] == 0.5 and raw.metadata["scl_inter"] == -3.0


def test_qform_affine_from_quaternion_and_qfac(tmp_path):
    # 90 degrees about z: quaternion (a, b, c, d) = (cos 45, 0, 0, sin 45)
    s = np.sqrt(0.5)
    header = _header(
        "<", (2, 2, 2), 2, 8, pixdim=(-1.0, 2.0, 3.0, 4.0), qform_code=1, quatern=(0, 0, s), qoffset=(5, 6, 7)
    )
    path = tmp_path / "q.nii"
    path.write_bytes(_file(header, bytes(8)))
    _, affine = read_nifti(path)
    rotation_z90 = np.array([[0, -1, 0], [1, 0, 0], [0, 0, 1.0]])
    expected = np.eye(4)
    expected[:3, :3] = rotation_z90 @ np.diag([2.0, 3.0, -4.0])  # qfac -1 flips the third axis
    expected[:3, 3] = [5, 6, 7]
    np.testing.assert_allclose(affine, expected, atol=1e-6)


def test_no_transform_codes_give_the_analyze_base_affine(tmp_path):
    header = _header("<", (5, 3, 1), 2, 8, pixdim=(1.0, 2.0, 3.0, 4.0))
    path = tmp_path / "b.nii"
    path.write_bytes(_file(header, bytes(15)))
    _, affine = read_nifti(path)
    expected = np.array([[-2.0, 0, 0, 4.0], [0, 3.0, 0, -3.0], [0, 0, 4.0, 0.0], [0, 0, 0, 1]])
    np.testing.assert_allclose(affine, expected)


@pytest.mark.parametrize("name", ["r.nii", "r.nii.gz"])
@pytest.mark.parametrize("dtype", ["uint8", "int16", "int32", "float32", "float64"])
def test_write_read_round_trip_keeps_values_and_affine(tmp_path, name, dtype):
    rng = np.random.default_rng(1)
    array = (rng.random((6, 5, 1)) * 200).astype(dtype)
    affine = np.array([[-1.0, 0, 0, 90], [0, 1.0, 0, -126], [0, 0, 1.0, -72], [0, 0, 0, 1]])
    write_nifti(tmp_path / name, array, affine)
    back, back_affine = read_nifti(tmp_path / name)
    assert back.dtype == array.dtype
    np.testing.assert_array_equal(back, array)
    np.testing.assert_allclose(back_affine, affine)
    payload = encode_nifti(array, affine, compress=name.endswith(".gz"))  # in-memory form (zip members)
    assert payload == (tmp_path / name).read_bytes()
    np.testing.assert_array_equal(decode_nifti(payload, name)[0], array)


def test_written_header_fields_match_the_specification(tmp_path):
    affine = np.array([[0, -2.0, 0, 1], [3.0, 0, 0, 2], [0, 0, -4.0, 3], [0, 0, 0, 1]])
    write_nifti(tmp_path / "h.nii", np.zeros((4, 3, 2), np.uint8), affine)
    data = (tmp_path / "h.nii").read_bytes()
    assert len(data) == 352 + 24
    assert struct.unpack("<i", data[:4])[0] == 348 and data[344:348] == b"n+1\x00"
    assert struct.unpack("<8h", data[40:56]) == (3, 4, 3, 2, 1, 1, 1, 1)
    assert struct.unpack("<2h", data[70:74]) == (2, 8)  # uint8, 8 bits
    assert struct.unpack("<f", data[108:112])[0] == 352.0
    assert struct.unpack("<2h", data[252:256]) == (0, 2)
    np.testing.assert_allclose(np.array(struct.unpack("<12f", data[280:328])).reshape(3, 4), affine[:3])
    pixdim = struct.unpack("<8f", data[76:108])
    assert pixdim[0] == -1.0 and pixdim[1:4] == (3.0, 2.0, 4.0)  # det < 0 -> qfac -1; column norms
    # the stored quaternion + qfac + zooms rebuild the same affine
    rzs = quaternion_to_rotation(struct.unpack("<3f", data[256:268])) * np.array([3.0, 2.0, -4.0])
    np.testing.assert_allclose(rzs, affine[:3, :3], atol=1e-5)


def test_quaternion_conversion_round_trips_random_rotations():
    rng = np.random.default_rng(2)
    for _ in range(20):
        q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
        q *= np.sign(np.linalg.det(q))
        quat = rotation_to_quaternion(q)
        assert quat[0] >= 0 and np.isclose(np.linalg.norm(quat), 1)
        np.testing.assert_allclose(quaternion_to_rotation(quat[1:]), q, atol=1e-10)


def test_bad_input_raises_naming_the_file(tmp_path):
    good = tmp_path / "g.nii"
    write_nifti(good, np.ones((4, 4, 4), np.float32))
    data = good.read_bytes()
    cases = {
        "short.nii": data[:200],
        "truncated.nii": data[:-10],
        "magic.nii": data[:344] + b"xyz\x00" + data[348:],
        "size.nii": struct.pack("<i", 540) + data[4:],
        "pair.nii": data[:344] + b"ni1\x00" + data[348:],
        "gz.nii.gz": gzip.compress(data)[:-20],
    }
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ValueError, match=name.replace(".", r"\.")):
            read_nifti(tmp_path / name)
    with pytest.raises(FileNotFoundError, match="missing.nii"):
        read_nifti(tmp_path / "missing.nii")
    with pytest.raises(ValueError, match="cannot store dtype"):
        write_nifti(tmp_path / "c.nii", np.zeros((2, 2), np.complex64))


def test_nibabel_reads_ours_and_we_read_nibabels(tmp_path):
    nib = pytest.importorskip("nibabel")
    rng = np.random.default_rng(3)
    affine = np.array([[-0.9, 0.1, 0, 90], [0.1, 0.9, 0.05, -126], [0, -0.05, 1.1, -72], [0, 0, 0, 1]])
    slice_ = (rng.random((8, 8, 1)) * 255).astype(np.uint8)
    write_nifti(tmp_path / "ours.nii.gz", slice_, affine)
    image = nib.load(tmp_path / "ours.nii.gz")
    np.testing.assert_array_equal(np.asarray(image.dataobj), slice_)
    np.testing.assert_allclose(image.affine, affine, atol=1e-6)
    # this affine shears, so a qform is only its nearest rotation x zooms: ours must be nibabel's encoding
    reference_qform = nib.Nifti1Image(slice_, affine).header.get_qform()
    np.testing.assert_allclose(image.header.get_qform(), reference_qform, atol=1e-5)
    assert image.header["sform_code"] == 2 and image.header["qform_code"] == 0

    volume = rng.normal(size=(5, 6, 7)).astype(np.float32)
    theirs = nib.Nifti1Image(volume, affine)
    theirs.header.set_slope_inter(2.0, 1.0)
    nib.save(theirs, tmp_path / "theirs.nii")
    array, back_affine = read_nifti(tmp_path / "theirs.nii")
    np.testing.assert_allclose(array, nib.load(tmp_path / "theirs.nii").get_fdata(), rtol=1e-6)
    np.testing.assert_allclose(back_affine, nib.load(tmp_path / "theirs.nii").affine, atol=1e-6)
