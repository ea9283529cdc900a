"""Load real HuggingFace HyenaDNA checkpoints onto our network, and tokenize like them.

Checkpoint folder = what ``huggingface-cli download LongSafari/hyenadna-small-32k-seqlen-hf``
writes: ``config.json`` + ``model.safetensors`` and/or ``pytorch_model.bin`` (+ tokenizer
files and the remote-code .py files, which we never import or execute).

Weight names in those files (``HyenaDNAForCausalLM``, prefix ``hyena.``; a bare
``HyenaDNAModel`` save has no prefix)::

    hyena.backbone.embeddings.word_embeddings.weight
    hyena.backbone.layers.{i}.norm1.{weight,bias}            norm2.{weight,bias}
    hyena.backbone.layers.{i}.mixer.in_proj.{weight,bias}    out_proj.{weight,bias}
    hyena.backbone.layers.{i}.mixer.short_filter.{weight,bias}
    hyena.backbone.layers.{i}.mixer.filter_fn.bias                     (D)
    hyena.backbone.layers.{i}.mixer.filter_fn.pos_emb.{z,t}            (buffers)
    hyena.backbone.layers.{i}.mixer.filter_fn.modulation.deltas        (buffer)
    hyena.backbone.layers.{i}.mixer.filter_fn.implicit_filter.{0,2,4}.{weight,bias}, .6.weight
    hyena.backbone.layers.{i}.mixer.filter_fn.implicit_filter.{1,3,5}.freq   (one shared Sin)
    hyena.backbone.layers.{i}.mlp.fc1.{weight,bias}          fc2.{weight,bias}
    hyena.backbone.ln_f.{weight,bias}
    lm_head.weight                                           (tie_word_embeddings false)

Policy (never fall back to another model, never load half a model silently):
- any checkpoint key we cannot place, and any weight of ours the checkpoint lacks, raises
  ``UserError`` naming the keys;
- exceptions, documented: (a) the Sin frequency is one tensor shared by the odd
  implicit_filter slots; ``torch.save`` of the HF state dict repeats it under .1/.3/.5,
  safetensors (the files on the Hub) keeps only ``.1``: any non-empty subset is accepted,
  values must agree; (b) the deterministic buffers ``pos_emb.z/t`` and ``modulation.deltas``
  are recomputed from config.json when absent (they are present in the Hub files and are
  then loaded, with a shape check against config.json); (c) ``lm_head.weight`` may be
  absent (a bare ``HyenaDNAModel`` save); the LM head is unused by the variant heads and is
  then left at its initialisation, which the load report records.
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..common.errors import UserError
from .hyenadna import HyenaDNA, HyenaDNAConfig

log = logging.getLogger("validsplice.hyenadna")

# ---------------------------------------------------------------- tokenizer
#: HyenaDNA CharacterTokenizer vocabulary (tokenization_hyena.py): special tokens, then
#: one id per character from 7 in the order of ``characters`` = A C G T N.
SPECIAL_TOKENS = {"[CLS]": 0, "[SEP]": 1, "[BOS]": 2, "[MASK]": 3, "[PAD]": 4,
                  "[RESERVED]": 5, "[UNK]": 6}
CHARACTERS = ("A", "C", "G", "T", "N")
TOKEN_IDS = {**SPECIAL_TOKENS, **{ch: i + 7 for i, ch in enumerate(CHARACTERS)}}
PAD_ID = SPECIAL_TOKENS["[PAD]"]
SEP_ID = SPECIAL_TOKENS["[SEP]"]

#: our uint8 code (A0 C1 G2 T3 N4) -> HyenaDNA token id; codes > 4 would be a bug upstream.
CODE_TO_TOKEN = np.array([TOKEN_IDS[c] for c in "ACGTN"], dtype=np.int64)
_CODE_TO_TOKEN_T = torch.from_numpy(CODE_TO_TOKEN)


def codes_to_token_ids(codes):
    """Map sequence codes (numpy or torch, any shape) to HyenaDNA token ids (int64).

    A vectorised table lookup; no special tokens are added: every window has the same
    length, so there is no padding, and [SEP] (appended by the HF tokenizer's
    ``build_inputs_with_special_tokens``) would only sit after the window.
    """
    if isinstance(codes, torch.Tensor):
        table = _CODE_TO_TOKEN_T.to(codes.device)
        return table[codes.long()]
    return CODE_TO_TOKEN[np.asarray(codes)]


def tokenize(seq: str, add_sep: bool = False) -> list[int]:
    """String tokenizer identical to CharacterTokenizer (upper-cased; unknown -> [UNK])."""
    ids = [TOKEN_IDS.get(ch, SPECIAL_TOKENS["[UNK]"]) for ch in seq.upper()]
    return ids + [SEP_ID] if add_sep else ids


def pad_left(batch: list[list[int]], length: int) -> np.ndarray:
    """Left padding with [PAD]=4, the padding side of the HF HyenaDNA tokenizers."""
    out = np.full((len(batch), length), PAD_ID, dtype=np.int64)
    for i, ids in enumerate(batch):
        ids = ids[-length:]
        out[i, length - len(ids):] = ids
    return out


# ---------------------------------------------------------------- key map
_LAYER = r"backbone\.layers\.(\d+)\."
_MIXER = _LAYER + r"mixer\."
_FILTER = _MIXER + r"filter_fn\."
# (HF regex without the "hyena." prefix, our name template)
_KEY_RULES: list[tuple[re.Pattern, str]] = [
    (re.compile(r"backbone\.embeddings\.word_embeddings\.weight$"), "embedding.weight"),
    (re.compile(r"backbone\.ln_f\.(weight|bias)$"), "final_norm.{0}"),
    (re.compile(_LAYER + r"(norm1|norm2)\.(weight|bias)$"), "blocks.{0}.{1}.{2}"),
    (re.compile(_LAYER + r"mlp\.(fc1|fc2)\.(weight|bias)$"), "blocks.{0}.mlp.{1}.{2}"),
    (re.compile(_MIXER + r"(in_proj|out_proj)\.(weight|bias)$"), "blocks.{0}.hyena.{1}.{2}"),
    (re.compile(_MIXER + r"short_filter\.(weight|bias)$"), "blocks.{0}.hyena.short_conv.{1}"),
    (re.compile(_FILTER + r"bias$"), "blocks.{0}.hyena.long_filter.D"),
    (re.compile(_FILTER + r"pos_emb\.(z|t)$"), "blocks.{0}.hyena.long_filter.{1}"),
    (re.compile(_FILTER + r"modulation\.deltas$"), "blocks.{0}.hyena.long_filter.decay_rates"),
    (re.compile(_FILTER + r"implicit_filter\.(\d*[13579])\.freq$"), "blocks.{0}.hyena.long_filter.sin.freq"),
    (re.compile(_FILTER + r"implicit_filter\.(\d*[02468])\.(weight|bias)$"), "LINEAR"),
    (re.compile(r"lm_head\.weight$"), "lm_head.weight"),
]
_RECOMPUTABLE = re.compile(r"long_filter\.(z|t|decay_rates)$")


def hf_key_to_ours(key: str) -> str | None:
    """Our parameter name for a HF checkpoint key, or None when it has no place here."""
    bare = key[len("hyena."):] if key.startswith("hyena.") else key
    for pattern, template in _KEY_RULES:
        m = pattern.fullmatch(bare)
        if not m:
            continue
        if template == "LINEAR":  # implicit_filter slot 2j (Linear) -> linears.j
            layer, slot, kind = m.groups()
            return f"blocks.{layer}.hyena.long_filter.linears.{int(slot) // 2}.{kind}"
        return template.format(*m.groups())
    return None


def our_state_to_hf(model: HyenaDNA, shared_freq_once: bool) -> dict[str, torch.Tensor]:
    """Our state dict under the HF ``HyenaDNAForCausalLM`` key names.

    ``shared_freq_once``: write the shared Sin frequency only as ``implicit_filter.1.freq``
    (what safetensors files hold) instead of under every activation slot (torch.save).
    """
    cfg = model.config
    out: dict[str, torch.Tensor] = {"hyena.backbone.embeddings.word_embeddings.weight": model.embedding.weight}
    for i, block in enumerate(model.blocks):
        p = f"hyena.backbone.layers.{i}."
        for norm in ("norm1", "norm2"):
            for kind in ("weight", "bias"):
                out[f"{p}{norm}.{kind}"] = getattr(getattr(block, norm), kind)
        for fc in ("fc1", "fc2"):
            for kind in ("weight", "bias"):
                out[f"{p}mlp.{fc}.{kind}"] = getattr(getattr(block.mlp, fc), kind)
        op = block.hyena
        for proj in ("in_proj", "out_proj"):
            for kind in ("weight", "bias"):
                out[f"{p}mixer.{proj}.{kind}"] = getattr(getattr(op, proj), kind)
        out[f"{p}mixer.short_filter.weight"] = op.short_conv.weight
        out[f"{p}mixer.short_filter.bias"] = op.short_conv.bias
        lf = op.long_filter
        f = f"{p}mixer.filter_fn."
        out[f + "bias"] = lf.D
        out[f + "pos_emb.z"] = lf.z
        out[f + "pos_emb.t"] = lf.t
        out[f + "modulation.deltas"] = lf.decay_rates
        for j, linear in enumerate(lf.linears):
            out[f"{f}implicit_filter.{2 * j}.weight"] = linear.weight
            if linear.bias is not None:
                out[f"{f}implicit_filter.{2 * j}.bias"] = linear.bias
        if cfg.train_freq:
            slots = [1] if shared_freq_once else range(1, 2 * (cfg.num_inner_mlps + 1), 2)
            for s in slots:
                out[f"{f}implicit_filter.{s}.freq"] = lf.sin.freq
    out["hyena.backbone.ln_f.weight"] = model.final_norm.weight
    out["hyena.backbone.ln_f.bias"] = model.final_norm.bias
    out["lm_head.weight"] = model.lm_head.weight
    return {k: v.detach() for k, v in out.items()}


# ---------------------------------------------------------------- loading
@dataclass
class LoadReport:
    folder: str
    weights_file: str
    n_tensors: int
    recomputed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def read_config(folder: Path) -> HyenaDNAConfig:
    path = folder / "config.json"
    if not path.is_file():
        raise UserError(
            f"HyenaDNA checkpoint folder {folder} has no config.json. Download the whole model "
            "folder (e.g. `huggingface-cli download LongSafari/hyenadna-small-32k-seqlen-hf "
            "--local-dir <folder>`) and set `checkpoint:` to that folder."
        )
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not valid JSON ({exc}); re-download the checkpoint.") from None
    model_type = raw.get("model_type")
    if model_type not in (None, "hyenadna"):
        raise UserError(f"{path}: model_type is {model_type!r}, expected 'hyenadna' (a HyenaDNA checkpoint).")
    return HyenaDNAConfig.from_dict(raw, source=str(path))


def check_tokenizer_config(folder: Path) -> None:
    """If the folder ships tokenizer_config.json, make sure its characters are A C G T N,
    the order our fixed code -> id table assumes."""
    path = folder / "tokenizer_config.json"
    if not path.is_file():
        return
    raw = json.loads(path.read_text())
    chars = raw.get("characters")
    if chars is not None and tuple(chars) != CHARACTERS:
        raise UserError(
            f"{path}: tokenizer characters are {chars}, but this workflow maps A,C,G,T,N to "
            f"ids 7-11 (characters {list(CHARACTERS)}). Use a HyenaDNA checkpoint with the standard tokenizer."
        )


def read_state_dict(folder: Path) -> tuple[dict[str, torch.Tensor], str]:
    """Weights of a checkpoint folder: model.safetensors preferred, else pytorch_model.bin."""
    st, pt = folder / "model.safetensors", folder / "pytorch_model.bin"
    if st.is_file():
        from safetensors.torch import load_file

        return load_file(str(st)), st.name
    if pt.is_file():
        try:
            return torch.load(pt, map_location="cpu", weights_only=True), pt.name
        except Exception as exc:  # corrupt / pickled objects beyond tensors
            raise UserError(f"{pt}: cannot read weights ({exc}); re-download the checkpoint.") from None
    sharded = sorted(p.name for p in folder.glob("*.index.json"))
    hint = f" (found sharded index {sharded}, not supported)" if sharded else ""
    raise UserError(
        f"HyenaDNA checkpoint folder {folder} has neither model.safetensors nor pytorch_model.bin{hint}. "
        "Download the complete HuggingFace model folder and set `checkpoint:` to it."
    )


def load_hyenadna(folder: str | Path) -> tuple[HyenaDNA, LoadReport]:
    """Build a HyenaDNA from ``folder/config.json`` and load every weight of the checkpoint.

    Raises UserError on keys that do not map, on weights missing from the checkpoint and on
    shape mismatches (see module docstring for the three documented exceptions).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(
            f"HyenaDNA checkpoint folder {folder} does not exist. Download it (e.g. "
            "`huggingface-cli download LongSafari/hyenadna-small-32k-seqlen-hf --local-dir "
            f"{folder}`) or fix `checkpoint:` in the experiment config."
        )
    cfg = read_config(folder)
    check_tokenizer_config(folder)
    hf_state, weights_file = read_state_dict(folder)
    model = HyenaDNA(cfg)
    ours = model.state_dict()
    report = LoadReport(str(folder), weights_file, len(hf_state))
    where = folder / weights_file

    mapped: dict[str, torch.Tensor] = {}
    unexpected: list[str] = []
    for key, tensor in hf_state.items():
        name = hf_key_to_ours(key)
        if name is None or name not in ours:
            unexpected.append(key)
            continue
        if name in mapped:  # the shared Sin frequency under several slots
            if not torch.equal(mapped[name], tensor):
                raise UserError(f"{where}: shared filter frequency differs between slots ({key}).")
            continue
        mapped[name] = tensor
    if unexpected:
        raise UserError(
            f"{where}: {len(unexpected)} weight(s) have no place in the HyenaDNA network built from "
            f"config.json: {', '.join(sorted(unexpected)[:10])}{' ...' if len(unexpected) > 10 else ''}. "
            "The checkpoint is not a HyenaDNA (HF) checkpoint or config.json does not match it."
        )

    missing = [k for k in ours if k not in mapped]
    really_missing = []
    for k in missing:
        if _RECOMPUTABLE.search(k):
            report.recomputed.append(k)
        elif k == "lm_head.weight":
            report.notes.append("lm_head.weight absent (bare HyenaDNAModel save); LM head left at init")
        else:
            really_missing.append(k)
    if really_missing:
        raise UserError(
            f"{where}: the checkpoint lacks {len(really_missing)} weight(s) of the network described by "
            f"config.json: {', '.join(really_missing[:10])}{' ...' if len(really_missing) > 10 else ''}. "
            "Re-download the checkpoint, or check that config.json belongs to these weights."
        )

    bad_shapes = [f"{k}: checkpoint {tuple(v.shape)} vs config {tuple(ours[k].shape)}"
                  for k, v in mapped.items() if tuple(v.shape) != tuple(ours[k].shape)]
    if bad_shapes:
        raise UserError(f"{where}: weight shapes disagree with config.json: " + "; ".join(bad_shapes[:5]))

    model.load_state_dict({k: v.to(ours[k].dtype) for k, v in mapped.items()}, strict=False)
    if report.recomputed:
        log.info("HyenaDNA: recomputed %d deterministic buffers absent from %s", len(report.recomputed), where)
    log.info("Loaded HyenaDNA from %s (%d tensors; d_model=%d, n_layer=%d, l_max=%d)",
             where, len(hf_state), cfg.d_model, cfg.n_layer, cfg.max_seq_len)
    return model, report


# ---------------------------------------------------------------- writing (tests, export)
HF_AUTO_MAP = {
    "AutoConfig": "configuration_hyena.HyenaConfig",
    "AutoModel": "modeling_hyena.HyenaDNAModel",
    "AutoModelForCausalLM": "modeling_hyena.HyenaDNAForCausalLM",
    "AutoModelForSequenceClassification": "modeling_hyena.HyenaDNAForSequenceClassification",
}


def hf_config_json(cfg: HyenaDNAConfig) -> dict:
    """config.json content in the layout of the Hub repos."""
    d = cfg.to_dict()
    d.pop("residual_in_fp32")
    d.update({
        "architectures": ["HyenaDNAForCausalLM"],
        "auto_map": HF_AUTO_MAP,
        "model_type": "hyenadna",
        "tie_word_embeddings": False,
        "torch_dtype": "float32",
        "pad_token_id": PAD_ID,
    })
    return dict(sorted(d.items()))


def save_hf_style_checkpoint(model: HyenaDNA, folder: str | Path, config: HyenaDNAConfig | None = None,
                             formats: tuple[str, ...] = ("bin", "safetensors")) -> Path:
    """Write ``model`` as a HuggingFace HyenaDNA folder (config.json, tokenizer files,
    ``pytorch_model.bin`` with every HF key, ``model.safetensors`` with the shared Sin
    frequency stored once, as on the Hub)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cfg = config or model.config
    (folder / "config.json").write_text(json.dumps(hf_config_json(cfg), indent=2))
    (folder / "tokenizer_config.json").write_text(json.dumps({
        "characters": list(CHARACTERS), "model_max_length": cfg.max_seq_len,
        "padding_side": "left", "tokenizer_class": "CharacterTokenizer",
        "auto_map": {"AutoTokenizer": ["tokenization_hyena.CharacterTokenizer", None]},
    }, indent=2))
    (folder / "special_tokens_map.json").write_text(json.dumps({
        "bos_token": "[BOS]", "cls_token": "[CLS]", "eos_token": "[SEP]", "mask_token": "[MASK]",
        "pad_token": "[PAD]", "sep_token": "[SEP]", "unk_token": "[UNK]"}, indent=2))
    if "bin" in formats:
        torch.save({k: v.clone() for k, v in our_state_to_hf(model, shared_freq_once=False).items()},
                   folder / "pytorch_model.bin")
    if "safetensors" in formats:
        from safetensors.torch import save_file

        state = {k: v.contiguous().clone() for k, v in our_state_to_hf(model, shared_freq_once=True).items()}
        save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    return folder


# ---------------------------------------------------------------- download
def download_checkpoint(model_id: str, dest: str | Path) -> Path:
    """Download a HyenaDNA model folder from the HuggingFace Hub (needs ``huggingface_hub``
    and internet). Only config, weights and tokenizer files are fetched; remote code is not."""
    dest = Path(dest)
    manual = (
        f"Download it elsewhere (`huggingface-cli download {model_id} --local-dir {dest}` or "
        f"git clone https://huggingface.co/{model_id}), copy the folder here and set `checkpoint:` "
        "in the experiment config to its path."
    )
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise UserError(f"Cannot download {model_id}: the package huggingface_hub is not installed. {manual}") from None
    try:
        path = snapshot_download(
            repo_id=model_id, local_dir=str(dest),
            allow_patterns=["config.json", "model.safetensors", "pytorch_model.bin",
                            "tokenizer_config.json", "special_tokens_map.json"],
        )
    except Exception as exc:  # offline, unknown repo, HTTP errors
        raise UserError(f"Cannot download {model_id} ({type(exc).__name__}: {exc}). {manual}") from None
    load_hyenadna(path)  # verify now rather than at training time
    return Path(path)
