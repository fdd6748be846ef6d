"""Model shapes: the zoo in ``models.yaml`` and a loader for a local Hugging Face ``config.json``.

A :class:`ModelConfig` holds only what the trace needs (sizes, MLP kind, norm kind, biases,
rotary embeddings, experts). ``get_model(spec)`` accepts a zoo name, a path to a ``config.json`` or a
Hugging Face model folder holding one. Each ``model_type`` has one parser (:data:`HF_PARSERS`).

Mixture of experts (Mixtral, Qwen-MoE, DeepSeek-MoE): ``experts`` routed experts of width
``expert_intermediate``, ``experts_per_token`` (top-k) of them per token, plus an optional always-on shared
expert MLP of width ``shared_intermediate`` (DeepSeek's ``n_shared_experts`` experts side by side; Qwen's
shared expert, with its sigmoid gate when ``shared_gate``). ``dense_layers``: the first layers keep a dense
MLP of width ``intermediate`` (DeepSeek's ``first_k_dense_replace``). The routing the trace assumes is
:data:`ROUTING`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from sim.errors import InputError
from sim.userfile import read_packaged_file, read_user_file

ZOO_FILE = Path(__file__).with_name("models.yaml")

#: swiglu / geglu: gate, up, down (SiLU / tanh-GELU gate); relu / gelu: fc1, fc2
MLP_KINDS = ("swiglu", "geglu", "relu", "gelu")
GATED_MLPS = ("swiglu", "geglu")
NORM_KINDS = ("rmsnorm", "layernorm")

#: the expert-routing assumption of MoE traces (stated in every MoE result's assumptions)
ROUTING = ("top-k routing spread evenly: the B·T tokens' k choices land on min(E, B·T·k) distinct experts "
           "(decode at batch B touches min(E, B·k) of the E experts), each active expert's weights are streamed "
           "once per layer and it computes ceil(B·T·k / active) token rows; router imbalance is not modelled")


@dataclass(frozen=True)
class LinearShape:
    """One linear layer of a decoder block: W is (out_features, in_features)."""

    name: str
    out_features: int
    in_features: int
    bias: bool = False


@dataclass(frozen=True)
class ModelConfig:
    """Decoder-only transformer shapes (sizes in elements)."""

    name: str
    family: str
    hidden: int
    intermediate: int
    heads: int
    kv_heads: int
    layers: int
    vocab: int
    head_dim: int = 0  # 0 = hidden // heads
    mlp: str = "swiglu"
    norm: str = "rmsnorm"
    rope: bool = True
    bias: bool = False  # biases on every linear layer (OPT)
    qkv_bias: bool = False  # biases on q/k/v only (Qwen2)
    sliding_window: int = 0  # attention span in positions (Mistral); 0 = unlimited
    rotary_dim: int = 0  # dimensions of each head that RoPE rotates (GPT-NeoX, Phi); 0 = head_dim
    experts: int = 0  # routed experts per MoE layer; 0 = a dense model
    experts_per_token: int = 0  # top-k
    expert_intermediate: int = 0  # width of one routed expert's MLP
    shared_intermediate: int = 0  # width of the shared-expert MLP (all shared experts side by side); 0 = none
    shared_gate: bool = False  # a sigmoid gate (linear hidden -> 1) scales the shared expert (Qwen2-MoE)
    dense_layers: int = 0  # the first layers with a dense MLP (DeepSeek first_k_dense_replace)
    source: str = ""
    extra: dict = field(default_factory=dict, compare=False)

    def __post_init__(self):
        if not isinstance(self.sliding_window, int) or self.sliding_window < 0:
            raise InputError(f"{self.name}.sliding_window",
                             f"must be a non-negative integer, got {self.sliding_window!r}")
        for f in ("hidden", "intermediate", "heads", "kv_heads", "layers", "vocab"):
            v = getattr(self, f)
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise InputError(f"{self.name}.{f}", f"must be a positive integer, got {v!r}")
        if self.head_dim == 0:
            if self.hidden % self.heads:
                raise InputError(f"{self.name}.heads", f"{self.heads} does not divide hidden={self.hidden}")
            object.__setattr__(self, "head_dim", self.hidden // self.heads)
        if self.heads % self.kv_heads:
            raise InputError(f"{self.name}.kv_heads", f"{self.kv_heads} does not divide heads={self.heads}")
        if self.mlp not in MLP_KINDS:
            raise InputError(f"{self.name}.mlp", f"unknown MLP kind {self.mlp!r}", ", ".join(MLP_KINDS))
        if self.norm not in NORM_KINDS:
            raise InputError(f"{self.name}.norm", f"unknown norm kind {self.norm!r}", ", ".join(NORM_KINDS))
        if not 0 <= self.rotary_dim <= self.head_dim:
            raise InputError(f"{self.name}.rotary_dim",
                             f"must be in 0..head_dim={self.head_dim}, got {self.rotary_dim}")
        if self.experts:
            if not 1 <= self.experts_per_token <= self.experts:
                raise InputError(f"{self.name}.experts_per_token",
                                 f"must be in 1..experts={self.experts}, got {self.experts_per_token}")
            if self.expert_intermediate <= 0:
                raise InputError(f"{self.name}.expert_intermediate", "must be a positive integer for an MoE model")
            if self.mlp not in GATED_MLPS:
                raise InputError(f"{self.name}.mlp", f"MoE experts are gated MLPs, got {self.mlp!r}",
                                 ", ".join(GATED_MLPS))
            if not 0 <= self.dense_layers < self.layers:
                raise InputError(f"{self.name}.dense_layers", f"must be in 0..layers-1, got {self.dense_layers}")

    @property
    def q_dim(self) -> int:
        return self.heads * self.head_dim

    @property
    def kv_dim(self) -> int:
        return self.kv_heads * self.head_dim

    @property
    def rope_dim(self) -> int:
        """Dimensions of each head that RoPE rotates."""
        return self.rotary_dim or self.head_dim

    @property
    def is_moe(self) -> bool:
        return self.experts > 0

    @property
    def moe_layers(self) -> int:
        return self.layers - self.dense_layers if self.is_moe else 0

    @property
    def gqa_group(self) -> int:
        """Query heads sharing one KV head (1 = MHA)."""
        return self.heads // self.kv_heads

    def attention_layers(self) -> list[LinearShape]:
        """q, k, v and output projections of one decoder block."""
        b = self.bias
        return [
            LinearShape("q_proj", self.q_dim, self.hidden, b or self.qkv_bias),
            LinearShape("k_proj", self.kv_dim, self.hidden, b or self.qkv_bias),
            LinearShape("v_proj", self.kv_dim, self.hidden, b or self.qkv_bias),
            LinearShape("o_proj" if self.mlp in GATED_MLPS else "out_proj", self.hidden, self.q_dim, b),
        ]

    def mlp_layers(self, width: int | None = None, prefix: str = "") -> list[LinearShape]:
        """The MLP's linear layers at ``width`` (default ``intermediate``), names prefixed by ``prefix``."""
        b, w = self.bias, width or self.intermediate
        if self.mlp in GATED_MLPS:
            return [LinearShape(f"{prefix}gate_proj", w, self.hidden, b),
                    LinearShape(f"{prefix}up_proj", w, self.hidden, b),
                    LinearShape(f"{prefix}down_proj", self.hidden, w, b)]
        return [LinearShape(f"{prefix}fc1", w, self.hidden, b), LinearShape(f"{prefix}fc2", self.hidden, w, b)]

    def linear_layers(self) -> list[LinearShape]:
        """The linear layers of one (dense) decoder block, in execution order (HF module names)."""
        return self.attention_layers() + self.mlp_layers()

    def lm_head(self) -> LinearShape:
        return LinearShape("lm_head", self.vocab, self.hidden, False)

    def weight_params(self) -> int:
        """Weights of all linear layers including lm_head (elements; embeddings and norms excluded)."""
        def params(shapes):
            return sum(s.out_features * s.in_features for s in shapes)

        dense = self.layers - self.moe_layers
        total = params(self.attention_layers()) * self.layers + params(self.mlp_layers()) * dense
        if self.is_moe:
            moe = self.experts * (params(self.mlp_layers(self.expert_intermediate)) + self.hidden)  # + router rows
            if self.shared_intermediate:
                moe += params(self.mlp_layers(self.shared_intermediate)) + (self.hidden if self.shared_gate else 0)
            total += moe * self.moe_layers
        return total + self.vocab * self.hidden

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("extra")
        return d


def _zoo() -> dict:
    return read_packaged_file(ZOO_FILE)


def names() -> list[str]:
    """Zoo model names."""
    return sorted(_zoo())


def get_model(spec: str) -> ModelConfig:
    """A zoo model by name (case-insensitive), a model read from a ``config.json`` path, or from a Hugging Face
    model folder (one holding ``config.json``, as ``huggingface-cli download`` or ``save_pretrained`` leave it)."""
    if not isinstance(spec, str) or not spec:
        raise InputError("model", f"expected a model name or a config.json path, got {spec!r}", ", ".join(names()))
    key = spec.lower()
    if key in _zoo():
        entry = dict(_zoo()[key])
        return ModelConfig(name=key, **entry)
    path = Path(spec)
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise InputError("model", f"folder {spec!r} holds no config.json (a Hugging Face model folder has one)")
        return load_hf_config(path / "config.json")
    if path.suffix == ".json" or path.is_file():
        return load_hf_config(path)
    raise InputError("model", f"unknown model {spec!r}",
                     ", ".join(names()) + ", a path to a config.json, or a Hugging Face model folder")


class _HFConfig:
    """A parsed ``config.json`` and the way to ask it for fields (missing ones name the field and the file)."""

    def __init__(self, cfg: dict, path: Path):
        self.cfg, self.path, self.mtype = cfg, path, cfg.get("model_type")

    def need(self, *keys: str):
        """The first of ``keys`` present (HF families spell the same size differently)."""
        for k in keys:
            if self.cfg.get(k) is not None:
                return self.cfg[k]
        raise InputError(keys[0], f"missing from {str(self.path)!r} (model_type {self.mtype})")

    def get(self, key: str, default=None):
        v = self.cfg.get(key)
        return default if v is None else v

    def common(self) -> dict:
        name = self.cfg.get("_name_or_path") or self.path.parent.name or self.path.stem
        return dict(name=str(name), family=self.mtype, hidden=self.need("hidden_size", "n_embd", "d_model"),
                    heads=self.need("num_attention_heads", "n_head"), layers=self.need("num_hidden_layers", "n_layer"),
                    vocab=self.need("vocab_size"), source=str(self.path))

    def activation(self, *keys: str, default: str = "silu") -> str:
        for k in keys:
            if self.cfg.get(k):
                return str(self.cfg[k])
        return default


_GELUS = ("gelu", "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "gelu_python")


def _gated_mlp(h: _HFConfig, act: str) -> str:
    if act == "silu":
        return "swiglu"
    if act in _GELUS:
        return "geglu"
    raise InputError("hidden_act", f"unsupported value {act!r} in {str(h.path)!r}", ", ".join(("silu", *_GELUS)))


def _plain_mlp(h: _HFConfig, act: str) -> str:
    if act == "relu":
        return "relu"
    if act in _GELUS:
        return "gelu"
    raise InputError("activation_function", f"unsupported value {act!r} in {str(h.path)!r}",
                     ", ".join(("relu", *_GELUS)))


def _llama(h: _HFConfig, **extra) -> ModelConfig:
    """Llama-style decoders (llama, mistral, qwen2, bitnet, gemma, phi3): RMSNorm, RoPE, gated MLP."""
    c = h.common()
    kv = h.get("num_key_value_heads") or c["heads"]
    # Mistral: sliding_window applies when set; Qwen2 sets it but applies it only with use_sliding_window.
    window = h.get("sliding_window") if h.get("use_sliding_window", h.mtype in ("mistral", "mixtral")) else None
    act = h.activation("hidden_activation", "hidden_act")
    fields = dict(intermediate=h.need("intermediate_size"), kv_heads=kv, head_dim=h.get("head_dim") or 0,
                  sliding_window=window or 0, mlp=_gated_mlp(h, act),
                  qkv_bias=h.mtype in ("qwen2", "qwen2_moe") or bool(h.get("attention_bias")),
                  extra={"hidden_act": act})
    fields.update(extra)
    return ModelConfig(**c, **fields)


def _opt(h: _HFConfig) -> ModelConfig:
    c = h.common()
    proj = h.get("word_embed_proj_dim", c["hidden"])
    if proj != c["hidden"]:
        raise InputError("word_embed_proj_dim", f"{proj} differs from hidden_size={c['hidden']}; "
                         "OPT models with project_in/project_out are not supported",
                         f"{c['hidden']} (equal to hidden_size)")
    act = h.get("activation_function", "relu")
    if act != "relu":
        raise InputError("activation_function", f"unsupported value {act!r}", "relu")
    return ModelConfig(**c, intermediate=h.need("ffn_dim"), kv_heads=c["heads"], mlp="relu", norm="layernorm",
                       rope=False, bias=bool(h.get("enable_bias", True)))


def _gpt2(h: _HFConfig) -> ModelConfig:
    """GPT-2: learned positions (no RoPE), LayerNorm, biases everywhere, GELU MLP of n_inner (default 4·n_embd)."""
    c = h.common()
    return ModelConfig(**c, intermediate=h.get("n_inner") or 4 * c["hidden"], kv_heads=c["heads"],
                       mlp=_plain_mlp(h, h.activation("activation_function", default="gelu_new")), norm="layernorm",
                       rope=False, bias=True)


def _gpt_neox(h: _HFConfig) -> ModelConfig:
    """GPT-NeoX / Pythia: LayerNorm, biases, GELU MLP, RoPE on rotary_pct of each head (parallel residual is
    traced as attention then MLP: the same ops)."""
    c = h.common()
    head_dim = c["hidden"] // c["heads"]
    return ModelConfig(**c, intermediate=h.need("intermediate_size"), kv_heads=c["heads"],
                       mlp=_plain_mlp(h, h.activation("hidden_act", default="gelu")), norm="layernorm",
                       bias=bool(h.get("attention_bias", True)),
                       rotary_dim=int(head_dim * float(h.get("rotary_pct", 1.0))))


def _phi(h: _HFConfig) -> ModelConfig:
    """Phi-1/1.5/2: LayerNorm, biases, GELU fc1/fc2 MLP, partial RoPE (partial_rotary_factor)."""
    c = h.common()
    head_dim = c["hidden"] // c["heads"]
    return ModelConfig(**c, intermediate=h.need("intermediate_size"),
                       kv_heads=h.get("num_key_value_heads") or c["heads"],
                       mlp=_plain_mlp(h, h.activation("hidden_act", default="gelu_new")), norm="layernorm", bias=True,
                       rotary_dim=int(head_dim * float(h.get("partial_rotary_factor", 1.0))))


def _mixtral(h: _HFConfig) -> ModelConfig:
    """Mixtral: every layer's MLP is num_local_experts SwiGLU experts of intermediate_size, top num_experts_per_tok."""
    return _llama(h, experts=h.need("num_local_experts"), experts_per_token=h.need("num_experts_per_tok"),
                  expert_intermediate=h.need("intermediate_size"))


def _qwen2_moe(h: _HFConfig) -> ModelConfig:
    """Qwen1.5/Qwen2-MoE: num_experts routed experts of moe_intermediate_size and one gated shared expert."""
    if h.get("decoder_sparse_step", 1) != 1 or h.get("mlp_only_layers"):
        raise InputError("decoder_sparse_step", "only configs with an MoE MLP in every layer are supported",
                         "decoder_sparse_step 1 and no mlp_only_layers")
    return _llama(h, experts=h.need("num_experts"), experts_per_token=h.need("num_experts_per_tok"),
                  expert_intermediate=h.need("moe_intermediate_size"),
                  shared_intermediate=h.get("shared_expert_intermediate_size", 0), shared_gate=True)


def _deepseek(h: _HFConfig) -> ModelConfig:
    """DeepSeek-MoE: n_routed_experts of moe_intermediate_size, n_shared_experts always on, the first
    first_k_dense_replace layers dense (intermediate_size)."""
    if h.get("moe_layer_freq", 1) != 1:
        raise InputError("moe_layer_freq", f"unsupported value {h.get('moe_layer_freq')!r}", "1")
    if h.get("kv_lora_rank") or h.get("q_lora_rank"):
        raise InputError("kv_lora_rank", "multi-head latent attention (DeepSeek-V2/V3) is not supported",
                         "DeepSeek-MoE configs with multi-head attention")
    width = h.need("moe_intermediate_size")
    return _llama(h, experts=h.need("n_routed_experts"), experts_per_token=h.need("num_experts_per_tok"),
                  expert_intermediate=width, shared_intermediate=h.get("n_shared_experts", 0) * width,
                  dense_layers=h.get("first_k_dense_replace", 0))


#: one parser per Hugging Face ``model_type``
HF_PARSERS = {"llama": _llama, "mistral": _llama, "qwen2": _llama, "bitnet": _llama, "gemma": _llama,
              "phi3": _llama, "opt": _opt, "gpt2": _gpt2, "gpt_neox": _gpt_neox, "phi": _phi,
              "mixtral": _mixtral, "qwen2_moe": _qwen2_moe, "deepseek": _deepseek}
HF_MODEL_TYPES = tuple(HF_PARSERS)


def load_hf_config(path: str | Path) -> ModelConfig:
    """Read a Hugging Face ``config.json`` (the families of :data:`HF_PARSERS`)."""
    path = Path(path)
    cfg = read_user_file(path, "model", "json")
    if not isinstance(cfg, dict):
        raise InputError("model", f"{str(path)!r} does not hold a JSON object")
    mtype = cfg.get("model_type")
    if mtype not in HF_PARSERS:
        raise InputError("model_type", f"unsupported value {mtype!r} in {str(path)!r}", ", ".join(HF_MODEL_TYPES))
    return HF_PARSERS[mtype](_HFConfig(cfg, path))
