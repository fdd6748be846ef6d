"""``lutsim recipes``: the built-in quantization recipes (workloads/recipes.yaml): formats, bits, sources."""

from __future__ import annotations

from lutsim.output import print_json, print_table
from lutsim.results import RecipeRow, to_dict
from workloads.recipes import get_recipe, names

NAME = "recipes"
HELP = "list the built-in quantization recipes (format per tensor class, bits per weight, source)"


def add_arguments(p) -> None:
    p.add_argument("--json", action="store_true", help="print JSON")


def _part(t) -> str:
    return t.format + (f" g{t.group_size}" if t.group_size else "")


def rows() -> list[RecipeRow]:
    """One row per built-in recipe."""
    out = []
    for n in names():
        r = get_recipe(n)
        out.append(RecipeRow(recipe=n, weights=_part(r.weights), activations=_part(r.activations),
                             kv_cache=_part(r.kv_cache), lm_head=_part(r.lm_head),
                             bits_per_weight=round(r.weights.bits, 4), source=r.source))
    return out


def run(args) -> int:
    table = to_dict(rows())
    if args.json:
        print_json(table)
        return 0
    print_table("built-in recipes (--quant NAME; or a recipe YAML with the same keys)",
                [{k: v for k, v in r.items() if k != "source"} for r in table])
    for r in table:
        print(f"{r['recipe']}: {r['source']}")
    return 0
