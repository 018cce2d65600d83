"""An endless, reshuffled stream of dataset indices that a resumed run can re-enter at any position.

Iteration-based training loops (BioGANs' ``num_iter``, StyleGAN's kimg counter in MSSG) do not stop at epoch
boundaries, so a checkpoint usually falls in the middle of an epoch. To resume exactly, the data order after
the checkpoint must be the one the uninterrupted run would have seen. :class:`ResumableSampler` defines the
order as a pure function of ``(seed, position)``: the global stream is the concatenation of one permutation
of the dataset per epoch (epoch ``e`` shuffled by a generator seeded from ``seed`` and ``e``), and a run that
has consumed ``start`` samples simply starts reading at ``start``.

Under ``torchrun`` process ``rank`` of ``world_size`` reads global positions ``start + rank``,
``start + rank + world_size``, ... so with a per-process batch ``B / world_size`` the union of the processes'
k-th batches is exactly the k-th batch of ``B`` a single process would read: changing the number of GPUs
does not change which samples are trained on together.

Two rules keep a resumed run exact: give the DataLoader its own generator
(``**seeded_loader_kwargs(seed, rank)``), because otherwise creating its iterator draws a seed from torch's
global generator, at a different moment in a resumed run; and draw random augmentations in the main process
(or from generators seeded by the sample position), because worker processes start new random streams
whenever the loader is re-created.
"""

from __future__ import annotations

from collections.abc import Iterator, Sized

import torch
from torch.utils.data import Sampler

from .distributed import DistributedInfo

_EPOCH_SEED_STRIDE = 0x9E3779B1  # odd constant so (seed, epoch) pairs map to distinct generator seeds


class ResumableSampler(Sampler[int]):
    """Endless index stream for ``DataLoader(dataset, batch_size=B // world_size, sampler=...)``.

    ``data`` is the dataset (or its length); ``start`` is the number of samples all processes together have
    consumed before (``step * global_batch`` when resuming) and must be a multiple of the world size.
    The stream never ends: draw batches with ``next(iterator)`` for as many steps as the run needs.
    """

    def __init__(
        self,
        data: Sized | int,
        info: DistributedInfo | None = None,
        shuffle: bool = True,
        seed: int = 0,
        start: int = 0,
    ):
        size = data if isinstance(data, int) else len(data)
        if size <= 0:
            raise ValueError(f"cannot sample from an empty dataset (size {size})")
        self.size = size
        self.rank = info.rank if info is not None else 0
        self.world_size = info.world_size if info is not None else 1
        if start < 0 or start % self.world_size:
            raise ValueError(
                f"start must be a non-negative multiple of the world size {self.world_size}, got {start}"
            )
        self.shuffle = shuffle
        self.seed = seed
        self.start = start

    def epoch_order(self, epoch: int) -> torch.Tensor:
        """The dataset indices of ``epoch`` in the order the global stream visits them."""
        if not self.shuffle:
            return torch.arange(self.size)
        generator = torch.Generator().manual_seed((self.seed * _EPOCH_SEED_STRIDE + epoch) % 2**63)
        return torch.randperm(self.size, generator=generator)

    def __iter__(self) -> Iterator[int]:
        epoch, offset = divmod(self.start + self.rank, self.size)
        order = self.epoch_order(epoch)
        while True:
            yield int(order[offset])
            offset += self.world_size
            while offset >= self.size:
                offset -= self.size
                epoch += 1
                order = self.epoch_order(epoch)
