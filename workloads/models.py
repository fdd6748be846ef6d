"""Model shapes: the zoo in ``models.yaml`` and a loader for a local Hugging Face ``config.json``.

A :class:`ModelConfig` holds only what the trace needs (sizes, MLP kind, norm kind, biases,
rotary embeddings). ``get_model(spec)`` accepts a zoo name or a path to a ``config.json``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path

import yaml

from sim.errors import InputError
from sim.userfile import read_user_file

ZOO_FILE = Path(__file__).with_name("models.yaml")

MLP_KINDS = ("swiglu", "relu", "gelu")
NORM_KINDS = ("rmsnorm", "layernorm")
HF_MODEL_TYPES = ("llama", "mistral", "opt", "qwen2", "bitnet", "phi")


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

    @property
    def q_dim(self) -> int:
        return self.heads * self.head_dim

    @property
    def kv_dim(self) -> int:
        return self.kv_heads * self.head_dim

    @property
    def gqa_group(self) -> int:
        """Query heads sharing one KV head (1 = MHA)."""
        return self.heads // self.kv_heads

    def linear_layers(self) -> list[LinearShape]:
        """The linear layers of one decoder block, in execution order (HF module names)."""
        b = self.bias
        attn = [
            LinearShape("q_proj", self.q_dim, self.hidden, b or self.qkv_bias),
            LinearShape("k_proj", self.kv_dim, self.hidden, b or self.qkv_bias),
            LinearShape("v_proj", self.kv_dim, self.hidden, b or self.qkv_bias),
            LinearShape("o_proj" if self.mlp == "swiglu" else "out_proj", self.hidden, self.q_dim, b),
        ]
        if self.mlp == "swiglu":
            mlp = [LinearShape("gate_proj", self.intermediate, self.hidden, b),
                   LinearShape("up_proj", self.intermediate, self.hidden, b),
                   LinearShape("down_proj", self.hidden, self.intermediate, b)]
        else:
            mlp = [LinearShape("fc1", self.intermediate, self.hidden, b),
                   LinearShape("fc2", self.hidden, self.intermediate, b)]
        return attn + mlp

    def lm_head(self) -> LinearShape:
        return LinearShape("lm_head", self.vocab, self.hidden, False)

    def weight_params(self) -> int:
        """Weights of all linear layers including lm_head (elements; embeddings and norms excluded)."""
        per_layer = sum(s.out_features * s.in_features for s in self.linear_layers())
        return per_layer * self.layers + self.vocab * self.hidden

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("extra")
        return d


@cache
def _zoo() -> dict:
    with open(ZOO_FILE) as f:
        return yaml.safe_load(f)


def names() -> list[str]:
    """Zoo model names."""
    return sorted(_zoo())


def get_model(spec: str) -> ModelConfig:
    """A zoo model by name (case-insensitive) or a model read from a ``config.json`` path."""
    if not isinstance(spec, str) or not spec:
        raise InputError("model", f"expected a model name or a config.json path, got {spec!r}", ", ".join(names()))
    key = spec.lower()
    if key in _zoo():
        entry = dict(_zoo()[key])
        return ModelConfig(name=key, **entry)
    path = Path(spec)
    if path.suffix == ".json" or path.is_file():
        return load_hf_config(path)
    raise InputError("model", f"unknown model {spec!r}", ", ".join(names()) + ", or a path to a config.json")


def load_hf_config(path: str | Path) -> ModelConfig:
    """Read a Hugging Face ``config.json`` (llama, mistral, opt, qwen2, bitnet, phi families)."""
    path = Path(path)
    cfg = read_user_file(path, "model", "json")
    if not isinstance(cfg, dict):
        raise InputError("model", f"{str(path)!r} does not hold a JSON object")
    mtype = cfg.get("model_type")
    if mtype not in HF_MODEL_TYPES:
        raise InputError("model_type", f"unsupported value {mtype!r} in {str(path)!r}", ", ".join(HF_MODEL_TYPES))
    name = cfg.get("_name_or_path") or path.parent.name or path.stem

    def need(key: str):
        if key not in cfg:
            raise InputError(key, f"missing from {str(path)!r} (model_type {mtype})")
        return cfg[key]

    common = dict(name=str(name), family=mtype, hidden=need("hidden_size"),
                  heads=need("num_attention_heads"), layers=need("num_hidden_layers"), vocab=need("vocab_size"),
                  source=str(path))
    if mtype == "opt":
        proj = cfg.get("word_embed_proj_dim", common["hidden"])
        if proj != common["hidden"]:
            raise InputError("word_embed_proj_dim", f"{proj} differs from hidden_size={common['hidden']}; "
                             "OPT models with project_in/project_out are not supported",
                             f"{common['hidden']} (equal to hidden_size)")
        act = cfg.get("activation_function", "relu")
        if act != "relu":
            raise InputError("activation_function", f"unsupported value {act!r}", "relu")
        return ModelConfig(**common, intermediate=need("ffn_dim"), kv_heads=common["heads"], mlp="relu",
                           norm="layernorm", rope=False, bias=bool(cfg.get("enable_bias", True)))
    kv = cfg.get("num_key_value_heads") or common["heads"]
    if mtype == "phi":  # fc1/fc2 with a GELU, LayerNorm, biases on every linear layer (HF PhiForCausalLM)
        return ModelConfig(**common, intermediate=need("intermediate_size"), kv_heads=kv, mlp="gelu",
                           norm="layernorm", bias=True, extra={"hidden_act": cfg.get("hidden_act", "gelu_new")})
    # Mistral: sliding_window applies when set; Qwen2 sets it but applies it only with use_sliding_window.
    window = cfg.get("sliding_window") if cfg.get("use_sliding_window", mtype == "mistral") else None
    return ModelConfig(**common, intermediate=need("intermediate_size"), kv_heads=kv,
                       head_dim=cfg.get("head_dim") or 0, sliding_window=window or 0,
                       qkv_bias=(mtype == "qwen2") or bool(cfg.get("attention_bias")),
                       extra={"hidden_act": cfg.get("hidden_act", "silu")})
