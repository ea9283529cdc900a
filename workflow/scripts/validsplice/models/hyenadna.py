"""HyenaDNA in PyTorch (our own implementation of the published architecture).

Matches the network of the HuggingFace ``LongSafari/hyenadna-*-seqlen-hf`` models
(``modeling_hyena.py``) operation for operation, so that their weights load onto it
(see ``hyenadna_checkpoint.py`` for the key map) and give the same hidden states:

    token embedding
    n_layer x [ x + Hyena(LN1(x))  ->  x + MLP(LN2(x)) ]       (pre-norm residual blocks)
    final LayerNorm (eps = layer_norm_epsilon; the block norms use the default 1e-5)

Hyena operator (order 2): in_proj (d -> 3d), causal depthwise short conv (kernel 3), split
into gates x0, x1 and value v; v <- longconv(v * x1, h) + D * (v * x1); y = out_proj(v * x0).
The long filter h (one per channel, as long as the input) is *implicit*: a small MLP with
sine activations maps complex-exponential positional features of each position to d
values, multiplied by an exponentially decaying window. The long convolution runs through
the FFT (zero-padded to 2L, hence causal, O(L log L)).

The model is causal: hidden state i depends on tokens <= i only. Heads that need context on
both sides of a variant run the sequence and its reverse complement (hyenadna_heads.py).

Only the published configuration (``hyena_order`` 2, ``short_filter_order`` 3) is
supported; anything else raises ``UserError`` rather than silently building another net.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import torch
import torch.nn.functional as F
from torch import nn

from ..common.errors import UserError


@dataclass
class HyenaDNAConfig:
    """Sizes of a HyenaDNA network; field names are the keys of the HF ``config.json``."""

    d_model: int = 256
    n_layer: int = 4
    d_inner: int | None = None  # None -> 4 * d_model (HF default)
    vocab_size: int = 12
    max_seq_len: int = 1024  # l_max: longest input; also fixes the filter's time grid
    hyena_order: int = 2
    filter_order: int = 64  # width of the implicit-filter MLP
    emb_dim: int = 5  # positional features: time + (emb_dim - 1) / 2 cos/sin bands
    short_filter_order: int = 3
    num_inner_mlps: int = 2
    activation_freq: float = 10.0  # initial frequency of the Sin activation
    train_freq: bool = True
    use_bias: bool = True
    pad_vocab_size_multiple: int = 8
    layer_norm_epsilon: float = 1e-5
    embed_dropout: float = 0.1  # present in HF configs; unused in the HF forward, also here
    hyena_dropout: float = 0.0
    hyena_filter_dropout: float = 0.0
    initializer_range: float = 0.02
    residual_in_fp32: bool = True  # HF blocks keep the residual stream in float32

    def __post_init__(self):
        if self.d_inner is None:
            self.d_inner = 4 * self.d_model
        problems = []
        if self.hyena_order != 2:
            problems.append(f"hyena_order={self.hyena_order} (published models use 2)")
        if self.short_filter_order != 3:
            problems.append(f"short_filter_order={self.short_filter_order} (published models use 3)")
        if self.emb_dim < 3 or self.emb_dim % 2 == 0:
            problems.append(f"emb_dim={self.emb_dim} (must be odd and >= 3)")
        if min(self.d_model, self.n_layer, self.max_seq_len, self.filter_order) < 1:
            problems.append("d_model, n_layer, max_seq_len and filter_order must be positive")
        if problems:
            raise UserError("Unsupported HyenaDNA configuration: " + "; ".join(problems) + ".")

    @property
    def padded_vocab_size(self) -> int:
        m = self.pad_vocab_size_multiple
        return ((self.vocab_size + m - 1) // m) * m

    @classmethod
    def from_dict(cls, raw: dict, source: str = "config") -> "HyenaDNAConfig":
        """Build from a config.json-style dict; unknown keys (architectures, auto_map, ...)
        are ignored, ``l_max`` is accepted as an alias of ``max_seq_len``."""
        raw = dict(raw)
        if "l_max" in raw and "max_seq_len" not in raw:
            raw["max_seq_len"] = raw.pop("l_max")
        known = {f.name for f in fields(cls)}
        required = ("d_model", "n_layer", "max_seq_len")
        missing = [k for k in required if k not in raw]
        if missing:
            raise UserError(
                f"{source}: HyenaDNA config lacks {', '.join(missing)}; it must give at least "
                f"{', '.join(required)} (as in the HuggingFace config.json)."
            )
        try:
            return cls(**{k: v for k, v in raw.items() if k in known})
        except TypeError as exc:  # wrong value types
            raise UserError(f"{source}: invalid HyenaDNA config: {exc}") from None

    def to_dict(self) -> dict:
        return asdict(self)


class Sin(nn.Module):
    """sin(freq * x) with a per-channel frequency (learnable when ``train_freq``).

    One instance is shared by every activation slot of a filter MLP, as in HF (so the
    checkpoint stores one frequency vector per layer).
    """

    def __init__(self, width: int, freq: float, trainable: bool):
        super().__init__()
        init = freq * torch.ones(1, width)
        if trainable:
            self.freq = nn.Parameter(init)
        else:
            self.register_buffer("freq", init, persistent=False)

    def forward(self, x):
        return torch.sin(self.freq * x)


def positional_features(max_seq_len: int, emb_dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Complex-exponential features of positions 0..max_seq_len-1.

    Returns z (1, L, emb_dim) = [t, cos(-f w), sin(-f w)] and t (1, L, 1), with t in [0, 1]
    normalised to ``max_seq_len`` (so a filter depends on the checkpoint's l_max, not on the
    input length) and ``bands = (emb_dim-1)//2`` frequencies f from ~0 to bands-1.
    """
    t = torch.linspace(0, 1, max_seq_len)[None, :, None]
    bands = (emb_dim - 1) // 2
    w = 2 * math.pi * torch.linspace(0, max_seq_len - 1, max_seq_len)[None, :, None] / max_seq_len
    f = torch.linspace(1e-4, bands - 1, bands)[None, None]
    z = torch.cat([t, torch.cos(-f * w), torch.sin(-f * w)], dim=-1)
    return z, t


def decay_rates(d_model: int, fast_decay_pct: float = 0.3, slow_decay_pct: float = 1.5,
                target: float = 1e-2) -> torch.Tensor:
    """Per-channel decay rates of the exponential window, (1, 1, d_model); channel 0 decays
    slowest (to ``target`` at t = slow_decay_pct), the last one fastest."""
    max_decay = math.log(target) / fast_decay_pct
    min_decay = math.log(target) / slow_decay_pct
    return torch.linspace(min_decay, max_decay, d_model)[None, None]


def fft_causal_conv(u: torch.Tensor, k: torch.Tensor, D: torch.Tensor) -> torch.Tensor:
    """y[..., c, i] = sum_{j<=i} k[c, j] u[..., c, i-j] + D[c] u[..., c, i].

    u: (B, C, L); k: (C, L); D: (C,). Zero padding to 2L makes the circular FFT convolution
    a linear (causal) one. Computed in float32 like HF.
    """
    seqlen = u.shape[-1]
    n = 2 * seqlen
    k_f = torch.fft.rfft(k.to(torch.float32), n=n)
    u_f = torch.fft.rfft(u.to(torch.float32), n=n)
    y = torch.fft.irfft(u_f * k_f, n=n)[..., :seqlen]
    return (y + u * D.unsqueeze(-1)).to(u.dtype)


class ImplicitLongFilter(nn.Module):
    """Generates the long convolution filters h (d_model, L) from positions, plus bias D."""

    def __init__(self, cfg: HyenaDNAConfig):
        super().__init__()
        d = cfg.d_model * (cfg.hyena_order - 1)
        self.D = nn.Parameter(torch.randn(d))  # HF name: filter_fn.bias
        z, t = positional_features(cfg.max_seq_len, cfg.emb_dim)
        self.register_buffer("z", z)
        self.register_buffer("t", t)
        self.register_buffer("decay_rates", decay_rates(cfg.d_model))
        self.shift = 0.05
        self.sin = Sin(cfg.filter_order, cfg.activation_freq, cfg.train_freq)
        sizes = [cfg.emb_dim] + [cfg.filter_order] * (cfg.num_inner_mlps + 1)
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.linears.append(nn.Linear(cfg.filter_order, cfg.d_model, bias=False))
        # hyena_filter_dropout is accepted but, as in HF, not applied.

    def forward(self, length: int) -> torch.Tensor:
        """Filters for the first ``length`` positions: (d_model, length)."""
        z, t = self.z[:, :length], self.t[:, :length]
        h = z.to(self.linears[0].weight.dtype)
        for linear in self.linears[:-1]:
            h = self.sin(linear(h))
        h = self.linears[-1](h)  # (1, L, d)
        h = h * (torch.exp(-t * self.decay_rates.abs()) + self.shift)
        return h[0].transpose(0, 1)


class HyenaOperator(nn.Module):
    """Order-2 Hyena: gated causal long convolution, the attention replacement."""

    def __init__(self, cfg: HyenaDNAConfig):
        super().__init__()
        self.d_model = cfg.d_model
        self.l_max = cfg.max_seq_len
        inner = cfg.d_model * (cfg.hyena_order + 1)
        self.in_proj = nn.Linear(cfg.d_model, inner)
        self.out_proj = nn.Linear(cfg.d_model, cfg.d_model)
        # HF pads by 2 on both sides and keeps the first L outputs: a causal kernel-3 conv.
        self.short_conv = nn.Conv1d(inner, inner, cfg.short_filter_order, padding=2, groups=inner)
        self.long_filter = ImplicitLongFilter(cfg)
        self.dropout = nn.Dropout(cfg.hyena_dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, L, d)
        length = x.shape[1]
        if length > self.l_max:
            raise UserError(f"Input length {length} exceeds the HyenaDNA l_max {self.l_max}.")
        u = self.in_proj(x).transpose(1, 2)
        u = self.short_conv(u)[..., :length]
        x0, x1, v = u.split(self.d_model, dim=1)
        k = self.long_filter(length)
        v = fft_causal_conv(self.dropout(v * x1), k, self.long_filter.D)
        return self.out_proj((v * x0).transpose(1, 2))


class FeedForward(nn.Module):
    def __init__(self, cfg: HyenaDNAConfig):
        super().__init__()
        self.fc1 = nn.Linear(cfg.d_model, cfg.d_inner)
        self.fc2 = nn.Linear(cfg.d_inner, cfg.d_model)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x), approximate="tanh"))


class HyenaBlock(nn.Module):
    """Pre-norm residual block: x + Hyena(LN(x)), then + MLP(LN(.))."""

    def __init__(self, cfg: HyenaDNAConfig):
        super().__init__()
        self.norm1 = nn.LayerNorm(cfg.d_model)
        self.hyena = HyenaOperator(cfg)
        self.norm2 = nn.LayerNorm(cfg.d_model)
        self.mlp = FeedForward(cfg)
        self.residual_in_fp32 = cfg.residual_in_fp32

    def forward(self, x):
        residual = x.float() if self.residual_in_fp32 else x
        residual = self.hyena(self.norm1(residual.to(self.norm1.weight.dtype))) + residual
        return self.mlp(self.norm2(residual.to(self.norm2.weight.dtype))) + residual


class HyenaDNA(nn.Module):
    """The HyenaDNA language model: ``forward(ids)`` -> hidden states (B, L, d_model).

    ``lm_head`` (next-token logits, as in ``HyenaDNAForCausalLM``) is kept so that a real
    checkpoint loads with no leftover keys; the variant heads use the hidden states only.
    """

    def __init__(self, cfg: HyenaDNAConfig):
        super().__init__()
        self.config = cfg
        self.embedding = nn.Embedding(cfg.padded_vocab_size, cfg.d_model)
        self.blocks = nn.ModuleList(HyenaBlock(cfg) for _ in range(cfg.n_layer))
        self.final_norm = nn.LayerNorm(cfg.d_model, eps=cfg.layer_norm_epsilon)
        self.lm_head = nn.Linear(cfg.d_model, cfg.padded_vocab_size, bias=False)
        self._init_weights()

    def _init_weights(self):
        """HF's initialisation (normal 0.02, zero biases, xavier convs, scaled out projections);
        used for random-init runs only, a checkpoint overwrites everything."""
        std = self.config.initializer_range
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, std=std)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Conv1d):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Embedding):
                nn.init.normal_(module.weight, std=std)
        for block in self.blocks:
            for w in (block.hyena.out_proj.weight, block.mlp.fc2.weight):
                nn.init.normal_(w, std=std / math.sqrt(2 * self.config.n_layer))

    def forward(self, input_ids: torch.Tensor, first_block: int = 0,
                hidden: torch.Tensor | None = None) -> torch.Tensor:
        """Hidden states after the final norm.

        With ``hidden`` given (the output of ``embed_and_run(ids, n)``) the computation resumes
        at block ``first_block``; used by fine-tuning to run frozen blocks without autograd.
        """
        h = self.embedding(input_ids) if hidden is None else hidden
        for block in self.blocks[first_block:]:
            h = block(h)
        return self.final_norm(h.to(self.final_norm.weight.dtype))

    def embed_and_run(self, input_ids: torch.Tensor, n_blocks: int) -> torch.Tensor:
        """Embedding and the first ``n_blocks`` blocks (no final norm)."""
        h = self.embedding(input_ids)
        for block in self.blocks[:n_blocks]:
            h = block(h)
        return h

    def logits(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.lm_head(self.forward(input_ids)).float()
