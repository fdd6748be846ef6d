"""A PE added from outside sim/pe: one module (written to a temporary directory), one constants entry (the
class's ``cost_entry``), one preset (a YAML file beside it), registered with :func:`sim.pe.register` and run
through the whole pipeline (trace -> compile -> engine -> energy/area) without touching another file."""

from __future__ import annotations

import importlib.util
import math
import sys
import textwrap

import pytest

from lutsim.api import lower_trace, simulate
from sim import arch, cost
from sim import pe as pe_registry
from sim.errors import InputError
from sim.pe import PEModel, PERegistrationError

ROWS, COLS = 8, 16
PJ_PER_CYCLE, AREA_UM2 = 0.25, 500.0

TOY_MODULE = f'''
"""A toy weight-streaming INT MAC array (test-only figures)."""

import math

from sim.errors import InputError
from sim.pe import GemmResult, PEConfig, PEModel


class ToyMac(PEModel):
    name = "toy-mac"
    description = "test-only INT8 MAC array: one k per cycle per fold, plus fill"
    modes = ("tile",)
    opcode = "MMA"
    dataflows = ("os",)
    dataflow_source = "test-only: output stationary by construction"
    weight_formats = ("int4", "int8")
    act_formats = ("int8",)
    cost_entry = {{"pj_per_cycle": {PJ_PER_CYCLE}, "area_um2": {AREA_UM2}, "per": "pe", "node_nm": 28,
                  "source": "test-only figures (tests/sim/pe/test_plugin_pe.py)"}}

    def default_config(self):
        return PEConfig(array=({ROWS}, {COLS}), dataflow="os", acc="int32")

    def check(self, problem, config):
        if problem.weights not in self.weight_formats:
            raise InputError("--weights", f"toy-mac does not take {{problem.weights!r}}", "int4, int8")
        if problem.acts not in self.act_formats:
            raise InputError("--acts", f"toy-mac does not take {{problem.acts!r}}", "int8")

    def run(self, problem, config, mode, a=None, qw=None):
        rows, cols = self.resolve(config).array
        cycles = math.ceil(problem.m / rows) * math.ceil(problem.n / cols) * (problem.k + rows + cols - 1)
        return GemmResult(cycles, 0.0, {{"int8_mult": problem.m * problem.n * problem.k}}, mode)

    def expected(self, problem, config, a, qw):
        raise NotImplementedError("timing-only toy")


PE = ToyMac
'''

TOY_PRESET = f"""
name: toy-mac-28nm
description: the toy PE of tests/sim/pe/test_plugin_pe.py
clock_mhz: 500
node_nm: 28
pe: {{type: toy-mac, array: [{ROWS}, {COLS}]}}
vector: {{lanes: 16, ops_per_cycle: {{norm: 1, softmax: 0.25, act: 1, rope: 0.5, residual: 1, quantize: 1,
                                      dequant: 1}}}}
buffers:
  - {{name: abuf, capacity: 64KiB, banks: 8}}
  - {{name: wbuf, capacity: 128KiB, banks: 16}}
  - {{name: obuf, capacity: 64KiB, banks: 8}}
dram: {{bandwidth: 512, latency: 50, pj_per_bit: 1.0}}
"""

TINY_LLAMA = textwrap.dedent("""\
    {"model_type": "llama", "_name_or_path": "tiny-llama", "hidden_size": 128, "intermediate_size": 256,
     "num_attention_heads": 4, "num_key_value_heads": 2, "num_hidden_layers": 2, "vocab_size": 500}
""")


def toy_cycles(m: int, n: int, k: int) -> int:
    return math.ceil(m / ROWS) * math.ceil(n / COLS) * (k + ROWS + COLS - 1)


@pytest.fixture
def toy(tmp_path):
    """The toy module and preset written to ``tmp_path``, the PE registered; removed afterwards."""
    (tmp_path / "toy_pe_plugin.py").write_text(TOY_MODULE)
    (tmp_path / "toy.yaml").write_text(TOY_PRESET)
    (tmp_path / "config.json").write_text(TINY_LLAMA)
    spec = importlib.util.spec_from_file_location("toy_pe_plugin", tmp_path / "toy_pe_plugin.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = pe_registry.register(module.PE)
    yield model, module, tmp_path
    pe_registry.unregister(model.name)
    sys.modules.pop("toy_pe_plugin", None)


def test_a_registered_pe_is_known_to_the_arch_spec(toy):
    model, _, tmp = toy
    assert "toy-mac" in pe_registry.names() and pe_registry.get("toy-mac") is model
    a = arch.load(tmp / "toy.yaml")
    assert a.pe.type == "toy-mac" and a.pe.opcode == "MMA"  # the opcode comes from the class
    pe_registry.unregister("toy-mac")
    with pytest.raises(InputError, match="toy-mac") as exc:
        arch.load(tmp / "toy.yaml")
    assert exc.value.field == "arch.pe.type"
    pe_registry.register(type(model))  # the fixture unregisters it again


def test_a_layer_runs_end_to_end_on_the_plugin_pe(toy):
    """Every linear layer runs on the toy array with the toy's cycles; energy and area use its cost entry."""
    _, _, tmp = toy
    a, _, _, lowered = lower_trace(str(tmp / "toy.yaml"), str(tmp / "config.json"), "w8a8", "decode", kv_len=16)
    gemms = [(op, low) for op, low, _ in lowered if low.unit == "array"]
    assert {op.kind for op, _ in gemms} == {"linear"}  # lm_head stays fp16: the vector unit runs it
    for _, low in gemms:
        arrays = [ins for ins in low.program.instrs if ins.op == "MMA"]
        assert arrays
        active = sum(toy_cycles(ins["m"], ins["n"], ins["k"]) for ins in arrays)
        assert low.stats.events["array"]["active_cycles"] == active
        assert low.energy.breakdown["array"] == pytest.approx(active * PJ_PER_CYCLE * ROWS * COLS)
        assert low.energy.assumptions["array"]["source"].startswith("test-only")
    ar = cost.area(a)
    assert ar.breakdown["array"] == pytest.approx(ROWS * COLS * AREA_UM2 / 1e6)
    s = simulate(str(tmp / "toy.yaml"), str(tmp / "config.json"), "w8a8", "decode", kv_len=16).to_dict()
    assert s["totals"]["cycles"] > 0 and s["area_breakdown_mm2"]["array"] == ar.breakdown["array"]
    assert s["energy_breakdown_pj"]["array"] > 0


def test_registering_a_name_twice_is_a_clear_error(toy):
    model, module, _ = toy
    with pytest.raises(PERegistrationError, match="'toy-mac'.*already registered by toy_pe_plugin.ToyMac"):
        pe_registry.register(module.PE)
    shadow = type("Shadow", (module.PE,), {"name": "lut-tc"})
    with pytest.raises(PERegistrationError, match="'lut-tc'.*already registered by sim.pe.lut_tensor_core"):
        pe_registry.register(shadow)


@pytest.mark.parametrize("change,message", [
    ({"name": ""}, "non-empty string `name`"),
    ({"opcode": "FMA"}, "opcode 'FMA' is not an array instruction"),
    ({"dataflows": ("diagonal",)}, "dataflows"),
    ({"modes": ()}, "modes"),
    ({"dataflow_source": ""}, "dataflow_source"),
    ({"act_formats": ("int7",)}, "unknown: \\['int7'\\]"),
    ({"weight_formats": ("no-such-format",)}, "no-such-format"),
    ({"cost_entry": {"pj_per_cycle": 1.0}}, "cost_entry needs exactly the fields"),
])
def test_a_class_that_breaks_the_contract_is_refused(toy, change, message):
    _, module, _ = toy
    bad = type("Bad", (module.PE,), {"name": "toy-bad", **change})
    with pytest.raises(PERegistrationError, match=message):
        pe_registry.register(bad)
    assert "toy-bad" not in pe_registry.names()


def test_non_pe_classes_are_refused():
    with pytest.raises(PERegistrationError, match="expected a subclass of sim.pe.PEModel"):
        pe_registry.register(dict)
    with pytest.raises(PERegistrationError, match="does not define .*run"):
        pe_registry.register(type("Half", (PEModel,), {"name": "half", "opcode": "MMA"}))


def test_every_shipped_pe_declares_the_contract():
    """The shipped PEs keep their figures in sim/cost/data/constants.yaml (one source), not in the class."""
    table = cost.table()["pe"]
    for name in pe_registry.names():
        model = pe_registry.get(name)
        assert model.cost_entry is None and name in table
        assert model.partial_sum_format("int8") == "int32"
