"""Table precompute unit: K activations → the 2^(K−1) stored entries of a LUT Tensor Core table.

Stored entry e is the table value of pattern ``(1 << (K−1)) | e`` (docs/lut_tensor_core_contract.md):
``S[e] = a_{K−1} + Σ_{t<K−1} (+a_t if bit t of e else −a_t)``. The other half of the table is
``−S`` (odd symmetry, docs/references.md#lut-tensor-core), applied by the LUT unit's ``neg`` input.

Datapath: a pairwise adder tree over the activations, one level per pipeline stage (log2 K
stages; K = 4 → PRECOMPUTE_LATENCY = 2 cycles). Level l holds, for every block of 2^l adjacent
activations, the signed sums of all sign patterns of that block (only the patterns with the top
bit set for the block holding a_{K−1}). ``mode="int"``: int4/int8/int16 activations, exact entries.
``mode="fp16"``: FP16 activations and entries, every adder rounds to FP16 (RNE), so
``S = fp16(fp16(±a0 ± a1) + fp16(±a2 ± a3))`` for K = 4 (contract); negation flips the sign bit.

Handshake (``amaranth.lib.stream``): ``i`` carries the K activations, ``o`` the table. The
pipeline advances when its output is empty or accepted (``en = ~o.valid | o.ready``;
``i.ready = en``); a table accepted at edge E appears on ``o`` after the PRECOMPUTE_LATENCY-th
edge counting E.
"""

from __future__ import annotations

from amaranth import Module, Signal, signed, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.data import ArrayLayout
from amaranth.lib.wiring import In, Out

from .fp16 import fp16_add
from .params import (
    DEFAULT_ACT_WIDTH,
    DEFAULT_K,
    FP16_WIDTH,
    check_act_width,
    check_mode,
    checking,
    entry_width,
    log2_exact,
)


class TablePrecompute(wiring.Component):
    """K activations in, 2^(K−1) table entries out.

    Parameters: ``k`` (group size, power of two), ``act_width`` (4, 8 or 16 bits; int mode),
    ``mode`` ("int" or "fp16"; fp16 ignores ``act_width``: activations and entries are 16-bit
    IEEE patterns). Ports: ``i`` stream of ArrayLayout(act, k); ``o`` stream of
    ArrayLayout(entry, 2^(k−1)) with act = signed(act_width), entry = signed(act_width + log2 k)
    in int mode; element 0 in the low bits.
    """

    def __init__(self, *, k: int = DEFAULT_K, act_width: int = DEFAULT_ACT_WIDTH, mode: str = "int"):
        with checking(self):
            self.levels = log2_exact(k)
            self.mode = check_mode(mode)
            self.act_width = FP16_WIDTH if mode == "fp16" else check_act_width(act_width)
        self.k = k
        self.fp16 = mode == "fp16"
        self.entry_width = FP16_WIDTH if self.fp16 else entry_width(act_width, k)
        self.n_entries = 1 << (k - 1)
        act, entry = ((unsigned(FP16_WIDTH),) * 2 if self.fp16
                      else (signed(self.act_width), signed(self.entry_width)))
        super().__init__({
            "i": In(stream.Signature(ArrayLayout(act, k))),
            "o": Out(stream.Signature(ArrayLayout(entry, self.n_entries))),
        })

    @property
    def latency(self) -> int:
        """Cycles from accepting activations to the table on ``o`` (= log2 k)."""
        return self.levels

    def elaborate(self, platform):
        m = Module()
        k, w = self.k, self.act_width
        en = Signal()
        m.d.comb += [en.eq(~self.o.valid | self.o.ready), self.i.ready.eq(en)]

        if self.fp16:
            def negate(x):
                return x ^ (1 << (FP16_WIDTH - 1))

            def add(x, y, name):
                return fp16_add(m, x, y, name=name)

            def reg_shape(level):
                return unsigned(FP16_WIDTH)
        else:
            def negate(x):
                return -x

            def add(x, y, name):
                return x + y

            def reg_shape(level):
                return signed(w + level + 1)

        # Leaves: one dict per activation, pattern bit → ±a (the top activation only ever +a).
        blocks = []
        for t in range(k):
            a = self.i.payload[t]
            blocks.append({1: a} if t == k - 1 else {0: negate(a), 1: a})
        valid = self.i.valid
        for level in range(1, self.levels + 1):
            half = 1 << (level - 1)
            merged = []
            for lo, hi in zip(blocks[0::2], blocks[1::2]):
                regs = {}
                for p_hi, v_hi in hi.items():
                    for p_lo, v_lo in lo.items():
                        key = p_lo | (p_hi << half)
                        r = Signal(reg_shape(level), name=f"l{level}_b{len(merged)}_p{key}")
                        with m.If(en):
                            m.d.sync += r.eq(add(v_lo, v_hi, f"add_{r.name}"))
                        regs[key] = r
                merged.append(regs)
            blocks = merged
            v = Signal(name=f"valid_l{level}")
            with m.If(en):
                m.d.sync += v.eq(valid)
            valid = v

        (top,) = blocks
        top_bit = 1 << (k - 1)
        m.d.comb += self.o.valid.eq(valid)
        for e in range(self.n_entries):
            m.d.comb += self.o.payload[e].eq(top[top_bit | e])  # exact: see params.entry_width
        return m
