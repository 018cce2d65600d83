"""HDF5 arrays and the dataset cache: exact round trips, structure, DataLoader workers, bad input."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch
from insilico_core.data import HDF5Dataset, cache_to_hdf5, read_hdf5, write_hdf5
from torch.utils.data import DataLoader, Dataset


class _PairedSamples(Dataset):
    """Deterministic samples mixing every supported field kind."""

    def __init__(self, length: int = 7) -> None:
        self.length = length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int):
        rng = np.random.default_rng(index)
        image = torch.from_numpy(rng.integers(0, 65535, size=(2, 3, 8, 8), endpoint=True).astype(np.uint16))
        mask = rng.random((8, 8)) > 0.5
        return {
            "image": image.float() / 65535,
            "raw": image.numpy(),
            "mask": mask,
            "meta": (index, float(index) / 2, f"Pos{index}/img_{index:09d}.tif", [torch.tensor(index)]),
        }


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float32", "int64", "bool"])
def test_write_read_hdf5_exact(tmp_path, dtype):
    array = (np.random.default_rng(0).random((3, 5, 4)) * 60000).astype(dtype)
    write_hdf5(tmp_path / "a.h5", array, compression="gzip")
    back = read_hdf5(tmp_path / "a.h5")
    assert back.dtype == array.dtype
    np.testing.assert_array_equal(back, array)


def test_write_hdf5_mapping_and_missing_key(tmp_path):
    write_hdf5(tmp_path / "m.h5", {"bf": np.zeros((2, 2), np.uint16), "gfp": np.ones(3, np.float32)})
    np.testing.assert_array_equal(read_hdf5(tmp_path / "m.h5", "gfp"), np.ones(3, np.float32))
    with pytest.raises(KeyError, match="m.h5.*'rfp'.*bf, gfp"):
        read_hdf5(tmp_path / "m.h5", "rfp")


def test_cache_round_trip_equals_dataset(tmp_path):
    dataset = _PairedSamples()
    path = cache_to_hdf5(dataset, tmp_path / "cache.h5", progress=False)
    cached = HDF5Dataset(path)
    assert len(cached) == len(dataset)
    for index in range(len(dataset)):
        expected, got = dataset[index], cached[index]
        assert set(got) == set(expected)
        assert isinstance(got["image"], torch.Tensor) and got["image"].dtype == torch.float32
        torch.testing.assert_close(got["image"], expected["image"], rtol=0, atol=0)
        assert isinstance(got["raw"], np.ndarray) and got["raw"].dtype == np.uint16
        np.testing.assert_array_equal(got["raw"], expected["raw"])
        np.testing.assert_array_equal(got["mask"], expected["mask"])
        assert isinstance(got["meta"], tuple) and isinstance(got["meta"][3], list)
        assert got["meta"][:3] == expected["meta"][:3]
        assert type(got["meta"][0]) is int and type(got["meta"][1]) is float
        assert torch.equal(got["meta"][3][0], expected["meta"][3][0])
    assert cached[-1]["meta"][0] == len(dataset) - 1
    with pytest.raises(IndexError, match="cache.h5"):
        cached[len(dataset)]
    with h5py.File(path) as file:  # one chunked dataset per field, one sample per chunk
        assert file["field_0"].shape == (7, 2, 3, 8, 8)
        assert file["field_0"].chunks == (1, 2, 3, 8, 8)
    assert not (tmp_path / "cache.h5.partial").exists()


def test_cache_serves_dataloader_workers(tmp_path):
    dataset = _PairedSamples(6)
    cached = HDF5Dataset(cache_to_hdf5(dataset, tmp_path / "c.h5", compression="lzf", progress=False))
    cached[0]  # open a handle in the parent first: workers must not reuse it
    loader = DataLoader(cached, batch_size=2, num_workers=2, shuffle=False)
    batches = list(loader)
    expected = torch.stack([dataset[i]["image"] for i in range(6)])
    torch.testing.assert_close(torch.cat([b["image"] for b in batches]), expected, rtol=0, atol=0)
    assert [s for b in batches for s in b["meta"][2]] == [f"Pos{i}/img_{i:09d}.tif" for i in range(6)]


def test_cache_rejects_inconsistent_samples_and_names_the_file(tmp_path):
    class Ragged(Dataset):
        def __len__(self):
            return 3

        def __getitem__(self, index):
            return torch.zeros(4 + index)

    with pytest.raises(ValueError, match=r"ragged.h5.*sample 1"):
        cache_to_hdf5(Ragged(), tmp_path / "ragged.h5", progress=False)
    assert not (tmp_path / "ragged.h5").exists()
    assert not (tmp_path / "ragged.h5.partial").exists()

    class Unsupported(Dataset):
        def __len__(self):
            return 1

        def __getitem__(self, index):
            return {"image": torch.zeros(2), "when": object()}

    with pytest.raises(ValueError, match=r"odd.h5: sample 0: cannot cache .* object"):
        cache_to_hdf5(Unsupported(), tmp_path / "odd.h5", progress=False)


def test_bad_hdf5_input_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.h5"):
        HDF5Dataset(tmp_path / "nothere.h5")
    with pytest.raises(FileNotFoundError, match="nothere.h5"):
        read_hdf5(tmp_path / "nothere.h5")
    (tmp_path / "junk.h5").write_bytes(b"not hdf5")
    with pytest.raises(ValueError, match="junk.h5"):
        HDF5Dataset(tmp_path / "junk.h5")
    with pytest.raises(ValueError, match="junk.h5"):
        read_hdf5(tmp_path / "junk.h5")
    write_hdf5(tmp_path / "plain.h5", np.zeros(3))
    with pytest.raises(ValueError, match="plain.h5.*cache_to_hdf5"):
        HDF5Dataset(tmp_path / "plain.h5")
