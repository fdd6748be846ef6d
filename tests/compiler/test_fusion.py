"""Table precompute fused into the preceding norm (LUT archs): which ops fuse, and what their programs do."""

from __future__ import annotations

import compiler
from sim import arch
from workloads.models import get_model
from workloads.recipes import get_recipe
from workloads.trace import build_trace


def _trace(tiny_model, phase, **kw):
    recipe = get_recipe("w4a16-g128")
    return build_trace(get_model(tiny_model), recipe, phase, **kw), recipe


def test_decode_norms_build_the_tables_of_the_gemms_they_feed(tiny_model):
    a = arch.load("lut-tc-28nm")
    trace, recipe = _trace(tiny_model, "decode", kv_len=32)
    plan = compiler.fusion_plan(trace.ops, a, recipe, "unfused")  # table fusion only (attention: below)
    names = {trace.ops[i].name for i in plan}
    assert names == {"attn_norm", "q_proj", "k_proj", "v_proj", "mlp_norm", "gate_proj", "up_proj"}
    c = compiler.Compiler(a)
    ops = {op.name: (i, op) for i, op in enumerate(trace.ops)}
    i, norm = ops["attn_norm"]
    low = c.lower(norm, recipe, i in plan)
    built = low.stats.events["table"]["tables"]
    assert built == norm.M * norm.N // a.table_unit.group  # one table per row and K-group, once
    i, q = ops["q_proj"]
    low = c.lower(q, recipe, i in plan)
    assert "PRECOMPUTE" not in {ins.op for ins in low.program.instrs}
    assert not [ins for ins in low.program.instrs if ins.op == "LOAD" and ins["buf"] == "abuf"]
    unfused = c.lower(q, recipe, False)
    assert unfused.stats.events["table"]["tables"] >= built  # rebuilt per n-tile without fusion


def test_no_fusion_without_a_table_unit_or_when_tables_do_not_fit(tiny_model):
    trace, recipe = _trace(tiny_model, "decode", kv_len=32)
    assert compiler.fusion_plan(trace.ops, arch.load("int8-systolic-28nm"), get_recipe("w8a8"), "unfused") == set()
    trace, recipe = _trace(tiny_model, "prefill", seq_len=512)  # 512 rows x 256 x 4 B of tables > tbuf / 2
    assert compiler.fusion_plan(trace.ops, arch.load("lut-tc-28nm"), recipe, "unfused") == set()
