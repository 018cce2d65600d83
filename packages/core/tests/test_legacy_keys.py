"""strip_prefix and remap_keys: wrapper prefixes of the originals' files, renames, collisions."""

from __future__ import annotations

from collections import OrderedDict

import pytest
import torch
from insilico_core.legacy import LegacyFormatError, remap_keys, strip_prefix

# Multi-StyleGAN: "discriminator.module." (ADA wrapper + DataParallel), "module." (DataParallel),
# "discriminator." (ADA wrapper alone).
MSG_PREFIXES = ["discriminator.module.", "discriminator.", "module."]


def test_strip_first_matching_prefix_keeps_order():
    state = OrderedDict(
        [
            ("discriminator.module.conv.weight", 1),
            ("discriminator.module.conv.bias", 2),
            ("module.linear.weight", 3),
            ("plain.weight", 4),
        ]
    )
    stripped = strip_prefix(state, MSG_PREFIXES)
    assert list(stripped.items()) == [
        ("conv.weight", 1),
        ("conv.bias", 2),
        ("linear.weight", 3),
        ("plain.weight", 4),
    ]


def test_prefix_order_matters_and_single_string_works():
    state = {"discriminator.module.w": 1}
    assert list(strip_prefix(state, ["discriminator.", "discriminator.module."])) == ["module.w"]
    assert list(strip_prefix(state, "discriminator.module.")) == ["w"]


def test_strip_prefix_collision_is_an_error():
    with pytest.raises(LegacyFormatError, match="'module.w'.*'w'.*become 'w'"):
        strip_prefix({"module.w": torch.ones(1), "w": torch.zeros(1)}, "module.")


def test_remap_with_mapping_and_function():
    state = OrderedDict([("main.0.weight", 1), ("main.1.weight", 2), ("main.1.running_var", 3)])
    by_mapping = remap_keys(state, {"main.0.weight": "initial.conv.weight"})
    assert list(by_mapping) == ["initial.conv.weight", "main.1.weight", "main.1.running_var"]

    def drop_stats(key):
        return None if key.endswith("running_var") else key.replace("main.", "body.")

    assert list(remap_keys(state, drop_stats).items()) == [("body.0.weight", 1), ("body.1.weight", 2)]


def test_remap_collision_and_bad_argument():
    with pytest.raises(LegacyFormatError, match="'a'.*'b'.*become 'c'"):
        remap_keys({"a": 1, "b": 2}, {"a": "c", "b": "c"})
    with pytest.raises(TypeError, match="mapping or a callable"):
        remap_keys({"a": 1}, 3)
