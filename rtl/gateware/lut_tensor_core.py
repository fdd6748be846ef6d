"""LUT Tensor Core unit (INT mode): M rows × N columns × one K-group, one weight bit plane per cycle.

Per cycle, for every (m, n): ``L = neg[n] ? −S_m[idx[n]] : S_m[idx[n]]`` and
``acc[m][n] += L << plane`` (planes LSB first), starting from ``psum_in`` (docs/lut_tensor_core_contract.md,
docs/references.md#lut-tensor-core). ``start`` and plane 0 are sampled by the same edge E0 (with ``n_planes`` = b and
``psum_in``); plane i is sampled by edge E_i; the edge after the last plane copies the accumulator
into the ``out`` register and raises ``valid`` for one cycle. Counting E0, ``valid`` is high after
b + LUT_OUTPUT_LATENCY edges. A ``start`` sampled together with a tile's last plane begins the
next tile back to back (T tiles: T·b + 1 edges). A ``start`` during a tile's other planes
abandons that tile. ``n_planes`` 0 acts as 1.

The INT32 accumulator wraps in two's complement (the model reports a wrap; keep operands in range).
Tables are read every cycle (they come from the table buffer); ``psum_in`` only with ``start``.

``mode="fp16"``: tables, ``psum_in`` and ``out`` are FP16 bit patterns; ``−S`` flips the sign bit,
``L << i`` is ``L·2^i`` (exact unless it overflows to inf) and the accumulate is
``acc = fp16(acc + L·2^i)`` with RNE (rtl/gateware/fp16.py) — the contract's FP16 accumulator (the FP32
accumulator option is not built). ``act_width`` and ``acc_width`` are ignored (16-bit patterns).
"""

from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.data import ArrayLayout
from amaranth.lib.wiring import In, Out
from amaranth.utils import bits_for

from .fp16 import fp16_add
from .params import (
    DEFAULT_ACC_WIDTH,
    DEFAULT_ACT_WIDTH,
    DEFAULT_K,
    DEFAULT_M,
    DEFAULT_MAX_BITS,
    DEFAULT_N,
    FP16_WIDTH,
    check_act_width,
    check_mode,
    check_positive,
    checking,
    entry_width,
    log2_exact,
)


class LutTensorCore(wiring.Component):
    """M×N×K LUT unit. Parameters: ``m``, ``n``, ``k`` (tile), ``act_width`` (table entries are
    act_width + log2 k bits), ``acc_width`` (accumulator bits), ``max_bits`` (widest weight code),
    ``mode`` ("int", or "fp16": 16-bit FP16 entries and accumulator).

    Ports (element 0 in the low bits of every array):
      start (1), n_planes (b), idx (N × (K−1) bits), neg (N bits), tables (M × 2^(K−1) entries),
      psum_in (M × N acc), out (M × N acc), valid (1).
    """

    def __init__(self, *, m: int = DEFAULT_M, n: int = DEFAULT_N, k: int = DEFAULT_K,
                 act_width: int = DEFAULT_ACT_WIDTH, acc_width: int = DEFAULT_ACC_WIDTH,
                 max_bits: int = DEFAULT_MAX_BITS, mode: str = "int"):
        with checking(self):
            self.m = check_positive(m, "m")
            self.n = check_positive(n, "n")
            log2_exact(k)
            self.fp16 = check_mode(mode) == "fp16"
            if self.fp16:
                act_width = acc_width = FP16_WIDTH
                self.max_bits = check_positive(max_bits, "max_bits", hi=8)   # fp16_add's shift range
            else:
                check_act_width(act_width)
                check_positive(acc_width, "acc_width", lo=entry_width(act_width, k) + 1, hi=64)
                self.max_bits = check_positive(max_bits, "max_bits", hi=16)
        self.mode = mode
        self.k = k
        self.act_width, self.acc_width = act_width, acc_width
        self.entry_width = FP16_WIDTH if self.fp16 else entry_width(act_width, k)
        self.n_entries = 1 << (k - 1)
        value = unsigned(FP16_WIDTH) if self.fp16 else signed(acc_width)
        entry = unsigned(FP16_WIDTH) if self.fp16 else signed(self.entry_width)
        acc_grid = ArrayLayout(ArrayLayout(value, n), m)
        super().__init__({
            "start": In(1),
            "n_planes": In(unsigned(bits_for(max_bits))),
            "idx": In(ArrayLayout(unsigned(k - 1), n)),
            "neg": In(unsigned(n)),
            "tables": In(ArrayLayout(ArrayLayout(entry, self.n_entries), m)),
            "psum_in": In(acc_grid),
            "out": Out(acc_grid),
            "valid": Out(1),
        })

    def elaborate(self, platform):
        mod = Module()
        plane = Signal(range(self.max_bits + 1))     # plane applied this cycle while busy
        planes = Signal.like(self.n_planes)          # b of the tile in flight
        busy = Signal()                              # a tile has planes left after this one
        finished = Signal()                          # the last plane was applied at the last edge
        shift = Signal(range(self.max_bits))
        step = Signal()
        mod.d.comb += [
            shift.eq(Mux(self.start, 0, plane)),
            step.eq(self.start | busy),
        ]

        acc = [[Signal(self.psum_in[r][c].shape(), name=f"acc_{r}_{c}") for c in range(self.n)]
               for r in range(self.m)]
        for r in range(self.m):
            for c in range(self.n):
                entry = self.tables[r][self.idx[c]]
                base = Mux(self.start, self.psum_in[r][c], acc[r][c])
                if self.fp16:
                    looked_up = entry ^ Cat(Const(0, FP16_WIDTH - 1), self.neg[c])
                    new = fp16_add(mod, base, looked_up, shift, name=f"add_{r}_{c}")
                else:
                    looked_up = Mux(self.neg[c], -entry, entry)
                    new = base + (looked_up << shift)
                with mod.If(step):
                    mod.d.sync += acc[r][c].eq(new)
                with mod.If(finished):
                    mod.d.sync += self.out[r][c].eq(acc[r][c])

        last = Signal()
        with mod.If(self.start):
            mod.d.comb += last.eq(self.n_planes <= 1)
            mod.d.sync += [plane.eq(1), planes.eq(self.n_planes)]
        with mod.Elif(busy):
            mod.d.comb += last.eq(plane + 1 >= planes)
            mod.d.sync += plane.eq(plane + 1)
        mod.d.sync += [
            busy.eq(step & ~last),
            finished.eq(step & last),
            self.valid.eq(finished),
        ]
        return mod
