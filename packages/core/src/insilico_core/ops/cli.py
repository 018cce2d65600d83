"""``insilico-core ops``: report and prebuild the compiled backends of the custom ops."""

from __future__ import annotations

import click

from insilico_core.ops import _build


def _print(statuses: list[_build.BackendStatus]) -> None:
    for s in statuses:
        line = f"{s.name:5s} {s.state}"
        if s.reason:
            line += f" ({s.reason})"
        click.echo(line)
        if s.log is not None:
            click.echo(f"      build log: {s.log}")
    click.echo(f"cache dir: {_build.cache_dir() / 'ops'}")


@click.group()
def ops() -> None:
    """The custom ops (bias_act, upfirdn2d): backends ref (PyTorch), cpu (C++) and cuda (CUDA)."""


@ops.command()
def status() -> None:
    """Print each backend's state (built / loaded from cache / unavailable and why), cache dir, build logs."""
    _print(_build.status())


@ops.command()
@click.option("--force", is_flag=True, help="Retry builds that failed before (after fixing the toolchain).")
def build(force: bool) -> None:
    """Compile the cpu and cuda backends now (once per environment; later processes load them from cache)."""
    statuses = _build.build(force=force)
    _print(statuses)
    if any(s.state == "unavailable" and s.name == "cpu" for s in statuses):
        raise SystemExit(1)
