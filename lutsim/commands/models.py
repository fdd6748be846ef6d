"""``lutsim models``: the built-in model zoo (workloads/models.yaml) and the Hugging Face families --model reads."""

from __future__ import annotations

from lutsim.output import print_json, print_table
from lutsim.results import ModelRow, ModelsResult, to_dict
from workloads.models import HF_MODEL_TYPES, get_model, names

NAME = "models"
HELP = "list the built-in models (and the Hugging Face model types --model reads from a config.json or folder)"


def add_arguments(p) -> None:
    p.add_argument("--json", action="store_true", help="print JSON")


def rows() -> list[ModelRow]:
    """One row per zoo model: shapes, experts and linear weights (billions of elements)."""
    out = []
    for n in names():
        m = get_model(n)
        experts = f"{m.experts_per_token} of {m.experts}" + (" + shared" if m.shared_intermediate else "") \
            if m.is_moe else ""
        out.append(ModelRow(model=n, family=m.family, layers=m.layers, hidden=m.hidden, heads=m.heads,
                            kv_heads=m.kv_heads, mlp=m.mlp, experts=experts,
                            weights_g=round(m.weight_params() / 1e9, 3), source=m.source.split(" ")[0]))
    return out


def run(args) -> int:
    if args.json:
        print_json(ModelsResult(models=rows(), hf_model_types=list(HF_MODEL_TYPES)).to_dict())
        return 0
    table = to_dict(rows())
    print_table("built-in models (weights: linear-layer weights incl. lm_head, billions)",
                [{k: v for k, v in r.items() if k != "source"} for r in table])
    print(f"--model also takes a Hugging Face config.json or model folder of model_type: {', '.join(HF_MODEL_TYPES)}")
    return 0
