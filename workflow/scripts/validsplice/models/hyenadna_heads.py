"""Variant-effect heads on a HyenaDNA encoder: frozen encoder, or last blocks fine-tuned.

Siamese: the ref and the alt window go through the same encoder. HyenaDNA is causal
(position i sees tokens <= i), so a position upstream of the variant cannot see it; with
``both_strands`` (default) each window is also run reverse-complemented and the outputs are
flipped back, so every position gets one view from each side. Features:

- per position of the central band (variant at ``window_length // 2``, positions -D..+D):
  alt - ref hidden states and the ref hidden states (both strands concatenated);
- per window: mean-pooled ref hidden state and mean-pooled (alt - ref).

A small head (per-position projection + global projection, a width-5 conv along the band,
linear to 2 channels, tanh) predicts the profile-form target: the change of (acceptor, donor)
probability at each band position, bounded to [-1, 1]. Loss: MSE on the profile.
Outputs: ``profile`` (B, 2D+1, 2), ``seed`` (B, 3) = (neither, acceptor, donor) at the band
position of largest predicted |delta| (neither = -(acceptor + donor)), ``score`` = that
largest |delta|.

Settings: the experiment's settings object; the HyenaDNA keys and their defaults are
``models.registry.HyenaDNAParams`` (``checkpoint``, ``allow_random_init``, ``random_init_config``,
``trainable_blocks``, ``encoder_lr_multiplier``, ``both_strands``, ``head_hidden``: null means
``hidden_dim``); ``dropout`` (head) is a general training key.
"""
from __future__ import annotations

import logging
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..common.errors import UserError
from .hyenadna import HyenaDNA, HyenaDNAConfig
from .hyenadna_checkpoint import codes_to_token_ids, load_hyenadna

log = logging.getLogger("validsplice.hyenadna")

RANDOM_INIT_NOTE = "random init (no pretrained weights)"
SUGGESTED_CHECKPOINT = "LongSafari/hyenadna-small-32k-seqlen-hf"

# reverse complement on codes A0 C1 G2 T3 N4
_RC_CODES = torch.tensor([3, 2, 1, 0, 4], dtype=torch.long)


def reverse_complement_batch(codes: torch.Tensor) -> torch.Tensor:
    """(B, L) codes -> reverse complement along L."""
    return _RC_CODES.to(codes.device)[codes.long()].flip(-1)


def make_encoder(settings, window_length: int) -> tuple[HyenaDNA, str]:
    """The encoder named by ``settings``: a checkpoint folder, or random init when allowed.

    Never substitutes one for the other: no checkpoint and no permission -> UserError.
    """
    checkpoint = str(settings.checkpoint).strip()
    if checkpoint:
        encoder, report = load_hyenadna(checkpoint)
        note = f"pretrained HyenaDNA: {Path(checkpoint).name} ({report.weights_file})"
    elif settings.allow_random_init:
        sizes = {"d_model": 64, "n_layer": 2, "max_seq_len": window_length + 2}
        sizes.update(settings.random_init_config or {})
        encoder = HyenaDNA(HyenaDNAConfig.from_dict(sizes, source="setting random_init_config"))
        note = RANDOM_INIT_NOTE
        log.warning("HyenaDNA encoder: %s (sizes %s)", note, sizes)
    else:
        raise UserError(
            "HyenaDNA model: no pretrained checkpoint given. Download "
            f"{SUGGESTED_CHECKPOINT} (e.g. `huggingface-cli download {SUGGESTED_CHECKPOINT} "
            "--local-dir resources/hyenadna/small-32k`) and set `checkpoint:` to that folder in the "
            "experiment's settings; or set `allow_random_init: true` to test the plumbing with a "
            "randomly initialised encoder (results are then not a HyenaDNA result)."
        )
    l_max = encoder.config.max_seq_len
    if window_length > l_max:
        raise UserError(
            f"HyenaDNA model: window length {window_length} exceeds the encoder's l_max "
            f"(max_seq_len) {l_max}. Use a checkpoint with a longer context (e.g. "
            "hyenadna-medium-160k-seqlen-hf) or shorter windows."
        )
    return encoder, note


class HyenaDNAVariantModel(nn.Module):
    """Siamese HyenaDNA encoder + profile head (see module docstring)."""

    target_form = "profile"
    score_scale = "delta"

    def __init__(self, encoder: HyenaDNA, *, window_length: int, profile_length: int,
                 trainable_blocks: int, encoder_lr_multiplier: float, dropout: float, both_strands: bool,
                 head_hidden: int, note: str):
        super().__init__()
        if profile_length < 1 or profile_length % 2 == 0:
            raise UserError(f"HyenaDNA model: profile_length must be odd (2D+1), got {profile_length}.")
        n_layer = encoder.config.n_layer
        if not 0 <= trainable_blocks <= n_layer:
            raise UserError(
                f"HyenaDNA model: trainable_blocks={trainable_blocks} but the encoder has {n_layer} blocks."
            )
        self.window_length = window_length
        self.center = window_length // 2
        self.flank = profile_length // 2
        if self.center - self.flank < 0 or self.center + self.flank >= window_length:
            raise UserError(
                f"HyenaDNA model: profile of {profile_length} positions does not fit in windows of {window_length}."
            )
        self.encoder = encoder
        self.trainable_blocks = trainable_blocks
        self.n_frozen_blocks = n_layer - trainable_blocks
        self.encoder_lr_multiplier = float(encoder_lr_multiplier)
        self.both_strands = bool(both_strands)
        self.note = note
        self.encoder_config = encoder.config.to_dict()

        # freeze everything, then unfreeze the fine-tuned tail (and the final norm with it)
        encoder.requires_grad_(False)
        if trainable_blocks > 0:
            for block in encoder.blocks[self.n_frozen_blocks:]:
                block.requires_grad_(True)
            encoder.final_norm.requires_grad_(True)

        d = encoder.config.d_model * (2 if self.both_strands else 1)
        self.position_proj = nn.Linear(2 * d, head_hidden)
        self.global_proj = nn.Linear(2 * d, head_hidden)
        self.band_conv = nn.Conv1d(head_hidden, head_hidden, kernel_size=5, padding=2)
        self.out = nn.Linear(head_hidden, 2)
        self.dropout = nn.Dropout(dropout)
        nn.init.zeros_(self.out.bias)
        nn.init.normal_(self.out.weight, std=1e-3)  # start near "no effect" (most targets are 0)
        self.train()

    # --------------------------------------------------------------- modes
    def train(self, mode: bool = True):
        """Frozen encoder parts always stay in eval mode (no dropout, fixed behaviour)."""
        super().train(mode)
        if self.trainable_blocks == 0:
            self.encoder.eval()
        else:
            self.encoder.embedding.eval()
            for block in self.encoder.blocks[: self.n_frozen_blocks]:
                block.eval()
        return self

    def head_parameters(self) -> list[nn.Parameter]:
        return [p for n, p in self.named_parameters() if not n.startswith("encoder.") and p.requires_grad]

    def encoder_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.encoder.parameters() if p.requires_grad]

    def parameter_groups(self, base_lr: float) -> list[dict]:
        """Head at ``base_lr``; fine-tuned encoder params at ``base_lr * encoder_lr_multiplier``;
        frozen parameters in no group."""
        groups = [{"params": self.head_parameters(), "lr": base_lr, "name": "head"}]
        enc = self.encoder_parameters()
        if enc:
            groups.append({"params": enc, "lr": base_lr * self.encoder_lr_multiplier, "name": "encoder"})
        return groups

    # --------------------------------------------------------------- forward
    def encode(self, codes: torch.Tensor) -> torch.Tensor:
        """(N, L) codes -> (N, L, d) hidden states; frozen part run without autograd."""
        ids = codes_to_token_ids(codes)
        if self.trainable_blocks == 0:
            with torch.no_grad():
                return self.encoder(ids)
        with torch.no_grad():
            h = self.encoder.embed_and_run(ids, self.n_frozen_blocks)
        return self.encoder(ids, first_block=self.n_frozen_blocks, hidden=h)

    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        ref, alt = batch["ref"], batch["alt"]
        if ref.shape != alt.shape or ref.shape[1] != self.window_length:
            raise ValueError(f"ref/alt must be (B, {self.window_length}); got {tuple(ref.shape)}, {tuple(alt.shape)}")
        B = ref.shape[0]
        codes = torch.cat([ref, alt])
        if self.both_strands:
            h = self.encode(torch.cat([codes, reverse_complement_batch(codes)]))
            fwd, rc = h[: 2 * B], h[2 * B:].flip(1)  # rc outputs back in forward position order
            h = torch.cat([fwd, rc], dim=-1)
        else:
            h = self.encode(codes)
        h_ref, h_alt = h[:B], h[B:]
        lo, hi = self.center - self.flank, self.center + self.flank + 1
        band_ref = h_ref[:, lo:hi]
        band_diff = h_alt[:, lo:hi] - band_ref
        pooled_ref = h_ref.mean(dim=1)
        pooled_diff = h_alt.mean(dim=1) - pooled_ref

        x = self.position_proj(torch.cat([band_diff, band_ref], dim=-1))
        x = x + self.global_proj(torch.cat([pooled_diff, pooled_ref], dim=-1)).unsqueeze(1)
        x = self.dropout(F.gelu(x))
        x = x + F.gelu(self.band_conv(x.transpose(1, 2))).transpose(1, 2)
        profile = torch.tanh(self.out(self.dropout(x)))  # (B, 2D+1, 2)

        magnitude = profile.abs().amax(dim=2)  # (B, 2D+1)
        score, idx = magnitude.max(dim=1)
        at = profile[torch.arange(B, device=profile.device), idx]  # (B, 2)
        seed = torch.stack([-(at[:, 0] + at[:, 1]), at[:, 0], at[:, 1]], dim=1)
        return {"profile": profile, "seed": seed, "score": score}

    def loss(self, outputs: dict[str, torch.Tensor], batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return F.mse_loss(outputs["profile"], batch["target_profile"].to(outputs["profile"].dtype))


def _build(settings, *, window_length: int, profile_length: int, fine_tune: bool) -> HyenaDNAVariantModel:
    trainable = int(settings.trainable_blocks)
    if fine_tune and trainable < 1:
        raise UserError("hyenadna_finetune: trainable_blocks must be >= 1 (use hyenadna_frozen for 0).")
    if not fine_tune and trainable:
        raise UserError(
            f"hyenadna_frozen: trainable_blocks={trainable}, but the frozen model trains no encoder "
            "block; set it to 0 or use model hyenadna_finetune."
        )
    encoder, note = make_encoder(settings, window_length)
    return HyenaDNAVariantModel(
        encoder,
        window_length=window_length,
        profile_length=profile_length,
        trainable_blocks=trainable,
        encoder_lr_multiplier=float(settings.encoder_lr_multiplier),
        dropout=float(settings.dropout),
        both_strands=bool(settings.both_strands),
        head_hidden=int(settings.head_hidden or settings.hidden_dim),
        note=note,
    )


def build_hyenadna_frozen(settings, *, window_length: int, profile_length: int) -> HyenaDNAVariantModel:
    """Encoder frozen (requires_grad False, eval mode, no autograd); only the head trains."""
    return _build(settings, window_length=window_length, profile_length=profile_length, fine_tune=False)


def build_hyenadna_finetune(settings, *, window_length: int, profile_length: int) -> HyenaDNAVariantModel:
    """Last ``trainable_blocks`` encoder blocks + final norm trained at lr x encoder_lr_multiplier."""
    return _build(settings, window_length=window_length, profile_length=profile_length, fine_tune=True)
