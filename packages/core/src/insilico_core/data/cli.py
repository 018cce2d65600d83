"""``insilico-core simulate KIND --out DIR --n N --seed S``."""

from __future__ import annotations

from pathlib import Path

import click

from insilico_core.data.simulate import SIMULATORS
from insilico_core.data.simulate import simulate as run_simulator


@click.command(
    "simulate",
    epilog="Kinds:\n\n"
    + "\n\n".join(f"  {kind}: {text}" for kind, (_, _, text) in sorted(SIMULATORS.items())),
)
@click.argument("kind", type=click.Choice(sorted(SIMULATORS)))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Output folder.")
@click.option(
    "--n", "n", type=click.IntRange(min=1), default=16, show_default=True, help="Number of samples."
)
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed (same seed, same data).")
def simulate(kind: str, out: Path, n: int, seed: int) -> None:
    """Write simulated microscopy data of KIND in its paper's on-disk layout."""
    root = run_simulator(kind, out, n=n, seed=seed)
    click.echo(f"wrote {n} {kind} sample(s) to {root}")
