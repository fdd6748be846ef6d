"""The ``lutsim`` command.

Each sub-command is one module in :mod:`lutsim.commands` that defines ``NAME``, ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``; they are discovered, not listed here.
Bad input (any ``ValueError``, including :class:`lutsim.errors.InputError` and
``sim.formats.FormatError``) prints one ``error:`` line and exits with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from . import __version__, commands


def _command_modules():
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda i: i.name):
        if not info.name.startswith("_"):
            yield importlib.import_module(f"{commands.__name__}.{info.name}")


class _Parser(argparse.ArgumentParser):
    """argparse exits with status 2 on bad arguments already; keep its message short."""


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="lutsim", description="Simulator for LUT-based and bit-serial LLM accelerators.")
    parser.add_argument("--version", action="version", version=f"lutsim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for mod in _command_modules():
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except ValueError as exc:  # InputError, FormatError and friends: the user's input is wrong
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
