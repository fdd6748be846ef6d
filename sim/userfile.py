"""Reading a user's YAML or JSON file, with one clear error for every way it can go wrong.

Every stage reads user files (arch specs, recipes, HF config.json, sweep specs, stats); they all go
through :func:`read_user_file`, so a missing file, an unreadable one and a syntax error give the same
kind of message (an :class:`~sim.errors.InputError` naming ``field``) everywhere.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from .errors import InputError

_PARSERS = {"yaml": (yaml.safe_load, yaml.YAMLError, "YAML"), "json": (json.loads, json.JSONDecodeError, "JSON")}


def read_user_file(path: str | Path, field: str, kind: str | None = None):
    """Parse ``path`` as YAML or JSON (``kind``; default from the suffix: ``.json`` is JSON, else YAML)."""
    p = Path(path)
    kind = kind or ("json" if p.suffix.lower() == ".json" else "yaml")
    parse, error, label = _PARSERS[kind]
    try:
        text = p.read_text()
    except FileNotFoundError:
        raise InputError(field, f"cannot read {str(p)!r}: the file does not exist") from None
    except OSError as exc:
        raise InputError(field, f"cannot read {str(p)!r}: {exc.strerror}") from None
    try:
        return parse(text)
    except error as exc:
        raise InputError(field, f"{str(p)!r} is not valid {label}: {exc}") from None
