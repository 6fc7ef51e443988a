"""The command line: a thin Typer shell over ``ecogen.api``. Each module registers its commands the one
way, ``register(app)``; results go to stdout, everything else to stderr (``consoles``)."""

from __future__ import annotations

import typer

from ecogen._version import __version__
from ecogen.cli import energy, evaluate, generate, rate, report, train, transform
from ecogen.cli.boundary import guarded


def _version(value: bool) -> None:
    if value:
        print(f"ecogen {__version__}")
        raise typer.Exit()


app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Train, evaluate and use image generators while measuring their energy cost.",
)


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print ecogen's version and exit.")) -> None:
    """Train, evaluate and use image generators while measuring their energy cost."""


for _module in (train, generate, evaluate, energy, transform, rate, report):
    _module.register(app)


def main() -> None:
    """The entry point: the app inside the error boundary (``app`` is looked up when called)."""
    guarded(lambda: app(standalone_mode=False))


__all__ = ["app", "main"]
