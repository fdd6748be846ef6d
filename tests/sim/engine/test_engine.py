"""Hand-checked micro-programs on the engine (lut-tc-28nm memory system, test PE with a known formula:
cycles = ⌈m/2⌉·⌈n/64⌉·⌈k/4⌉·b + 1; DRAM 256 bit/cycle, latency 100; 512-bit × 64-bank buffers)."""

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import engine, isa
from sim import pe as pe_registry
from sim.errors import InputError
from tests.sim.helpers import lut_arch
from tests.sim.unit_pe import formula

BW, LAT = 256, 100


def one_array(**over):
    return lut_arch(arrays=1, **over)


def test_single_load_is_latency_plus_bytes_over_bandwidth(unit_pe):
    p = isa.Program()
    p.add("LOAD", buf="wbuf", addr=0, bytes=4096)
    s = engine.run(p, one_array())
    assert s.cycles == LAT + 4096 * 8 // BW == 228
    assert s.units["dma"]["busy"] == 128 and s.units["dma"]["utilization"] == pytest.approx(128 / 228)
    assert s.events["dram"]["read_bits"] == 4096 * 8
    assert s.events["buf:wbuf"]["write_bits"] == 4096 * 8


def test_load_overlaps_lmma(unit_pe):
    c = formula(2, 64, 64, 4)  # 16 k-groups x 4 bits + 1 = 65 cycles
    p = isa.Program()
    l0 = p.add("LOAD", buf="wbuf", addr=0, bytes=1024)
    m0 = p.add("LMMA", m=2, n=64, k=64, weights="int4", acts="int8", deps=[l0])
    l1 = p.add("LOAD", buf="wbuf", addr=1024, bytes=1024)
    m1 = p.add("LMMA", m=2, n=64, k=64, weights="int4", acts="int8", deps=[l1])
    s = engine.run(p, one_array())
    assert (s.start[l0], s.end[l0]) == (0, 132)
    assert (s.start[m0], s.end[m0]) == (132, 132 + c)
    assert (s.start[l1], s.end[l1]) == (32, 164)  # the second load runs while the array computes
    assert s.start[m1] == max(164, 132 + c) and s.cycles == s.start[m1] + c
    assert s.start[l1] < s.end[m0]
    assert s.units["array"]["stall_dep"] == 132 + (s.start[m1] - s.end[m0])  # waiting for weights
    assert s.units["array"]["busy"] == 2 * c and s.units["array"]["stall_space"] == 0


def _double_buffered(capacity: int):
    tile = 1024
    p = isa.Program()
    loads, mmas = [], []
    for t in range(3):
        loads.append(p.add("LOAD", buf="wbuf", addr=t * tile, bytes=tile, alloc=[("wbuf", tile)]))
        mmas.append(p.add("LMMA", m=2, n=64, k=64, weights="int4", acts="int8", deps=[loads[-1]],
                          free=[("wbuf", tile)]))
    buffers = [{"name": "wbuf", "capacity": capacity, "banks": 1, "ports": 1, "width": 512},
               {"name": "obuf", "capacity": 4096, "banks": 1, "ports": 1, "width": 512}]
    return p, engine.run(p, one_array(buffers=buffers)), loads, mmas


def test_buffer_for_one_tile_forces_serialization(unit_pe):
    c = formula(2, 64, 64, 4)
    _, s, loads, mmas = _double_buffered(capacity=1024)
    for t in (1, 2):  # each load waits for the previous LMMA to free the only slot
        assert s.start[loads[t]] == s.end[mmas[t - 1]]
    assert s.cycles == 3 * (132 + c)
    assert s.units["dma"]["stall_space"] == 2 * (132 + c - 32)
    assert s.peak_bytes["wbuf"] == 1024


def test_buffer_for_two_tiles_double_buffers(unit_pe):
    c = formula(2, 64, 64, 4)
    _, s, loads, mmas = _double_buffered(capacity=2048)
    assert s.start[loads[1]] == 32  # fetched during the first tile: double buffering falls out
    assert s.start[loads[2]] == s.end[mmas[0]]  # third tile waits for the first slot
    assert s.cycles < 3 * (132 + c)
    assert s.peak_bytes["wbuf"] == 2048


def _pe_archs():
    """The test PE, and the real lut-tc PE on its preset once it is registered (after the merge)."""
    archs = [one_array()]
    if "lut-tc" in pe_registry.names():
        from sim import arch

        d = arch.load("lut-tc-28nm").to_dict()
        d["arrays"] = 1
        archs.append(arch.from_dict(d))
    return archs


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(m=st.integers(1, 300), n=st.integers(1, 600), k=st.integers(1, 700),
       w=st.sampled_from(["int1", "int2", "int3", "int4", "int8"]))
def test_one_tile_program_equals_pe_tile_model(m, n, k, w, unit_pe):
    for a in _pe_archs():
        p = isa.Program()
        p.add("LMMA", m=m, n=n, k=k, weights=w, acts="int8")
        s = engine.run(p, a)
        model = pe_registry.get(a.pe.type)
        res = model.run(pe_registry.GemmProblem(m, n, k, w, "int8"), model.resolve(a.pe.config()), "tile")
        assert s.cycles == res.cycles
        assert s.units["array"]["busy"] == res.cycles
        assert s.events["array"] == {"active_cycles": res.cycles, **{f"pe:{e}": v for e, v in res.events.items()}}


def test_bank_conflicts_slow_buffer_access(unit_pe):
    a = one_array(dram={"bandwidth": 100000, "latency": 0, "pj_per_bit": 1.0})
    times = {}
    for stride in (1, 2, 64):
        p = isa.Program()
        p.add("LOAD", buf="wbuf", addr=0, bytes=65536, bstride=stride)
        times[stride] = engine.run(p, a).cycles
    # 64 banks x 512 bits per cycle; stride 2 hits 32 banks, stride 64 one bank
    assert times == {1: 65536 * 8 // (64 * 512), 2: 65536 * 8 // (32 * 512), 64: 65536 * 8 // 512}


def test_dram_row_model_adds_row_misses(unit_pe):
    a = one_array(dram={"bandwidth": 256, "latency": 10, "pj_per_bit": 1.0,
                        "banks": {"banks": 4, "row_bytes": 1024, "row_miss_cycles": 20}})
    p = isa.Program()
    p.add("LOAD", buf="wbuf", addr=512, bytes=4096)  # rows 0..4 -> 5 activations
    p.add("LOAD", buf="wbuf", addr=0, bytes=64, rows=4, stride=2048)  # 4 segments in 4 rows
    s = engine.run(p, a)
    assert s.events["dram"]["row_activations"] == 9
    assert s.end[0] == 128 + 2 * 20 + 10
    assert s.end[1] == s.start[1] + 2 + 1 * 20 + 10


def test_arrays_run_in_parallel_and_sync_waits_for_all(unit_pe):
    c = formula(2, 64, 64, 4)
    p = isa.Program()
    for _ in range(4):
        p.add("LMMA", m=2, n=64, k=64, weights="int4", acts="int8")
    sync = p.add("SYNC")
    last = p.add("VEC", op="residual", elems=64)
    s = engine.run(p, lut_arch(arrays=2))
    assert sorted(s.start[:4].tolist()) == [0, 0, c, c]
    assert s.start[sync] == 2 * c and s.start[last] == 2 * c
    assert s.units["array"]["utilization"] == pytest.approx(4 * c / (2 * s.cycles))


def test_buffer_never_freed_is_an_error(unit_pe):
    p = isa.Program()
    p.add("LOAD", buf="wbuf", addr=0, bytes=400 * 1024, alloc=[("wbuf", 400 * 1024)])
    p.add("LOAD", buf="wbuf", addr=0, bytes=400 * 1024, alloc=[("wbuf", 400 * 1024)])
    with pytest.raises(InputError, match="waits forever"):
        engine.run(p, one_array())


def test_wrong_array_opcode_and_missing_buffer(unit_pe):
    p = isa.Program()
    p.add("MMA", m=2, n=64, k=4, weights="int4", acts="int8")
    with pytest.raises(InputError, match="executes LMMA"):
        engine.run(p, one_array())
    p = isa.Program()
    p.add("LOAD", buf="nowhere", addr=0, bytes=4)
    with pytest.raises(InputError, match="no buffer 'nowhere'"):
        engine.run(p, one_array())


def test_chrome_trace_has_one_slice_per_instruction(unit_pe):
    p = isa.load("examples/lmma_tile.s")
    s = engine.run(p, lut_arch())
    trace = json.loads(json.dumps(s.chrome_trace()))
    slices = [e for e in trace["traceEvents"] if e["ph"] == "X"]
    assert [e["name"] for e in slices] == [i.op for i in p.instrs]
    assert slices[3]["args"]["start_cycle"] == s.start[3]


@st.composite
def random_programs(draw):
    n = draw(st.integers(1, 30))
    p = isa.Program()
    held = []  # (index, bytes) of allocations not yet freed
    for _ in range(n):
        i = len(p)
        op = draw(st.sampled_from(["LOAD", "LMMA", "VEC", "PRECOMPUTE", "STORE", "SYNC"]))
        deps = sorted(set(draw(st.lists(st.integers(0, i - 1), max_size=2)))) if i else []
        free = []
        if op != "LOAD" and held and draw(st.booleans()):  # a LOAD's own free would come after its alloc
            j, b = held.pop(0)
            free = [("wbuf", b)]
            deps = sorted(set(deps) | {j})
        if op == "LOAD":
            b = draw(st.integers(1, 3000))
            while held and sum(h[1] for h in held) + b > 4096:  # free the oldest first: no deadlock
                j, hb = held.pop(0)
                p.add("VEC", op="residual", elems=hb, deps=[j], free=[("wbuf", hb)])
            p.add("LOAD", buf="wbuf", addr=0, bytes=b, deps=deps, free=free, alloc=[("wbuf", b)])
            held.append((i, b))
        elif op == "STORE":
            p.add("STORE", buf="obuf", addr=0, bytes=draw(st.integers(1, 3000)), deps=deps, free=free)
        elif op == "LMMA":
            p.add("LMMA", m=draw(st.integers(1, 9)), n=draw(st.integers(1, 200)), k=draw(st.integers(1, 40)),
                  weights="int2", acts="int8", deps=deps, free=free)
        elif op == "VEC":
            p.add("VEC", op="softmax", elems=draw(st.integers(1, 5000)), deps=deps, free=free)
        elif op == "PRECOMPUTE":
            p.add("PRECOMPUTE", m=2, k=draw(st.integers(1, 64)), acts="int8", deps=deps, free=free)
        else:
            p.add("SYNC", deps=deps, free=free)
    return p


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(p=random_programs(), arrays=st.integers(1, 3))
def test_random_schedules_respect_dependencies_units_and_capacity(p, arrays, unit_pe):
    cap = 4096
    a = lut_arch(arrays=arrays, buffers=[{"name": "wbuf", "capacity": cap}, {"name": "obuf", "capacity": 4096}])
    dec = engine.decode(p, a)
    s = engine.run(p, a)
    for i in range(len(p)):
        assert s.end[i] - s.start[i] == dec.dur[i]
        for d in dec.dep_idx[dec.dep_ptr[i]:dec.dep_ptr[i + 1]]:
            assert s.start[i] >= s.end[d]
    for u in set(s.unit.tolist()):  # one instruction at a time per unit instance, in program order
        idx = np.flatnonzero(s.unit == u)
        if s.unit_names[u] == "sync":
            continue
        assert all(s.start[j] >= s.start[i] + dec.occ[i] for i, j in zip(idx, idx[1:]))
    events = sorted([(s.start[i], 1, b) for i, ins in enumerate(p.instrs) for _, b in ins.alloc]
                    + [(s.end[i], 0, -b) for i, ins in enumerate(p.instrs) for _, b in ins.free])
    used = 0
    for _, _, delta in events:  # frees at a time are applied before allocations at that time
        used += delta
        assert used <= cap
    assert s.cycles == (int(s.end.max()) if len(p) else 0)


CHAINED_SPACE_WAITS = """
a0: LOAD buf=abuf addr=0 bytes=64 alloc=abuf:64
p0: PRECOMPUTE m=2 k=4 acts=int8 after=a0 alloc=tbuf:64 free=abuf:64
m0: LMMA m=2 n=64 k=4096 weights=int4 acts=int8 after=p0
s0: SYNC after=m0 free=tbuf:64
a1: LOAD buf=abuf addr=64 bytes=64 alloc=abuf:64
p1: PRECOMPUTE m=2 k=4 acts=int8 after=a1 alloc=tbuf:64 free=abuf:64
a2: LOAD buf=abuf addr=128 bytes=64 alloc=abuf:64
a3: LOAD buf=abuf addr=192 bytes=64 alloc=abuf:64
"""


def test_a_free_seen_while_another_unit_retries_wakes_every_unit_waiting_for_space(unit_pe):
    """The DMA (a3, abuf full) and the table unit (p1, tbuf full) both wait for space; the SYNC that frees tbuf
    is processed while the DMA retries and fails. The table unit must still start p1 at that moment, whose end
    frees abuf for a3 (a kernel that only woke the unit it was retrying reported a deadlock here)."""
    buffers = [{"name": "abuf", "capacity": 128, "banks": 1, "ports": 1, "width": 512},
               {"name": "tbuf", "capacity": 64, "banks": 1, "ports": 1, "width": 512},
               {"name": "obuf", "capacity": 4096, "banks": 1, "ports": 1, "width": 512}]
    p = isa.parse(CHAINED_SPACE_WAITS)
    s = engine.run(p, one_array(buffers=buffers))
    idx = {ins.label: i for i, ins in enumerate(p.instrs)}
    assert s.start[idx["a2"]] < s.end[idx["m0"]]  # abuf holds a1 and a2 while m0 runs
    assert s.start[idx["p1"]] == s.end[idx["s0"]] == s.end[idx["m0"]]
    assert s.start[idx["a3"]] == s.end[idx["p1"]]
    assert s.units["table"]["stall_space"] > 0 and s.units["dma"]["stall_space"] > 0
