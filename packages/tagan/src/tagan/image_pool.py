"""Buffer of previously generated images for the cycle models' discriminators (Shrivastava et al. 2017)."""

from __future__ import annotations

import random

import torch


class ImagePool:
    """Stores up to ``pool_size`` generated images. While not full, each query image is stored and returned;
    afterwards, with probability 1/2 a stored image is returned and replaced by the new one, otherwise the new
    image is returned (python ``random`` draws, as the original). ``pool_size`` 0 returns the input."""

    def __init__(self, pool_size: int):
        self.pool_size = pool_size
        self.images: list[torch.Tensor] = []

    def query(self, images: torch.Tensor) -> torch.Tensor:
        """``images`` (N, C, H, W) -> (N, C, H, W) detached images from the pool or the input."""
        if self.pool_size == 0:
            return images
        returned = []
        for image in images:
            image = image.detach().unsqueeze(0)
            if len(self.images) < self.pool_size:
                self.images.append(image)
                returned.append(image)
            elif random.uniform(0, 1) > 0.5:
                index = random.randint(0, self.pool_size - 1)
                returned.append(self.images[index].clone())
                self.images[index] = image
            else:
                returned.append(image)
        return torch.cat(returned, 0)
