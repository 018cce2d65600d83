"""The ``insilico-core`` command: ``ops``, ``simulate``, ``metrics`` and ``weights`` sub-commands.

Each sub-command lives beside the code it drives (``insilico_core.ops.cli`` and so on) and is imported only
when it is invoked, so ``insilico-core ops status`` does not pay for importing the metrics networks.
"""

from __future__ import annotations

import importlib

import click

# sub-command name -> ("module:attribute" of its click command or group, one-line help for the listing)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "ops": ("insilico_core.ops.cli:ops", "Build the compiled ops and show each backend's state."),
    "simulate": ("insilico_core.data.cli:simulate", "Write simulated microscopy data in a paper's layout."),
    "metrics": ("insilico_core.metrics.cli:metrics", "Compute a metric between two folders of images."),
    "weights": ("insilico_core.metrics.cli:weights", "List or fetch the pretrained weights metrics use."),
}


class LazyGroup(click.Group):
    """A click group whose sub-commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in SUBCOMMANDS:
            return None
        module_name, attribute = SUBCOMMANDS[cmd_name][0].split(":")
        return getattr(importlib.import_module(module_name), attribute)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List the sub-commands from their one-line help without importing them."""
        with formatter.section("Commands"):
            formatter.write_dl([(name, text) for name, (_, text) in sorted(SUBCOMMANDS.items())])


@click.group(cls=LazyGroup)
@click.version_option(package_name="insilico-core")
def main() -> None:
    """insilico core: custom ops, simulators of microscopy data, metrics and pretrained weights."""
