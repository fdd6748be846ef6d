"""Layer traces: the ordered ops of one forward pass of a decoder-only model.

Phases: ``prefill`` (B sequences of S tokens, empty KV cache) and ``decode`` (B sequences, one new token each,
attending over L cached positions). Matmul ops compute ``out[M, N] = in[M, K] · W[N, K]ᵀ`` per instance;
identical decoder layers are one op with ``repeat`` = layers (:meth:`Trace.expanded` unrolls them).
Units: elements, flops, bytes. The shape, format and flop conventions of every op kind (attention, MoE,
lm_head, RoPE): docs/trace.md.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace

from sim.errors import InputError

from .models import GATED_MLPS, ROUTING, ModelConfig
from .recipes import FP16, Recipe, TensorFormat

PHASES = ("prefill", "decode")
BYTE_CLASSES = ("bytes_weight", "bytes_act_in", "bytes_act_out", "bytes_kv_read", "bytes_kv_write")

# Flops per element of the vector ops (our counting convention, one flop per arithmetic step):
VECTOR_FLOPS = {
    "rmsnorm": 4,    # square, accumulate, multiply by 1/rms, multiply by gamma
    "layernorm": 7,  # accumulate, subtract mean, square, accumulate, multiply by 1/std, gamma, beta
    "rope": 3,       # x·cos + rotate(x)·sin: two multiplies and an add
    "softmax": 5,    # max, subtract, exp, accumulate, divide
    "swiglu": 5,     # silu(g) = g·sigmoid(g): negate/exp, add, divide, multiply; then × up
    "geglu": 10,     # tanh-GELU of g (9, as "gelu"), then × up
    "relu": 1,
    "gelu": 9,       # tanh form 0.5·x·(1 + tanh(c·(x + 0.044715·x³))): x³ 2, ×0.044715, +x, ×c, tanh, +1, ×x, ×0.5
    "residual": 1,
    "moe_combine": 2,  # per expert output element: × router weight, accumulate
}
FP16_BYTES = 2  # IEEE binary16


@dataclass(frozen=True)
class Op:
    """One op of a trace. ``flops`` and ``bytes_*`` are for one occurrence; totals multiply by ``repeat``."""

    name: str
    kind: str
    layer: int
    M: int
    N: int
    K: int
    count: int
    repeat: int
    w_fmt: str
    a_fmt: str
    out_fmt: str
    flops: int
    bytes_weight: float
    bytes_act_in: float
    bytes_act_out: float
    bytes_kv_read: float = 0.0
    bytes_kv_write: float = 0.0
    per_layer: int = 1  # instances in each layer it covers (active experts of an MoE layer; else 1)

    @property
    def bytes(self) -> float:
        """All bytes moved by one occurrence."""
        return sum(getattr(self, c) for c in BYTE_CLASSES)


def causal_pairs(tokens: int, positions: int) -> int:
    """(query, key) pairs one head scores under the causal mask: the ``tokens`` queries are the last of
    ``positions``, and query i (0-based) sees the ``positions - tokens + i + 1`` positions up to its own
    (decode, one token: all of them; prefill, tokens = positions: the lower triangle with its diagonal)."""
    return tokens * (positions - tokens) + tokens * (tokens + 1) // 2


def _nbytes(elements: int, fmt: TensorFormat) -> float:
    return elements * fmt.bits / 8


@dataclass
class Trace:
    model: ModelConfig
    recipe: Recipe
    phase: str
    batch: int
    tokens: int  # T: tokens per sequence in this pass
    kv_len: int  # positions attended
    lm_head_all_tokens: bool
    ops: list[Op]

    def expanded(self) -> list[Op]:
        """Ops with decoder layers unrolled (repeat = 1, layer = 0 … layers-1), then the head (layer -1)."""
        out = []
        for i in range(self.model.layers):
            for op in self.ops:
                if 0 <= op.layer <= i < op.layer + op.repeat // op.per_layer:
                    out.extend([replace(op, layer=i, repeat=1, per_layer=1)] * op.per_layer)
        out.extend(op for op in self.ops if op.layer < 0)
        return out

    def totals(self) -> dict:
        t = {"flops": sum(op.flops * op.repeat for op in self.ops)}
        for c in BYTE_CLASSES:
            t[c] = sum(getattr(op, c) * op.repeat for op in self.ops)
        t["bytes"] = sum(t[c] for c in BYTE_CLASSES)
        return t

    def meta(self) -> dict:
        meta = {"model": self.model.name, "recipe": self.recipe.name, "phase": self.phase, "batch": self.batch,
                "tokens": self.tokens, "kv_len": self.kv_len, "lm_head_all_tokens": self.lm_head_all_tokens,
                "layers": self.model.layers, "layers_folded": True}
        if self.model.is_moe:
            meta["routing"] = self.routing
        return meta

    @property
    def routing(self) -> str:
        """The expert-routing assumption of this pass ("" for a dense model)."""
        m = self.model
        if not m.is_moe:
            return ""
        rows = self.batch * self.tokens
        active = min(m.experts, rows * m.experts_per_token)
        return (f"{ROUTING}; here {rows} token(s) x top-{m.experts_per_token} of {m.experts} experts -> {active} "
                f"active, {-(-rows * m.experts_per_token // active)} row(s) each")

    def rows(self) -> list[dict]:
        return [asdict(op) for op in self.ops]

    def to_dataframe(self):
        import pandas as pd  # heavy (~0.3 s): only for this table, not on the simulate path

        return pd.DataFrame(self.rows())

    def to_dict(self) -> dict:
        return {"meta": self.meta(), "model": self.model.to_dict(), "recipe": self.recipe.to_dict(),
                "ops": self.rows(), "total": self.totals()}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


def _positive(field: str, v) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
        raise InputError(field, f"must be a positive integer, got {v!r}")
    return v


class _Builder:
    """Appends ops for one pass; knows the formats and row counts."""

    def __init__(self, m: ModelConfig, r: Recipe, batch: int, tokens: int, kv_len: int, causal: bool = True):
        self.m, self.r, self.B, self.T, self.L, self.causal = m, r, batch, tokens, kv_len, causal
        self.rows = batch * tokens
        self.ops: list[Op] = []

    def linear(self, name, out_f, in_f, bias, rows, w: TensorFormat, a: TensorFormat, out: TensorFormat,
               kind="linear", repeat=1, to_cache=False, layer=0, per_layer=1):
        bias_bytes = out_f * FP16_BYTES if bias else 0
        out_bytes = _nbytes(rows * out_f, out)
        self.ops.append(Op(name, kind, layer, rows, out_f, in_f, 1, repeat, w.format, a.format, out.format,
                           2 * rows * out_f * in_f, _nbytes(out_f * in_f, w) + bias_bytes,
                           _nbytes(rows * in_f, a), 0.0 if to_cache else out_bytes,
                           0.0, out_bytes if to_cache else 0.0, per_layer))

    def vector(self, name, kind, flops_key, rows, n, reads: int, out: TensorFormat, weight_elems=0, repeat=1,
               in_fmt: TensorFormat = FP16, layer=0, per_layer=1):
        """``reads`` input tensors of rows×n in ``in_fmt``; output rows×n in ``out``."""
        elems = rows * n
        self.ops.append(Op(name, kind, layer, rows, n, 0, 1, repeat, "fp16" if weight_elems else "", in_fmt.format,
                           out.format, VECTOR_FLOPS[flops_key] * elems, weight_elems * FP16_BYTES,
                           reads * _nbytes(elems, in_fmt), _nbytes(elems, out), per_layer=per_layer))

    def decoder_layer(self):
        m, r, rows, n = self.m, self.r, self.rows, self.m.layers
        act, kv = r.activations, r.kv_cache
        norm = m.norm
        norm_w = m.hidden * (2 if norm == "layernorm" else 1)
        q, k, v, o = m.attention_layers()
        self.vector("attn_norm", "norm", norm, rows, m.hidden, 1, act, norm_w, n)
        self.linear(q.name, q.out_features, q.in_features, q.bias, rows, r.weights, act, FP16, repeat=n)
        self.linear(k.name, k.out_features, k.in_features, k.bias, rows, r.weights, act,
                    FP16 if m.rope else kv, repeat=n, to_cache=not m.rope)
        self.linear(v.name, v.out_features, v.in_features, v.bias, rows, r.weights, act, kv, repeat=n, to_cache=True)
        if m.rope:
            # Q stays fp16; rotated K goes to the KV cache. cos/sin tables: T positions × rotated dims (fp16).
            qe, ke = rows * m.q_dim, rows * m.kv_dim
            rotated = (qe + ke) * m.rope_dim // m.head_dim
            self.ops.append(Op("rope", "rope", 0, rows, m.q_dim + m.kv_dim, 0, 1, n, "fp16", "fp16", "fp16",
                               VECTOR_FLOPS["rope"] * rotated, self.T * m.rope_dim * FP16_BYTES,
                               (qe + ke) * FP16_BYTES, qe * FP16_BYTES, 0.0, _nbytes(ke, kv)))
        self.attention()
        self.linear(o.name, o.out_features, o.in_features, o.bias, rows, r.weights, act, FP16, repeat=n)
        self.vector("attn_residual", "residual", "residual", rows, m.hidden, 2, FP16, repeat=n)
        self.vector("mlp_norm", "norm", norm, rows, m.hidden, 1, act, norm_w, n)
        if m.is_moe:
            if m.dense_layers:
                self.mlp(m.intermediate, rows, m.dense_layers)
            self.moe(m.dense_layers)
        else:
            self.mlp(m.intermediate, rows, n)
        self.vector("mlp_residual", "residual", "residual", rows, m.hidden, 2, FP16, repeat=n)

    def mlp(self, width: int, rows: int, repeat: int, prefix: str = "", act_name: str = "mlp_act", layer: int = 0,
            per_layer: int = 1):
        """The MLP (gated: gate, up, act, down; else fc1, act, fc2) at ``width`` on ``rows`` token rows."""
        m, r = self.m, self.r
        act = r.activations
        shapes = m.mlp_layers(width, prefix)
        where = dict(repeat=repeat, layer=layer, per_layer=per_layer)
        for s in shapes[:-1]:
            self.linear(s.name, s.out_features, s.in_features, s.bias, rows, r.weights, act, FP16, **where)
        self.vector(act_name, "act", m.mlp, rows, width, 2 if m.mlp in GATED_MLPS else 1, act, **where)
        s = shapes[-1]
        self.linear(s.name, s.out_features, s.in_features, s.bias, rows, r.weights, act, FP16, **where)

    def moe(self, first: int):
        """An MoE MLP covering layers ``first`` … layers-1 (see the module docstring for the routing)."""
        m, r, rows = self.m, self.r, self.rows
        n, e, k = m.moe_layers, m.experts, m.experts_per_token
        active = min(e, rows * k)
        per_expert = -(-rows * k // active)
        where = dict(repeat=n, layer=first)
        self.linear("router", e, m.hidden, False, rows, r.weights, r.activations, FP16, **where)
        self.vector("router_softmax", "softmax", "softmax", rows, e, 1, FP16, **where)
        if m.shared_intermediate:
            self.mlp(m.shared_intermediate, rows, n, "shared_expert_", "shared_expert_act", first)
            if m.shared_gate:
                self.linear("shared_expert_gate", 1, m.hidden, False, rows, r.weights, r.activations, FP16, **where)
        self.mlp(m.expert_intermediate, per_expert, n * active, "expert_", "expert_act", first, active)
        routed = rows * k + (rows if m.shared_intermediate else 0)  # expert output rows summed into each token
        self.vector("moe_combine", "residual", "moe_combine", routed, m.hidden, 1, FP16, **where)

    def attention(self):
        m, B, T, L, kv, n = self.m, self.B, self.T, self.L, self.r.kv_cache, self.m.layers
        bh, hd = B * m.heads, m.head_dim
        pairs = causal_pairs(T, L) if self.causal else T * L  # (query, position) scores of one head
        cache_read = _nbytes(B * m.kv_heads * L * hd, kv)  # K (or V) of every KV head, read once
        self.ops.append(Op("attn_qk", "attn_qk", 0, T, L, hd, bh, n, kv.format, "fp16", "fp16",
                           2 * pairs * hd * bh, 0.0, bh * T * hd * FP16_BYTES, bh * pairs * FP16_BYTES,
                           cache_read, 0.0))
        self.vector("softmax", "softmax", "softmax", bh, pairs, 1, FP16, repeat=n)
        self.ops.append(Op("attn_sv", "attn_sv", 0, T, hd, L, bh, n, kv.format, "fp16", self.r.activations.format,
                           2 * pairs * hd * bh, 0.0, bh * pairs * FP16_BYTES,
                           _nbytes(bh * T * hd, self.r.activations), cache_read, 0.0))

    def head(self, lm_rows: int):
        m, r = self.m, self.r
        head_in = FP16 if r.lm_head.family == "float" else r.activations
        norm_w = m.hidden * (2 if m.norm == "layernorm" else 1)
        self.vector("final_norm", "norm", m.norm, lm_rows, m.hidden, 1, head_in, norm_w)
        self.ops[-1] = replace(self.ops[-1], layer=-1)
        lm = m.lm_head()
        self.linear(lm.name, lm.out_features, lm.in_features, False, lm_rows, r.lm_head, head_in, FP16, "lm_head")
        self.ops[-1] = replace(self.ops[-1], layer=-1)


def build_trace(model: ModelConfig, recipe: Recipe, phase: str, seq_len: int = 1024, kv_len: int | None = None,
                batch: int = 1, lm_head_all_tokens: bool = False, causal: bool = True) -> Trace:
    """Trace one pass. Prefill: ``seq_len`` tokens per sequence. Decode: one token, ``kv_len`` positions
    attended (default ``seq_len``). ``causal`` False: every query scores every position (a peer model's
    workload, e.g. BitMoD's tile model; docs/trace.md)."""
    if phase not in PHASES:
        raise InputError("phase", f"unknown phase {phase!r}", ", ".join(PHASES))
    _positive("batch", batch)
    _positive("seq-len", seq_len)
    if phase == "prefill":
        tokens, kv = seq_len, seq_len
    else:
        tokens, kv = 1, _positive("kv-len", kv_len if kv_len is not None else seq_len)
        if model.sliding_window:
            kv = min(kv, model.sliding_window)
    b = _Builder(model, recipe, batch, tokens, kv, causal)
    b.decoder_layer()
    b.head(batch * tokens if lm_head_all_tokens else batch)
    return Trace(model, recipe, phase, batch, tokens, kv, lm_head_all_tokens, b.ops)
