"""What the compiler lowers: one trace op reduced to the facts its program depends on.

A spec is frozen and hashable; equal specs compile to the same program on the same arch (the cache key,
with the arch). Units: elements for shapes, bytes per element for storage (group metadata included,
as the recipe's bits table counts it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sim.errors import InputError

# trace op kind -> vector-unit op kind (sim.isa VEC_OPS)
VECTOR_KIND = {"norm": "norm", "softmax": "softmax", "act": "act", "rope": "rope", "residual": "residual"}
GEMM_KINDS = ("linear", "lm_head")
ATTENTION_KINDS = ("attn_qk", "attn_sv")
FLOAT_WEIGHTS = ("fp16", "bf16", "fp32")


@dataclass(frozen=True)
class GemmSpec:
    """``out[M, N] = in[M, K] · W[N, K]ᵀ`` on the PE array; ``group`` None = the format's default."""

    m: int
    n: int
    k: int
    weights: str
    acts: str
    group: int | None
    w_bytes: float     # bytes per weight element (codes + group metadata)
    a_bytes: float     # bytes per input activation
    out_bytes: float   # bytes per output element
    quantize_out: bool  # the producer quantizes its output (recipe activation / KV format)
    bias_bytes: int = 0
    tables_resident: bool = False  # LUT arch: the preceding norm built this GEMM's tables into tbuf

    @property
    def groups(self) -> int:
        """Dequantization groups along K: per-group scales for a grouped format, one per-channel scale for
        other quantized weights, none for float weights."""
        if self.weights in FLOAT_WEIGHTS:
            return 0
        return math.ceil(self.k / self.group) if self.group else 1


@dataclass(frozen=True)
class VectorSpec:
    """An op on the vector unit: ``ops`` ((kind, elements), ...) over ``in_bytes`` read, ``out_bytes``
    written, ``weight_bytes`` of parameters (norm gamma, RoPE tables); ``macs`` FP16 multiply-accumulates
    (attention on the vector unit)."""

    ops: tuple[tuple[str, int], ...]
    in_bytes: int
    out_bytes: int
    weight_bytes: int = 0
    macs: int = 0
    tables: tuple[int, int, str] = (0, 0, "")  # (rows, K, acts): lookup tables a norm builds for its consumers


def _elem_bytes(total: float, elems: int) -> float:
    return total / elems if elems else 0.0


def gemm_spec(op, weight_format, tables_resident: bool = False) -> GemmSpec:
    """The GEMM spec of a linear / lm_head trace op; ``weight_format``: the recipe's
    :class:`workloads.recipes.TensorFormat` of its weights (format and group size)."""
    w_bytes = weight_format.bits / 8
    bias = max(0, round(op.bytes_weight - op.N * op.K * w_bytes))  # an fp16 bias, when the layer has one
    return GemmSpec(m=op.M, n=op.N, k=op.K, weights=op.w_fmt, acts=op.a_fmt, group=weight_format.group_size,
                    w_bytes=w_bytes, a_bytes=_elem_bytes(op.bytes_act_in, op.M * op.K),
                    out_bytes=_elem_bytes(op.bytes_act_out + op.bytes_kv_write, op.M * op.N),
                    quantize_out=op.out_fmt not in FLOAT_WEIGHTS, bias_bytes=bias, tables_resident=tables_resident)


def vector_spec(op, tables: bool = False) -> VectorSpec:
    """Spec of an element-wise op (norm, rope, softmax, act, residual)."""
    if op.kind not in VECTOR_KIND:
        raise InputError("op.kind", f"no vector lowering for {op.kind!r}", ", ".join(VECTOR_KIND))
    elems = op.M * op.N * op.count
    ops = [(VECTOR_KIND[op.kind], elems)]
    if op.out_fmt not in FLOAT_WEIGHTS:
        ops.append(("quantize", elems))
    return VectorSpec(ops=tuple(ops), in_bytes=math.ceil(op.bytes_act_in + op.bytes_kv_read),
                      out_bytes=math.ceil(op.bytes_act_out + op.bytes_kv_write),
                      weight_bytes=math.ceil(op.bytes_weight),
                      tables=(op.M, op.N, op.out_fmt) if tables else (0, 0, ""))


def attention_spec(op, kv_format) -> VectorSpec:
    """Attention QK / SV on the vector unit: ``count`` instances of an (M, N, K) FP16 dot-product GEMM. A
    quantized KV cache (``kv_format``, the recipe's) is dequantized first: one multiply-add per cached
    element read."""
    ops = []
    if op.out_fmt not in FLOAT_WEIGHTS:
        ops.append(("quantize", op.M * op.N * op.count))  # SV's output (M = T rows of N = head_dim)
    kv_dequant = 0 if kv_format.format in FLOAT_WEIGHTS else round(op.bytes_kv_read * 8 / kv_format.bits)
    return VectorSpec(ops=tuple(ops), in_bytes=math.ceil(op.bytes_act_in + op.bytes_kv_read),
                      out_bytes=math.ceil(op.bytes_act_out + op.bytes_kv_write),
                      macs=op.flops // 2 + kv_dequant)  # the causal pairs' multiply-adds (docs/trace.md)
