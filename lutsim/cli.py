"""The ``lutsim`` command.

Each sub-command is one module in :mod:`lutsim.commands` that defines ``NAME``, ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``; they are discovered, not listed here, and only the
command that runs is imported (:func:`command_index`).
Bad input (any ``ValueError``, including :class:`sim.errors.InputError` and
``sim.formats.FormatError``) prints one ``error:`` line and exits with status 2; the line names the flags of
the command that was run (the PE models name ``lutsim gemm``'s flags, see :func:`own_flags`). A closed
pipe (``lutsim ... | head``) ends the command quietly.

A command module may set ``BLAS_THREADS = 1`` (a constant, read like ``NAME``): it does no linear algebra worth
threads, so the CLI asks OpenBLAS for one thread before the command imports numpy (``OPENBLAS_NUM_THREADS``, unless
the environment sets it). OpenBLAS otherwise starts a thread per core at numpy's import, whose start and spin-wait
cost a ``lutsim simulate`` decode step about 0.09 s of CPU (0.38 -> 0.29 s user, measured), on cores the command
shares with everything else.
"""

from __future__ import annotations

import argparse
import ast
import functools
import importlib
import os
import pkgutil
import re
import sys
from pathlib import Path

from . import __version__, commands


@functools.cache
def command_index() -> dict[str, tuple[str, str]]:
    """Command name -> (module of :mod:`lutsim.commands`, one-line help), read from each module's ``NAME`` and
    ``HELP`` string constants without importing it: ``lutsim --help`` and every command load only what they
    use (a command module imports the simulator, Numba, ml_dtypes, ... at its top)."""
    return {name: (module, consts["HELP"]) for name, (module, consts) in _command_constants().items()}


@functools.cache
def _command_constants() -> dict[str, tuple[str, dict]]:
    """Command name -> (module, its ``NAME``, ``HELP`` and ``BLAS_THREADS`` constants), read with ``ast``."""
    index = {}
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        path = Path(commands.__path__[0]) / f"{info.name}.py"
        consts = {t.id: node.value.value for node in ast.parse(path.read_text(encoding="utf-8")).body
                  if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
                  for t in node.targets if isinstance(t, ast.Name) and t.id in ("NAME", "HELP", "BLAS_THREADS")}
        if "NAME" not in consts or "HELP" not in consts:
            raise RuntimeError(f"lutsim/commands/{info.name}.py needs NAME and HELP string constants")
        index[consts["NAME"]] = (f"{commands.__name__}.{info.name}", consts)
    return index


def _blas_threads(command: str | None) -> None:
    """Ask OpenBLAS for the chosen command's ``BLAS_THREADS`` (before numpy is imported; the environment wins)."""
    threads = _command_constants()[command][1].get("BLAS_THREADS") if command else None
    if isinstance(threads, int) and "numpy" not in sys.modules:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", str(threads))


def _chosen(argv: list[str]) -> str | None:
    """The command word of ``argv`` (the first argument that is not an option), if it names a command."""
    word = next((a for a in argv if not a.startswith("-")), None)
    return word if word in command_index() else None


class _Parser(argparse.ArgumentParser):
    """argparse exits with status 2 on bad arguments already; keep its message short."""


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; with ``only``, every command is listed but only that one's module is imported and
    given its arguments (what :func:`main` does)."""
    parser = _Parser(prog="lutsim", description="Simulator for LUT-based and bit-serial LLM accelerators.")
    parser.add_argument("--version", action="version", version=f"lutsim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name, (module, help_text) in command_index().items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if only is None or name == only:
            mod = importlib.import_module(module)
            mod.add_arguments(p)
            p.set_defaults(_run=mod.run, _flags=_option_strings(p))
    return parser


def _option_strings(p: argparse.ArgumentParser) -> frozenset[str]:
    """Every ``--flag`` of a sub-command, its own sub-commands' included."""
    flags = set()
    for action in p._actions:
        flags.update(action.option_strings)
        choices = getattr(action, "choices", None)
        for sub in choices.values() if isinstance(choices, dict) else ():  # sub-commands, not a flag's choices
            if isinstance(sub, argparse.ArgumentParser):
                flags |= _option_strings(sub)
    return frozenset(flags)


#: what the PE models' field names (``lutsim gemm``'s flags) are in a command that takes a recipe
RECIPE_FIELDS = {"--weights": "weights format", "--acts": "activations format",
                 "--group-size": "weights group_size"}


def own_flags(message: str, flags: frozenset[str]) -> str:
    """``message`` with each PE-model field that is not a flag of this command named as the recipe part it
    comes from (``--weights`` -> ``--quant weights format`` in ``simulate``)."""
    quant = "--quant" if "--quant" in flags else "quant"
    for field, part in RECIPE_FIELDS.items():
        if field not in flags:
            message = re.sub(rf"(?<![\w-]){field}(?![\w-])", f"{quant} {part}", message)
    return message


def _quiet_stdout() -> None:
    """After a closed pipe: point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    chosen = _chosen(argv)
    _blas_threads(chosen)
    parser = build_parser(only=chosen or "")
    args = parser.parse_args(argv)
    try:
        status = int(args._run(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit
        return status
    except BrokenPipeError:  # the reader went away (``| head``): what it read is all it wanted
        _quiet_stdout()
        return 1
    except ValueError as exc:  # InputError, FormatError and friends: the user's input is wrong
        print(f"error: {own_flags(str(exc), args._flags)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
