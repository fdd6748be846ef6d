"""Streaming many vectors through one Verilator build of a generated design (tests/hdl/test_volume.py).

The C++ testbench written here (built with ``rtl.tools.hdl_sim.verilator_cpp_build``) reads a binary
file of input vectors, one vector per accepted cycle: every input port's value as little-endian 32-bit
words, ports in :attr:`Stream.inputs` order. After one reset cycle it presents vector v, settles the logic,
clocks one rising edge and, when any ``record`` output is high after the edge (every edge when none is
named), writes the edge number (edge 1 samples vector 0) and every output port's words. With ``advance``
(an output, e.g. a ready) vector v is held until that output is high before the edge; otherwise one vector
per edge. ``side`` ports take
their value from a second file indexed by how many times the ``side_next`` output was high (a per-result
input such as BitMoD's channel scale). ``tail`` all-zero cycles follow the last vector.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rtl.tools import verilog
from rtl.tools.hdl_sim import verilator_cpp_build
from rtl.tools.hdl_sim import verilog_ports as ports

CLOCK_PORTS = ("clk", "rst")


def words_of(width: int) -> int:
    return -(-width // 32)


def pack_words(values, width: int) -> np.ndarray:
    """(V, count) integers (two's complement, element 0 lowest) → (V, words) uint32 of one port."""
    v = np.asarray(values, dtype=np.int64)
    v = v.reshape(len(v), -1)
    rows, count = v.shape
    n_words = words_of(width * count)
    if 32 % width == 0:                                  # whole elements per word: shift and add
        per = 32 // width
        u = (v & ((1 << width) - 1)).astype(np.uint64)
        u = np.pad(u, ((0, 0), (0, n_words * per - count)))
        shifts = (np.arange(per, dtype=np.uint64) * np.uint64(width))
        return (u.reshape(rows, n_words, per) << shifts).sum(axis=2).astype(np.uint32)
    bits = ((v[:, :, None] >> np.arange(width)) & 1).astype(np.uint8).reshape(rows, count * width)
    bits = np.pad(bits, ((0, 0), (0, n_words * 32 - count * width)))
    return np.packbits(bits, axis=1, bitorder="little").view("<u4").astype(np.uint32)


def unpack_words(words: np.ndarray, width: int, count: int, signed: bool = False) -> np.ndarray:
    """Inverse of :func:`pack_words`: (R, words) uint32 → (R, count) int64."""
    words = np.ascontiguousarray(words, dtype="<u4")
    bits = np.unpackbits(words.view(np.uint8), axis=1, bitorder="little")[:, :width * count]
    bits = bits.reshape(len(words), count, width).astype(np.int64)
    v = (bits << np.arange(width)).sum(axis=2)
    if signed:
        v = np.where(v >> (width - 1), v - (1 << width), v)
    return v


@dataclass
class Stream:
    """A built design: its ports, the executable, and the streaming options (see the module docstring)."""

    exe: Path
    inputs: dict[str, int]
    outputs: dict[str, int]
    record: tuple[str, ...]
    advance: str | None = None
    side: tuple[str, ...] = ()
    side_next: str | None = None
    build_s: float = 0.0
    edges: int = field(default=0)

    def run(self, vectors: dict[str, np.ndarray], side: dict[str, np.ndarray] | None = None,
            tail: int = 8) -> dict[str, np.ndarray]:
        """Stream ``vectors`` (port → (V, count) or (V,) values; missing ports are 0); returns port → (R, words)
        of every recorded edge plus ``"edge"`` (R,). Sets :attr:`edges` to the edges clocked."""
        n = len(next(iter(vectors.values())))
        stim = self._file(self.inputs, [p for p in self.inputs if p not in self.side], vectors, n)
        work = self.exe.parent
        (work / "stim.bin").write_bytes(stim.tobytes())
        side = side or {}
        n_side = len(next(iter(side.values()))) if side else 1
        (work / "side.bin").write_bytes(self._file(self.inputs, list(self.side), side, n_side).tobytes())
        res = subprocess.run([str(self.exe), str(work / "stim.bin"), str(work / "side.bin"), str(work / "out.bin"),
                              str(tail)], capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError(f"{self.exe.name} failed: {res.stderr[-2000:]}")
        self.edges = int(res.stdout.split()[-1])
        raw = np.fromfile(work / "out.bin", dtype="<u4")
        widths = [words_of(w) for w in self.outputs.values()]
        rec = raw.reshape(-1, 1 + sum(widths))
        out, col = {"edge": rec[:, 0].astype(np.int64)}, 1
        for name, w in zip(self.outputs, widths):
            out[name] = rec[:, col:col + w]
            col += w
        return out

    @staticmethod
    def _file(widths: dict[str, int], names: list[str], values: dict[str, np.ndarray], n: int) -> np.ndarray:
        cols = []
        for name in names:
            if name in values:
                v = np.asarray(values[name])
                count = 1 if v.ndim == 1 else int(np.prod(v.shape[1:]))
                cols.append(pack_words(v.reshape(n, count), widths[name] // count))
            else:
                cols.append(np.zeros((n, words_of(widths[name])), np.uint32))
        return np.concatenate(cols, axis=1) if cols else np.zeros((n, 0), np.uint32)


def _cxx(port: str) -> str:
    """The member name Verilator gives port ``port`` ("__" is escaped as "___05F")."""
    return port.replace("__", "___05F")


def _copy(port: str, width: int, words: str, into_port: bool) -> str:
    """C++ copying ``top->port`` from (``into_port``) or to the uint32 words at pointer ``words``."""
    port = _cxx(port)
    if width > 64:
        a, b = f"top->{port}[w]", f"{words}[w]"
        return f"for (int w = 0; w < {words_of(width)}; ++w) " + (f"{a} = {b};" if into_port else f"{b} = {a};")
    if width > 32:
        return (f"top->{port} = (uint64_t){words}[0] | ((uint64_t){words}[1] << 32);" if into_port
                else f"{words}[0] = (uint32_t)top->{port}; {words}[1] = (uint32_t)(top->{port} >> 32);")
    return f"top->{port} = {words}[0];" if into_port else f"{words}[0] = top->{port};"


def testbench_cpp(top: str, s: Stream) -> str:
    main_ports = [p for p in s.inputs if p not in s.side]
    set_main, off = [], 0
    for p in main_ports:
        set_main.append(_copy(p, s.inputs[p], f"(in + {off})", True))
        off += words_of(s.inputs[p])
    set_side, soff = [], 0
    for p in s.side:
        set_side.append(_copy(p, s.inputs[p], f"(sv + {soff})", True))
        soff += words_of(s.inputs[p])
    get_out, ooff = [], 1
    for p, w in s.outputs.items():
        get_out.append(_copy(p, w, f"(rec.data() + {ooff})", False))
        ooff += words_of(w)
    record = " || ".join(f"top->{_cxx(p)}" for p in s.record) or "true"
    advance = f"top->{_cxx(s.advance)}" if s.advance else "true"
    side_next = f"top->{_cxx(s.side_next)}" if s.side_next else "false"
    nl = "\n        "
    return f"""// generated by tests/hdl/verilator_stream.py: stream vectors through {top}
#include "V{top}.h"
#include "verilated.h"
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

static std::vector<uint32_t> slurp(const char *path) {{
    std::vector<uint32_t> v;
    FILE *f = std::fopen(path, "rb");
    if (!f) {{ std::perror(path); std::exit(2); }}
    uint32_t buf[4096];
    size_t got;
    while ((got = std::fread(buf, 4, 4096, f)) > 0) v.insert(v.end(), buf, buf + got);
    std::fclose(f);
    return v;
}}

int main(int argc, char **argv) {{
    const std::vector<uint32_t> stim = slurp(argv[1]), side = slurp(argv[2]);
    FILE *out = std::fopen(argv[3], "wb");
    const long tail = std::atol(argv[4]);
    const size_t width = {off}, side_width = {soff};
    const size_t n_vec = width ? stim.size() / width : 0, n_side = side_width ? side.size() / side_width : 1;
    const std::vector<uint32_t> zeros(width + 1, 0);
    std::vector<uint32_t> rec({ooff});
    VerilatedContext ctx;
    V{top} *top = new V{top}{{&ctx}};
    top->clk = 0; top->rst = 1; top->eval();
    top->clk = 1; top->eval(); top->clk = 0; top->rst = 0; top->eval();
    size_t v = 0, n_next = 0;
    long edge = 0, idle = 0;
    while (v < n_vec || idle < tail) {{
        const uint32_t *in = v < n_vec ? stim.data() + v * width : zeros.data();
        const uint32_t *sv = side.data() + (n_next < n_side ? n_next : n_side - 1) * side_width;
        {nl.join(set_main)}
        {nl.join(set_side)}
        top->eval();
        const bool advance = {advance};
        top->clk = 1; top->eval(); top->clk = 0; top->eval();
        ++edge;
        if ({record}) {{
            rec[0] = (uint32_t)edge;
            {nl.join(get_out)}
            std::fwrite(rec.data(), 4, rec.size(), out);
        }}
        if ({side_next}) ++n_next;
        if (v < n_vec) {{ if (advance) ++v; }} else ++idle;
    }}
    std::fclose(out);
    std::printf("%ld\\n", edge);
    top->final();
    delete top;
    return 0;
}}
"""


def build(design: str, work: Path, record: tuple[str, ...], advance: str | None = None, side: tuple[str, ...] = (),
          side_next: str | None = None, cflags: str = "-O1", **params) -> Stream:
    """Generate ``design``'s Verilog (``params`` applied) and build its streaming testbench under ``work``."""
    path = verilog.write(design, work / "rtl", **params)
    top = verilog.design(design).top
    io = {name: d for name, d in ports(path).items() if name not in CLOCK_PORTS}
    s = Stream(Path(), {n: w for n, (d, w) in io.items() if d == "input"},
               {n: w for n, (d, w) in io.items() if d == "output"}, record, advance, side, side_next)
    tb = work / "tb_stream.cpp"
    tb.write_text(testbench_cpp(top, s))
    s.exe, s.build_s = verilator_cpp_build(path, top, tb, work / "obj", "tb_stream", cflags)
    return s
