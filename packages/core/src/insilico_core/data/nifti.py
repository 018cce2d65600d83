"""NIfTI-1 single-file images (``.nii`` and gzip-compressed ``.nii.gz``) without nibabel.

The format: a 348-byte header (little or big endian, told apart by ``sizeof_hdr == 348``), a 4-byte extension
flag, then the voxels from byte ``vox_offset`` on, in Fortran (first index fastest) order. Voxel ``(i, j, k)``
sits at world position ``affine @ (i, j, k, 1)``; the affine comes from the ``sform`` rows when
``sform_code > 0``, else from the ``qform`` quaternion when ``qform_code > 0``, else it is the Analyze-style
base affine (x flipped, origin at the volume centre) -- nibabel's ``get_best_affine`` order.

:func:`read_nifti` returns what nibabel's ``get_fdata()`` holds (stored values times ``scl_slope`` plus
``scl_inter`` when a slope is set), but keeps the stored dtype when no scaling applies; :func:`write_nifti`
writes the header fields ``nibabel.save(Nifti1Image(array, affine), path)`` writes for the geometry: sform
code 2 (aligned), qform code 0 with the quaternion, pixdim and offsets filled from the same affine (plus
millimetre units and an explicit unit slope).
"""

from __future__ import annotations

import gzip
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HEADER_SIZE = 348
VOX_OFFSET = 352  # header + the 4-byte extension flag (no extensions written)

# NIfTI datatype code -> numpy type (byte order is applied per file)
DATATYPES: dict[int, str] = {
    2: "u1",  # uint8
    4: "i2",  # int16
    8: "i4",  # int32
    16: "f4",  # float32
    64: "f8",  # float64
    256: "i1",  # int8
    512: "u2",  # uint16
    768: "u4",  # uint32
}
_CODES = {np.dtype(kind).str[1:]: code for code, kind in DATATYPES.items()}

# xyzt_units spatial code -> micrometres per unit
_SPATIAL_UNITS_UM = {1: 1e6, 2: 1e3, 3: 1.0}


@dataclass(frozen=True)
class NiftiHeader:
    """The header fields this module uses (the rest of the 348 bytes is informational)."""

    shape: tuple[int, ...]
    datatype: int
    pixdim: tuple[float, ...]  # pixdim[0..7]; pixdim[0] is qfac
    vox_offset: int
    scl_slope: float
    scl_inter: float
    xyzt_units: int
    qform_code: int
    sform_code: int
    quatern: tuple[float, float, float]
    qoffset: tuple[float, float, float]
    srow: np.ndarray  # [3, 4]
    byteorder: str  # "<" or ">"

    @property
    def scaled(self) -> bool:
        """Whether ``scl_slope`` / ``scl_inter`` change the stored values (a slope of 0 or NaN means none)."""
        if not np.isfinite(self.scl_slope) or self.scl_slope == 0:
            return False
        return bool(self.scl_slope != 1 or (np.isfinite(self.scl_inter) and self.scl_inter != 0))

    @property
    def spacing_um(self) -> float | None:
        """The first voxel spacing in micrometres when the units are recorded, else ``None``."""
        unit = _SPATIAL_UNITS_UM.get(self.xyzt_units & 0x07)
        return None if unit is None else float(self.pixdim[1]) * unit

    def affine(self) -> np.ndarray:
        """Voxel-to-world ``[4, 4]`` float64 affine (sform, else qform, else Analyze base affine)."""
        affine = np.eye(4)
        if self.sform_code > 0:
            affine[:3] = self.srow
            return affine
        zooms = np.array([self.pixdim[k] if k < len(self.pixdim) else 1.0 for k in (1, 2, 3)], np.float64)
        if self.qform_code > 0:
            qfac = -1.0 if self.pixdim[0] < 0 else 1.0
            affine[:3, :3] = quaternion_to_rotation(self.quatern) * (zooms * np.array([1.0, 1.0, qfac]))
            affine[:3, 3] = self.qoffset
            return affine
        shape = np.array((list(self.shape) + [1, 1, 1])[:3], np.float64)
        flipped = zooms * np.array([-1.0, 1.0, 1.0])
        affine[:3, :3] = np.diag(flipped)
        affine[:3, 3] = -(shape - 1) / 2 * flipped
        return affine


def quaternion_to_rotation(bcd: tuple[float, float, float]) -> np.ndarray:
    """NIfTI quaternion ``(b, c, d)`` (``a = sqrt(1 - b^2 - c^2 - d^2)``) -> rotation matrix ``[3, 3]``."""
    b, c, d = (float(v) for v in bcd)
    a = np.sqrt(max(0.0, 1.0 - (b * b + c * c + d * d)))
    return np.array(
        [
            [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
            [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
            [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b],
        ]
    )


def rotation_to_quaternion(rotation: np.ndarray) -> np.ndarray:
    """Proper rotation ``[3, 3]`` -> unit quaternion ``(a, b, c, d)`` with ``a >= 0`` (Shepperd's method)."""
    r = rotation
    trace = np.trace(r)
    candidates = [trace, r[0, 0], r[1, 1], r[2, 2]]
    k = int(np.argmax(candidates))
    if k == 0:
        s = 2 * np.sqrt(1 + trace)
        q = [s / 4, (r[2, 1] - r[1, 2]) / s, (r[0, 2] - r[2, 0]) / s, (r[1, 0] - r[0, 1]) / s]
    elif k == 1:
        s = 2 * np.sqrt(1 + r[0, 0] - r[1, 1] - r[2, 2])
        q = [(r[2, 1] - r[1, 2]) / s, s / 4, (r[0, 1] + r[1, 0]) / s, (r[0, 2] + r[2, 0]) / s]
    elif k == 2:
        s = 2 * np.sqrt(1 + r[1, 1] - r[0, 0] - r[2, 2])
        q = [(r[0, 2] - r[2, 0]) / s, (r[0, 1] + r[1, 0]) / s, s / 4, (r[1, 2] + r[2, 1]) / s]
    else:
        s = 2 * np.sqrt(1 + r[2, 2] - r[0, 0] - r[1, 1])
        q = [(r[1, 0] - r[0, 1]) / s, (r[0, 2] + r[2, 0]) / s, (r[1, 2] + r[2, 1]) / s, s / 4]
    quat = np.array(q) / np.linalg.norm(q)
    return -quat if quat[0] < 0 else quat


def _uncompressed(data: bytes, where: str | Path) -> bytes:
    if data[:2] != b"\x1f\x8b":
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as error:
        raise ValueError(f"{where}: corrupt or truncated gzip stream ({error})") from error


def parse_header(data: bytes, path: str | Path) -> NiftiHeader:
    """Decode the 348-byte NIfTI-1 header at the start of ``data`` (``path`` names the file in errors)."""
    if len(data) < HEADER_SIZE:
        raise ValueError(f"{path}: {len(data)} bytes is too short for a NIfTI-1 header ({HEADER_SIZE} bytes)")
    for order in "<>":
        if struct.unpack(order + "i", data[:4])[0] == HEADER_SIZE:
            break
    else:
        raise ValueError(f"{path}: not a NIfTI-1 file (sizeof_hdr is not {HEADER_SIZE} in either byte order)")
    magic = data[344:348]
    if magic == b"ni1\x00":
        raise ValueError(f"{path}: a NIfTI-1 .hdr/.img pair header; only single .nii/.nii.gz files are read")
    if magic != b"n+1\x00":
        raise ValueError(f"{path}: bad NIfTI-1 magic {magic!r} (expected b'n+1\\x00')")
    dim = struct.unpack(order + "8h", data[40:56])
    if not 1 <= dim[0] <= 7 or min(dim[1 : 1 + dim[0]]) < 1:
        raise ValueError(f"{path}: invalid NIfTI dim field {dim}")
    datatype = struct.unpack(order + "h", data[70:72])[0]
    if datatype not in DATATYPES:
        raise ValueError(
            f"{path}: unsupported NIfTI datatype {datatype}; supported codes {sorted(DATATYPES)}"
        )
    floats = struct.unpack(order + "8f", data[76:108])
    vox_offset, scl_slope, scl_inter = struct.unpack(order + "3f", data[108:120])
    qform_code, sform_code = struct.unpack(order + "2h", data[252:256])
    q = struct.unpack(order + "6f", data[256:280])
    srow = np.array(struct.unpack(order + "12f", data[280:328]), np.float64).reshape(3, 4)
    return NiftiHeader(
        shape=tuple(int(v) for v in dim[1 : 1 + dim[0]]),
        datatype=datatype,
        pixdim=tuple(float(v) for v in floats),
        vox_offset=int(vox_offset),
        scl_slope=float(scl_slope),
        scl_inter=float(scl_inter),
        xyzt_units=data[123],
        qform_code=qform_code,
        sform_code=sform_code,
        quatern=(q[0], q[1], q[2]),
        qoffset=(q[3], q[4], q[5]),
        srow=srow,
        byteorder=order,
    )


def decode_nifti_raw(data: bytes, where: str | Path) -> tuple[np.ndarray, NiftiHeader]:
    """Stored voxels (native dtype, shape ``dim[1..dim[0]]``, unscaled) and header of the bytes of a
    ``.nii`` or ``.nii.gz`` file; ``where`` names the file in errors."""
    data = _uncompressed(data, where)
    header = parse_header(data, where)
    dtype = np.dtype(DATATYPES[header.datatype]).newbyteorder(header.byteorder)
    count = int(np.prod(header.shape))
    end = header.vox_offset + count * dtype.itemsize
    if header.vox_offset < HEADER_SIZE or end > len(data):
        raise ValueError(
            f"{where}: truncated NIfTI file: {count} voxels of {dtype.itemsize} bytes from offset "
            f"{header.vox_offset} need {end} bytes, the file has {len(data)}"
        )
    voxels = np.frombuffer(data, dtype, count, header.vox_offset).reshape(header.shape, order="F")
    return voxels.astype(dtype.newbyteorder("="), copy=True), header


def decode_nifti(data: bytes, where: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Voxels and affine of the bytes of a ``.nii`` / ``.nii.gz`` file (see :func:`read_nifti`)."""
    voxels, header = decode_nifti_raw(data, where)
    if header.scaled:
        inter = header.scl_inter if np.isfinite(header.scl_inter) else 0.0
        voxels = voxels.astype(np.float64) * header.scl_slope + inter
    return voxels, header.affine()


def _file_bytes(path: Path) -> bytes:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such NIfTI file")
    return path.read_bytes()


def read_nifti_raw(path: str | Path) -> tuple[np.ndarray, NiftiHeader]:
    """Stored voxels (native dtype, no scaling applied) and the header of a ``.nii`` / ``.nii.gz`` file."""
    path = Path(path)
    return decode_nifti_raw(_file_bytes(path), path)


def read_nifti(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Voxels and ``[4, 4]`` voxel-to-world affine of a ``.nii`` / ``.nii.gz`` file.

    Returns the stored dtype when the header sets no scaling, else float64 ``stored * scl_slope + scl_inter``
    (nibabel's ``get_fdata()`` values). Raises ``ValueError`` naming the file for a bad magic, an unsupported
    datatype or truncated data, ``FileNotFoundError`` when it does not exist.
    """
    path = Path(path)
    return decode_nifti(_file_bytes(path), path)


def encode_nifti(array: np.ndarray, affine: np.ndarray | None = None, compress: bool = False) -> bytes:
    """The bytes :func:`write_nifti` writes (``compress``: gzip with a zero timestamp, i.e. ``.nii.gz``)."""
    array = np.asarray(array)
    code = _CODES.get(array.dtype.str[1:])
    if code is None:
        raise ValueError(f"cannot store dtype {array.dtype} in NIfTI-1; use one of {sorted(_CODES)}")
    if not 1 <= array.ndim <= 7:
        raise ValueError(f"NIfTI-1 stores 1 to 7 dimensions, got shape {array.shape}")
    affine = np.eye(4) if affine is None else np.asarray(affine, np.float64)
    if affine.shape != (4, 4):
        raise ValueError(f"the affine must be a 4x4 matrix, got shape {affine.shape}")
    header = _encode_header(array.shape, code, array.dtype.itemsize * 8, affine)
    voxels = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes(order="F")
    payload = header + b"\x00" * (VOX_OFFSET - HEADER_SIZE) + voxels
    return gzip.compress(payload, mtime=0) if compress else payload


def write_nifti(path: str | Path, array: np.ndarray, affine: np.ndarray | None = None) -> Path:
    """Write ``array`` (1-7 dims; u/int8, u/int16, u/int32, float32, float64) as little-endian NIfTI-1.

    ``affine`` (``[4, 4]``, default identity) goes into the sform (code 2) and, decomposed into zooms,
    quaternion and offsets, into pixdim / the qform fields (code 0), as nibabel does for a new image.
    A ``.gz`` suffix compresses the file (gzip with a zero timestamp, so output is reproducible).
    """
    path = Path(path)
    try:
        payload = encode_nifti(array, affine, compress=path.name.lower().endswith(".gz"))
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from error
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(payload)
    return path


def _encode_header(shape: tuple[int, ...], datatype: int, bitpix: int, affine: np.ndarray) -> bytes:
    rzs = affine[:3, :3]
    zooms = np.sqrt((rzs * rzs).sum(axis=0))
    zooms[zooms == 0] = 1.0
    rotation = rzs / zooms
    qfac = 1.0
    if np.linalg.det(rotation) < 0:
        qfac = -1.0
        rotation[:, 2] *= -1
    u, _, vt = np.linalg.svd(rotation)  # nearest orthogonal matrix (polar decomposition)
    quat = rotation_to_quaternion(u @ vt)
    dim = [len(shape), *shape] + [1] * (7 - len(shape))
    pixdim = [qfac, *zooms, *([1.0] * 4)]
    header = bytearray(HEADER_SIZE)
    struct.pack_into("<i", header, 0, HEADER_SIZE)
    struct.pack_into("<8h", header, 40, *dim)
    struct.pack_into("<2h", header, 70, datatype, bitpix)
    struct.pack_into("<8f", header, 76, *pixdim)
    struct.pack_into("<3f", header, 108, float(VOX_OFFSET), 1.0, 0.0)  # vox_offset, scl_slope, scl_inter
    header[123] = 2  # xyzt_units: millimetres
    struct.pack_into("<2h", header, 252, 0, 2)  # qform_code unknown, sform_code aligned
    struct.pack_into("<6f", header, 256, *quat[1:], *affine[:3, 3])
    struct.pack_into("<12f", header, 280, *affine[:3].ravel())
    header[344:348] = b"n+1\x00"
    return bytes(header)
