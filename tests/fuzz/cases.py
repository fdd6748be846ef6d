"""Generated bad inputs, as a hostile or careless user would write them: arch YAML, sweep specs, ISA programs.

Each case is a plain dict (JSON-able, no lutsim import, so the same cases can be run against any checkout):
``id``, ``category``, ``command`` ("arch" | "sweep" | "run"), ``file`` (its name), ``data`` (the file's bytes,
latin-1 encoded text), ``args`` (extra command-line arguments) and ``expect`` (substrings the ``error:`` line
must contain: the field it names). Every case is bad input: the only right answer is exit status 2 with one
``error:`` line naming the field.
"""

from __future__ import annotations

import copy
import math
import struct
from pathlib import Path

import yaml

from sim.isa import binary

ROOT = Path(__file__).resolve().parents[2]
PRESETS = ROOT / "sim" / "arch" / "presets"
CATEGORIES = ("arch-numbers", "arch-structure", "sweep", "isa")

#: (path in the arch dict, dotted field name, base preset, values that must be refused)
_NEG = -1
_BIG_INT = 10**30
_NUMERIC = [
    ("clock_mhz", "lut-tc-28nm", (0, _NEG, math.nan, math.inf, 1e30, "fast", True)),
    ("node_nm", "lut-tc-28nm", (0, _NEG, _BIG_INT, 1e30, 2.5, "28nm", math.nan)),
    ("arrays", "lut-tc-28nm", (0, _NEG, _BIG_INT, 1e30, math.inf, "16", True)),
    ("pnr_factor", "lut-tc-28nm", (0, _NEG, math.nan, math.inf, 1e30, "x", [1])),
    ("pe.tile[0]", "lut-tc-28nm", (0, _NEG, _BIG_INT, 2.5, math.nan, "2", True)),
    ("pe.array[1]", "bitmod-28nm", (0, _NEG, _BIG_INT, 1e30, math.inf, "32", None)),
    ("table_unit.tables_per_cycle", "lut-tc-28nm", (0, _NEG, _BIG_INT, math.nan, "2", True, 1.5)),
    ("table_unit.group", "lut-tc-28nm", (0, _NEG, _BIG_INT, 64, 1e30, "4", math.inf)),
    ("table_unit.entry_bits", "lut-tc-28nm", (0, _NEG, _BIG_INT, 1000, math.nan, "16", [16])),
    ("table_unit.latency", "lut-tc-28nm", (_NEG, _BIG_INT, 1e30, math.inf, "2", True, 0.5)),
    ("vector.lanes", "lut-tc-28nm", (0, _NEG, _BIG_INT, 1e30, math.nan, "64", {})),
    ("vector.latency", "lut-tc-28nm", (_NEG, _BIG_INT, math.inf, "4", True, 1.5, [4])),
    ("vector.ops_per_cycle.rope", "lut-tc-28nm", (0, _NEG, math.nan, math.inf, 1e30, "0.5", True)),
    ("vector.ops_per_cycle.norm", "lut-tc-28nm", (0, math.nan, -math.inf, 1e300, "1", None, [1])),
    ("buffers[0].capacity", "lut-tc-28nm", (0, _NEG, _BIG_INT, math.nan, "512XiB", "99999999999999999999GiB",
                                            1.5)),
    ("buffers[1].banks", "lut-tc-28nm", (0, _NEG, _BIG_INT, math.inf, "64", True, 2.0)),
    ("buffers[2].ports", "lut-tc-28nm", (0, _NEG, _BIG_INT, 1000, math.nan, "1", [1])),
    ("buffers[3].width", "lut-tc-28nm", (0, _NEG, _BIG_INT, 1e30, math.inf, "512", True)),
    ("dram.bandwidth", "lut-tc-28nm", (0, _NEG, _BIG_INT, 1e30, math.nan, "256", True)),
    ("dram.latency", "lut-tc-28nm", (_NEG, _BIG_INT, 1e30, math.inf, "100", 0.5, [100])),
    ("dram.pj_per_bit", "lut-tc-28nm", (0, _NEG, math.nan, math.inf, 1e30, "18.75", True)),
    ("dram.pj_per_bit_write", "lut-tc-28nm", (0, _NEG, math.nan, math.inf, 1e30, "20", True)),
    ("dram.static_mw", "lut-tc-28nm", (_NEG, math.nan, math.inf, 1e30, "5", True, [5])),
    ("dram.banks.banks", "lut-tc-28nm", (0, _NEG, _BIG_INT, math.nan, "8", True, 1.5)),
    ("dram.banks.row_bytes", "lut-tc-28nm", (0, _NEG, _BIG_INT, math.inf, "2KiB?", True, 1e30)),
    ("dram.banks.row_miss_cycles", "lut-tc-28nm", (_NEG, _BIG_INT, math.nan, "20", True, 1.5, 1e30)),
]


def base_arch(preset: str) -> dict:
    """A valid arch dict: the preset, plus the optional DRAM fields so they can be broken too."""
    d = yaml.safe_load((PRESETS / f"{preset}.yaml").read_text())
    d["dram"].update(static_mw=5.0, pj_per_bit_write=20.0, banks={"banks": 8, "row_bytes": 2048, "row_miss_cycles": 20})
    return d


def _set(d: dict, path: str, value) -> dict:
    d = copy.deepcopy(d)
    node, parts = d, path.replace("]", "").replace("[", ".").split(".")
    for p in parts[:-1]:
        node = node[int(p)] if p.isdigit() else node[p]
    last = parts[-1]
    node[int(last) if last.isdigit() else last] = value
    return d


def _case(category: str, cid: str, command: str, file: str, data: str | bytes, expect, args=()) -> dict:
    raw = data if isinstance(data, bytes) else data.encode()
    return {"id": f"{category}:{cid}", "category": category, "command": command, "file": file,
            "data": raw.decode("latin-1"), "args": list(args),
            "expect": [expect] if isinstance(expect, str) else list(expect)}


def _dump(d) -> str:
    return yaml.safe_dump(d, sort_keys=False, width=1 << 20)


def arch_numbers() -> list[dict]:
    out = []
    for path, preset, values in _NUMERIC:
        base = base_arch(preset)
        for i, v in enumerate(values):
            out.append(_case("arch-numbers", f"{path}#{i}={v!r}"[:80], "arch", "bad.yaml", _dump(_set(base, path, v)),
                             f"arch.{path}"))
    return out


def _alias_bomb(key: str, levels: int = 9) -> str:
    lines = ["x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"x{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, levels)]
    return "\n".join(lines) + f"\n{key}: *a{levels - 1}\n"


def arch_structure() -> list[dict]:
    base = base_arch("lut-tc-28nm")
    wrong = [("pe", 5), ("pe", [1, 2]), ("dram", [1, 2]), ("dram", "fast"), ("vector", 5), ("vector", None),
             ("buffers", {"wbuf": 1}), ("buffers", [5]), ("buffers", [[1, 2]]), ("buffers", []), ("buffers", "wbuf"),
             ("dram.banks", 5), ("dram.banks", [8]), ("table_unit", [1]), ("table_unit", "yes"),
             ("vector.ops_per_cycle", [1]), ("vector.ops_per_cycle", 1), ("sources", "a paper"), ("sources", [[1]]),
             ("sources", [{"a": 1}]), ("name", [1, 2]), ("name", ""), ("name", 5), ("name", {"a": 1}),
             ("name", "x" * 20_000), ("description", {"a": 1}), ("description", [1]), ("dram.pj_source", [1]),
             ("pe.tile", [2, 64]), ("pe.tile", "2x64x4"), ("pe.tile", [2, 64, 4, 1]),
             ("buffers[0].name", "w buf"), ("buffers[0].name", "b" * 100), ("buffers[0].name", 7),
             ("table_unit.group", 10**30), ("table_unit.group", 2**20),
             ("pe.options", [1]), ("pe.options", {"table_quant": 3}), ("pe.options", {"table_quant": "yes"}),
             ("buffers", [dict(base["buffers"][0], name=f"b{i}") for i in range(300)])]
    out = []
    for i, (path, v) in enumerate(wrong):
        field = "arch." + path if path != "vector" or v is not None else "arch.vector"
        out.append(_case("arch-structure", f"wrong:{path}#{i}", "arch", "bad.yaml", _dump(_set(base, path, v)),
                         field.split("[")[0] if path == "buffers" else field))
    typos = [("clok_mhz", "clock_mhz", ""), ("dram.bandwith", "bandwidth", "dram"), ("vector.lane", "lanes", "vector"),
             ("buffers[0].capacty", "capacity", "buffers[0]"), ("table_unit.grup", "group", "table_unit"),
             ("dram.banks.row_byte", "row_bytes", "dram.banks"), ("vector.ops_per_cycle.ropee", "rope",
                                                                   "vector.ops_per_cycle")]
    for typo, meant, _ in typos:
        out.append(_case("arch-structure", f"typo:{typo}", "arch", "bad.yaml", _dump(_set(base, typo, 1)),
                         [f"arch.{typo}", f"did you mean '{meant}'"]))
    out.append(_case("arch-structure", "typo:pe.options.table_qant", "arch", "bad.yaml",
                     _dump(_set(base, "pe.options", {"table_qant": True})),
                     ["arch.pe.options.table_qant", "did you mean 'table_quant'"]))
    ant = base_arch("ant-28nm")
    out.append(_case("arch-structure", "options-on-a-pe-without-options", "arch", "bad.yaml",
                     _dump(_set(ant, "pe.options", {"table_quant": True})), "arch.pe.options"))
    mixed = _dump(base) + "1: one\n"
    out.append(_case("arch-structure", "mixed-key-types-top", "arch", "bad.yaml", mixed, "arch.1"))
    out.append(_case("arch-structure", "mixed-key-types-dram", "arch", "bad.yaml",
                     _dump(_set(base, "dram", {**base["dram"], 7: "x"})), "arch.dram.7"))
    text_cases = [
        ("deep-list", _dump(base) + "extra: " + "[" * 100_000 + "]" * 100_000 + "\n", "bad.yaml"),
        ("deep-map", "a:\n" + "".join(" " * (i + 1) + f"k{i}:\n" for i in range(1200)), "bad.yaml"),
        ("alias-bomb-name", _alias_bomb("name"), "bad.yaml"),
        ("alias-bomb-description", _dump(base) .replace("description:", "old_description:") + _alias_bomb(
            "description"), "bad.yaml"),
        ("alias-bomb-in-extra", _dump(base) + _alias_bomb("zz"), "bad.yaml"),
        ("recursive-alias", "a: &x [1, *x]\n", "bad.yaml"),
        ("oversized", "# " + "x" * (2 * 1024 * 1024) + "\n" + _dump(base), "bad.yaml"),
        ("empty", "", "bad.yaml"),
        ("top-level-list", "- 1\n- 2\n", "bad.yaml"),
        ("top-level-scalar", "42\n", "bad.yaml"),
        ("syntax-error", "name: [unclosed\n", "bad.yaml"),
        ("tab-indent", "name: x\n\tnode_nm: 3\n", "bad.yaml"),
        ("python-tag", "name: !!python/object/apply:os.system ['true']\n", "bad.yaml"),
    ]
    expect_of = {"empty": "arch", "top-level-list": "arch", "top-level-scalar": "arch",
                 "alias-bomb-in-extra": "bad.yaml", "python-tag": "bad.yaml"}
    for cid, text, name in text_cases:
        out.append(_case("arch-structure", cid, "arch", name, text, expect_of.get(cid, name)))
    out.append(_case("arch-structure", "non-utf8", "arch", "bad.yaml", _dump(base).encode() + b"\nx: \xff\xfe\n",
                     "bad.yaml"))
    out.append(_case("arch-structure", "utf16", "arch", "bad.yaml", _dump(base).encode("utf-16"), "bad.yaml"))
    return out


_WL = {"model": "llama-2-7b", "quant": "w4a16-g128", "phase": "decode", "kv_len": 128}
_SWEEP = {"name": "fuzz", "base_arch": "lut-tc-28nm", "axes": {"dram.bandwidth": [256, 512]}, "workloads": [_WL]}


def sweep() -> list[dict]:
    s = copy.deepcopy(_SWEEP)
    ops = ("norm", "softmax", "act", "rope", "residual")
    huge = {f"vector.ops_per_cycle.{op}": list(range(1, 11)) for op in ops} | {
        "dram.bandwidth": list(range(1, 11)), "dram.latency": list(range(10)), "arrays": list(range(1, 11)),
        "clock_mhz": list(range(1, 11)), "node_nm": list(range(1, 11))}  # 10**10 design points
    patches = [
        ("huge-grid", {"axes": huge}, "--max-rows"),
        ("random-1e8", {"axes": huge, "sampling": {"mode": "random", "n": 10**8}}, "--max-rows"),
        ("random-more-than-grid", {"sampling": {"mode": "random", "n": 3}}, "sampling.n"),  # 2 distinct points
        ("random-2e62", {"axes": huge, "sampling": {"mode": "random", "n": 2**62}}, "sampling.n"),
        ("random-n-too-big", {"sampling": {"mode": "random", "n": 2**70}}, "sampling.n"),
        ("sampling-string", {"sampling": "random"}, "sampling"),
        ("sampling-list", {"sampling": ["grid"]}, "sampling"),
        ("sampling-mode", {"sampling": {"mode": "sobol"}}, "sampling.mode"),
        ("sampling-n-missing", {"sampling": {"mode": "random"}}, "sampling.n"),
        ("sampling-n-string", {"sampling": {"mode": "random", "n": "5"}}, "sampling.n"),
        ("sampling-n-float", {"sampling": {"mode": "random", "n": 2.5}}, "sampling.n"),
        ("sampling-n-zero", {"sampling": {"mode": "random", "n": 0}}, "sampling.n"),
        ("sampling-n-bool", {"sampling": {"mode": "random", "n": True}}, "sampling.n"),
        ("seed-string", {"sampling": {"mode": "random", "n": 3, "seed": "abc"}}, "sampling.seed"),
        ("seed-negative", {"sampling": {"mode": "random", "n": 3, "seed": -1}}, "sampling.seed"),
        ("seed-float", {"sampling": {"mode": "random", "n": 3, "seed": 1.5}}, "sampling.seed"),
        ("seed-huge", {"sampling": {"mode": "random", "n": 3, "seed": 2**70}}, "sampling.seed"),
        ("seed-list", {"sampling": {"mode": "random", "n": 3, "seed": [1]}}, "sampling.seed"),
        ("sampling-typo", {"sampling": {"mode": "random", "n": 3, "sed": 1}}, "sampling.sed"),
        ("constraints-list", {"constraints": [1]}, "constraints"),
        ("constraints-string", {"constraints": "small"}, "constraints"),
        ("constraint-nan", {"constraints": {"area_mm2": math.nan}}, "constraints.area_mm2"),
        ("constraint-inf", {"constraints": {"area_mm2": math.inf}}, "constraints.area_mm2"),
        ("constraint-negative", {"constraints": {"power_w": -1}}, "constraints.power_w"),
        ("constraint-bool", {"constraints": {"power_w": True}}, "constraints.power_w"),
        ("constraint-string", {"constraints": {"power_w": "10W"}}, "constraints.power_w"),
        ("constraint-unknown", {"constraints": {"speed": 3}}, "constraints.speed"),
        ("workload-seq-huge", {"workloads": [dict(_WL, phase="prefill", seq_len=10**15)]}, "workloads[0].seq_len"),
        ("workload-batch-huge", {"workloads": [dict(_WL, batch=10**15)]}, "workloads[0].batch"),
        ("workload-kv-negative", {"workloads": [dict(_WL, kv_len=-5)]}, "workloads[0].kv_len"),
        ("workload-batch-float", {"workloads": [dict(_WL, batch=1.5)]}, "workloads[0].batch"),
        ("workload-batch-string", {"workloads": [dict(_WL, batch="8")]}, "workloads[0].batch"),
        ("workload-model-typo", {"workloads": [dict(_WL, model="llama2-7b")]}, "workloads[0].model"),
        ("workload-phase-typo", {"workloads": [dict(_WL, phase="decod")]}, "workloads[0].phase"),
        ("workload-unknown-key", {"workloads": [dict(_WL, kvlen=3)]}, "workloads[0].kvlen"),
        ("workloads-empty", {"workloads": []}, "workloads"),
        ("workloads-ints", {"workloads": [5]}, "workloads"),
        ("workloads-string", {"workloads": "llama"}, "workloads"),
        ("axes-list", {"axes": [1, 2]}, "axes"),
        ("axes-empty-values", {"axes": {"arrays": []}}, "axes.arrays"),
        ("axes-scalar-values", {"axes": {"arrays": 5}}, "axes.arrays"),
        ("axes-int-key", {"axes": {1: [1]}}, "axes.1"),
        ("axes-unknown-path", {"axes": {"dram.bandwith": [1]}}, "axes.dram.bandwith"),
        ("axes-too-many-values", {"axes": {"arrays": [1] * 10_001}}, "axes.arrays"),
        ("evaluator-exec", {"evaluator": "builtins:exec"}, "evaluator"),
        ("evaluator-system", {"evaluator": "os:system"}, "evaluator"),
        ("evaluator-eval", {"evaluator": "builtins:eval"}, "evaluator"),
        ("evaluator-unknown-name", {"evaluator": "no-such-evaluator"}, "evaluator"),
        ("evaluator-int", {"evaluator": 5}, "evaluator"),
        ("evaluator-list", {"evaluator": ["lutsim"]}, "evaluator"),
        ("base-arch-unknown", {"base_arch": "no-such-arch"}, "base_arch"),
        ("base-arch-int", {"base_arch": 5}, "base_arch"),
        ("base-arch-empty", {"base_arch": ""}, "base_arch"),
        ("name-list", {"name": [1]}, "name"),
        ("top-typo-axis", {"axis": {}}, "axis"),
        ("top-typo-workload", {"workload": []}, "workload"),
        ("top-typo-constraint", {"constraint": {}}, "constraint"),
    ]
    out = []
    for cid, patch, field in patches:
        d = {**s, **patch}
        out.append(_case("sweep", cid, "sweep", "spec.yaml", _dump(d), field))
    missing = dict(s)
    del missing["base_arch"]
    out.append(_case("sweep", "base-arch-missing", "sweep", "spec.yaml", _dump(missing), "base_arch"))
    for cid, text in [("alias-bomb", _alias_bomb("name")), ("deep", "axes: " + "[" * 100_000 + "]" * 100_000),
                      ("top-level-list", "- 1\n"), ("empty", ""), ("syntax", "axes: {unclosed\n"),
                      ("python-tag", "name: !!python/object/apply:os.system ['true']\n")]:
        out.append(_case("sweep", cid, "sweep", "spec.yaml", text, "spec.yaml"))
    out.append(_case("sweep", "non-utf8", "sweep", "spec.yaml", _dump(s).encode() + b"# \xff\xfe\n", "SPEC"))
    out.append(_case("sweep", "bad-base-arch-file", "sweep", "spec.yaml", _dump({**s, "base_arch": "nofile.yaml"}),
                     "base_arch"))
    return out


_LOAD = "LOAD buf=wbuf addr={addr} bytes={nbytes}"


def _binary(records: bytes, strings: list[str], n_ins: int, arch_id: int = -1) -> bytes:
    table = b"".join(struct.pack("<H", len(s.encode())) + s.encode() for s in strings)
    head = struct.pack("<4sHHII", b"LTSA", binary.VERSION, 0, len(strings), n_ins)
    return head + table + struct.pack("<i", arch_id) + records


def _bin_load(buf_sid: int, addr: int, nbytes: int, rows: int = 1, stride: int = 0, bstride: int = 1) -> bytes:
    return struct.pack("<BIHHHHi", 0, 0, 0, 0, 0, 0, -1) + struct.pack("<qqqqqq", buf_sid, addr, nbytes, rows,
                                                                       stride, bstride)


def isa() -> list[dict]:
    text = [
        ("addr-2^63", "LOAD buf=wbuf addr=9223372036854775808 bytes=16", "line 1.addr"),
        ("addr-2^64", "LOAD buf=wbuf addr=18446744073709551616 bytes=16", "line 1.addr"),
        ("addr-2^48", "LOAD buf=wbuf addr=281474976710656 bytes=16", "line 1.addr"),
        ("addr-end-beyond", "LOAD buf=wbuf addr=281474976710640 bytes=64", "line 1.addr"),
        ("addr-negative", "LOAD buf=wbuf addr=-1 bytes=16", "line 1.addr"),
        ("addr-hex-huge", "LOAD buf=wbuf addr=0xffffffffffffffffff bytes=16", "line 1.addr"),
        ("addr-10^5-digits", "LOAD buf=wbuf addr=" + "9" * 100_000 + " bytes=16", "line 1 addr"),
        ("bytes-2^63", "LOAD buf=wbuf addr=0 bytes=9223372036854775807", "line 1.bytes"),
        ("bytes-2^41", "LOAD buf=wbuf addr=0 bytes=2199023255552", "line 1.bytes"),
        ("bytes-zero", "LOAD buf=wbuf addr=0 bytes=0", "line 1.bytes"),
        ("bytes-over-buffer", "LOAD buf=tbuf addr=0 bytes=1048576", "instr[0].bytes"),
        ("store-over-buffer", "STORE buf=obuf addr=0 bytes=1073741824", "instr[0].bytes"),
        ("load-over-alloc", "LOAD buf=wbuf addr=0 bytes=4096 alloc=wbuf:16", "line 1.bytes"),
        ("load-over-alloc-2", "LOAD buf=abuf addr=0 bytes=100 alloc=abuf:10,abuf:20", "line 1.bytes"),
        ("rows-over-bytes", "LOAD buf=wbuf addr=0 bytes=16 rows=32", "line 1.rows"),
        ("rows-2^63", "LOAD buf=wbuf addr=0 bytes=16 rows=9223372036854775807", "line 1.rows"),
        ("stride-2^63", "LOAD buf=wbuf addr=0 bytes=16 rows=2 stride=9223372036854775807", "line 1.stride"),
        ("stride-span", "LOAD buf=wbuf addr=0 bytes=16 rows=16 stride=281474976710000", "line 1.addr"),
        ("bstride-2^40", "LOAD buf=wbuf addr=0 bytes=16 bstride=1099511627776", "line 1.bstride"),
        ("lmma-m-2^30", "LMMA m=1073741824 n=64 k=4 weights=int2 acts=fp16", "line 1.m"),
        ("lmma-work", "LMMA m=65536 n=65536 k=65536 weights=int2 acts=fp16", "line 1.k"),
        ("mma-k-2^63", "MMA m=1 n=1 k=9223372036854775807 weights=int8 acts=int8", "line 1.k"),
        ("precompute-huge", "PRECOMPUTE m=16777216 k=16777216 acts=fp16", "line 1.k"),
        ("dequant-huge", "DEQUANT m=16777216 n=16777216 groups=16777216", "line 1.groups"),
        ("vec-elems-2^50", "VEC op=norm elems=1125899906842624", "line 1.elems"),
        ("vec-elems-2^63", "VEC op=act elems=9223372036854775807", "line 1.elems"),
        ("group-huge", "LMMA m=2 n=64 k=4 weights=int2 acts=fp16 group=4294967296", "line 1.group"),
        ("alloc-2^63", "SYNC alloc=wbuf:9223372036854775807", "line 1.alloc"),
        ("alloc-over-capacity", "SYNC alloc=tbuf:1048576", "instr[0].alloc"),
        ("free-2^62", "SYNC free=wbuf:4611686018427387904", "line 1.free"),
        ("rd-2^63", "SYNC rd=wbuf:9223372036854775807:1", "line 1.rd"),
        ("rd-stride-2^40", "SYNC rd=wbuf:16:1099511627776", "line 1.rd"),
        ("wr-over-capacity", "SYNC wr=tbuf:1048576", "instr[0].wr"),
        ("alloc-unknown-buffer", "SYNC alloc=nobuf:16", "instr[0].alloc"),
        ("load-unknown-buffer", "LOAD buf=nobuf addr=0 bytes=16", "instr[0]"),
        ("dep-forward", "SYNC after=@5", "instr[0].after"),
        ("dep-huge", "SYNC\nSYNC after=@99999999999999999999", "instr[1].after"),
        ("unknown-opcode", "JUMP to=0", "line 1"),
        ("bad-operand", "LOAD buf=wbuf addr=0 bytes=16 colour=red", "line 1 colour"),
        ("bad-vec-op", "VEC op=teleport elems=4", "line 1.op"),
        ("bad-label", "1abc: SYNC", "line 1"),
    ]
    out = [_case("isa", cid, "run", "prog.s", src + "\n", field) for cid, src, field in text]
    out.append(_case("isa", "non-utf8-text", "run", "prog.s", b"SYNC ; \xff\xfe\n", "PROGRAM"))
    good = _binary(_bin_load(0, 0, 16), ["wbuf"], 1)
    binaries = [
        ("bin-truncated-header", good[:10], "program"),
        ("bin-truncated-record", good[:-8], "program"),
        ("bin-bad-version", good[:4] + struct.pack("<H", 9) + good[6:], "program"),
        ("bin-opcode-200", _binary(struct.pack("<BIHHHHi", 200, 0, 0, 0, 0, 0, -1), [], 1), "program"),
        ("bin-string-index-huge", _binary(_bin_load(10**9, 0, 16), ["wbuf"], 1), "program"),
        ("bin-string-index-negative", _binary(_bin_load(-1, 0, 16), ["wbuf"], 1), "program"),
        ("bin-addr-2^62", _binary(_bin_load(0, 2**62, 16), ["wbuf"], 1), "instr[0].addr"),
        ("bin-bytes-negative", _binary(_bin_load(0, 0, -16), ["wbuf"], 1), "instr[0].bytes"),
        ("bin-bytes-2^62", _binary(_bin_load(0, 0, 2**62), ["wbuf"], 1), "instr[0].bytes"),
        ("bin-n-instrs-2^32", _binary(_bin_load(0, 0, 16), ["wbuf"], 2**32 - 1), "program"),
        ("bin-n-strings-huge", struct.pack("<4sHHII", b"LTSA", binary.VERSION, 0, 2**32 - 1, 0), "program"),
        ("bin-deps-huge", _binary(struct.pack("<BIHHHHi", 8, 2**32 - 1, 0, 0, 0, 0, -1), [], 1), "program"),
        ("bin-bad-utf8-string", _binary(_bin_load(0, 0, 16), ["wbuf"], 1).replace(b"wbuf", b"\xff\xfe\xfd\xfc"),
         "program"),
    ]
    out += [_case("isa", cid, "run", "prog.bin", data, field) for cid, data, field in binaries]
    return out


def all_cases() -> list[dict]:
    return [*arch_numbers(), *arch_structure(), *sweep(), *isa()]
