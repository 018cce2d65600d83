"""ResumableSampler: one endless data order, re-entered at any position, split evenly over processes."""

from __future__ import annotations

import itertools

import pytest
import torch
from insilico_core.train import DistributedInfo, ResumableSampler


def _take(sampler: ResumableSampler, count: int) -> list[int]:
    return list(itertools.islice(iter(sampler), count))


def _info(rank: int, world_size: int) -> DistributedInfo:
    return DistributedInfo(
        rank=rank, local_rank=rank, world_size=world_size, device=torch.device("cpu"), backend="gloo"
    )


def test_every_epoch_is_a_fresh_permutation():
    stream = _take(ResumableSampler(7, seed=1), 21)
    epochs = [stream[i : i + 7] for i in range(0, 21, 7)]
    assert all(sorted(epoch) == list(range(7)) for epoch in epochs)
    assert len({tuple(epoch) for epoch in epochs}) == 3
    assert _take(ResumableSampler(range(7), seed=1), 21) == stream
    assert _take(ResumableSampler(7, seed=2), 21) != stream
    assert _take(ResumableSampler(4, shuffle=False), 6) == [0, 1, 2, 3, 0, 1]


def test_starting_mid_epoch_continues_the_same_stream():
    full = _take(ResumableSampler(10, seed=3), 40)
    for start in (0, 4, 10, 13, 29):
        assert _take(ResumableSampler(10, seed=3, start=start), 40 - start) == full[start:]


def test_processes_split_each_global_batch_like_one_process():
    global_batch, world_size = 6, 3
    single = _take(ResumableSampler(11, seed=5), 5 * global_batch)
    per_rank = [_take(ResumableSampler(11, _info(r, world_size), seed=5), 5 * 2) for r in range(world_size)]
    for batch in range(5):
        union = sorted(i for stream in per_rank for i in stream[2 * batch : 2 * batch + 2])
        assert union == sorted(single[batch * global_batch : (batch + 1) * global_batch])
    resumed = [
        _take(ResumableSampler(11, _info(r, world_size), seed=5, start=12), 2) for r in range(world_size)
    ]
    assert sorted(sum(resumed, [])) == sorted(single[12:18])


def test_bad_arguments():
    with pytest.raises(ValueError, match="empty"):
        ResumableSampler(0)
    with pytest.raises(ValueError, match="multiple of the world size 2"):
        ResumableSampler(5, _info(0, 2), start=3)
