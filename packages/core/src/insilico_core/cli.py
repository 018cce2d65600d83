"""The ``insilico-core`` command: ``ops``, ``simulate``, ``metrics`` and ``weights`` sub-commands.

Each sub-command lives beside the code it drives (``insilico_core.ops.cli`` and so on) and is imported only
when it is invoked, so ``insilico-core ops status`` does not pay for importing the metrics networks.
"""

from __future__ import annotations

import importlib

import click

# sub-command name -> "module:attribute" of its click command or group
SUBCOMMANDS: dict[str, str] = {
    "ops": "insilico_core.ops.cli:ops",
    "simulate": "insilico_core.data.cli:simulate",
    "metrics": "insilico_core.metrics.cli:metrics",
    "weights": "insilico_core.metrics.cli:weights",
}


class LazyGroup(click.Group):
    """A click group whose sub-commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = SUBCOMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        return getattr(importlib.import_module(module_name), attribute)


@click.group(cls=LazyGroup)
@click.version_option(package_name="insilico-core")
def main() -> None:
    """insilico core: custom ops, simulators of microscopy data, metrics and pretrained weights."""
