"""HyenaDNA: network, HF checkpoint loading, tokenizer, frozen / fine-tune heads.

Checkpoints are written in tmp_path in the exact HuggingFace layout (tiny sizes).
"""
import json
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from validsplice.common.rule_io import UserError
from validsplice.common.sequence import encode, reverse_complement_codes
from validsplice.config.registry import build_model
from validsplice.models.hyenadna import HyenaDNA, HyenaDNAConfig, fft_causal_conv
from validsplice.models.hyenadna_checkpoint import (
    codes_to_token_ids,
    download_checkpoint,
    load_hyenadna,
    pad_left,
    save_hf_style_checkpoint,
    tokenize,
)
from validsplice.models.hyenadna_heads import RANDOM_INIT_NOTE, reverse_complement_batch

TINY = dict(d_model=16, n_layer=3, d_inner=32, max_seq_len=66, filter_order=8, emb_dim=5,
            num_inner_mlps=2, activation_freq=10, vocab_size=12)
WINDOW, PROFILE = 48, 9


def tiny_model(seed=0, **over) -> HyenaDNA:
    """Tiny HyenaDNA with every parameter randomised (so a misplaced weight shows)."""
    torch.manual_seed(seed)
    model = HyenaDNA(HyenaDNAConfig(**{**TINY, **over}))
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.3)
    return model


def random_ids(b=2, length=40, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(7, 12, (b, length), generator=g)


def expected_hf_keys(cfg: HyenaDNAConfig, freq_slots) -> set:
    """Key names of a HF HyenaDNAForCausalLM checkpoint, written out independently."""
    keys = {"hyena.backbone.embeddings.word_embeddings.weight", "hyena.backbone.ln_f.weight",
            "hyena.backbone.ln_f.bias", "lm_head.weight"}
    for i in range(cfg.n_layer):
        p = f"hyena.backbone.layers.{i}."
        for name in ("norm1", "norm2", "mlp.fc1", "mlp.fc2", "mixer.in_proj", "mixer.out_proj",
                     "mixer.short_filter", "mixer.filter_fn.implicit_filter.0",
                     "mixer.filter_fn.implicit_filter.2", "mixer.filter_fn.implicit_filter.4"):
            keys |= {f"{p}{name}.weight", f"{p}{name}.bias"}
        f = p + "mixer.filter_fn."
        keys |= {f + "implicit_filter.6.weight", f + "bias", f + "pos_emb.z", f + "pos_emb.t",
                 f + "modulation.deltas"}
        keys |= {f"{f}implicit_filter.{s}.freq" for s in freq_slots}
    return keys


def hf_reference_forward(sd: dict, cfg: HyenaDNAConfig, ids: torch.Tensor) -> torch.Tensor:
    """HF modeling_hyena semantics as plain functional ops on HF-named tensors.

    Independent of our module layout, so it checks that the key map puts every tensor in
    its role (incl. HF's fftconv normalisation: k_f / n with irfft(norm="forward")).
    """
    d, length = cfg.d_model, ids.shape[1]
    h = F.embedding(ids, sd["hyena.backbone.embeddings.word_embeddings.weight"])
    for i in range(cfg.n_layer):
        p = f"hyena.backbone.layers.{i}."
        f = p + "mixer.filter_fn."
        res = h
        x = F.layer_norm(res, (d,), sd[p + "norm1.weight"], sd[p + "norm1.bias"])
        u = F.linear(x, sd[p + "mixer.in_proj.weight"], sd[p + "mixer.in_proj.bias"]).transpose(1, 2)
        u = F.conv1d(u, sd[p + "mixer.short_filter.weight"], sd[p + "mixer.short_filter.bias"],
                     padding=2, groups=3 * d)[..., :length]
        x0, x1, v = u.split(d, dim=1)
        z, t = sd[f + "pos_emb.z"][:, :length], sd[f + "pos_emb.t"][:, :length]
        freq = sd[f + "implicit_filter.1.freq"]
        k = z
        for slot in (0, 2, 4):
            k = torch.sin(freq * F.linear(k, sd[f"{f}implicit_filter.{slot}.weight"], sd[f"{f}implicit_filter.{slot}.bias"]))
        k = F.linear(k, sd[f + "implicit_filter.6.weight"])
        k = (k * (torch.exp(-t * sd[f + "modulation.deltas"].abs()) + 0.05))[0].T
        vv = v * x1
        n = 2 * length
        y = torch.fft.irfft(torch.fft.rfft(vv, n=n) * torch.fft.rfft(k, n=n) / n, n=n, norm="forward")[..., :length]
        vv = y + vv * sd[f + "bias"][:, None]
        res = F.linear((vv * x0).transpose(1, 2), sd[p + "mixer.out_proj.weight"], sd[p + "mixer.out_proj.bias"]) + res
        x = F.layer_norm(res, (d,), sd[p + "norm2.weight"], sd[p + "norm2.bias"])
        x = F.linear(F.gelu(F.linear(x, sd[p + "mlp.fc1.weight"], sd[p + "mlp.fc1.bias"]), approximate="tanh"),
                     sd[p + "mlp.fc2.weight"], sd[p + "mlp.fc2.bias"])
        h = x + res
    return F.layer_norm(h, (d,), sd["hyena.backbone.ln_f.weight"], sd["hyena.backbone.ln_f.bias"],
                        eps=cfg.layer_norm_epsilon)


def read_bin(folder):
    return torch.load(folder / "pytorch_model.bin", weights_only=True)


# ------------------------------------------------------------------ tokenizer
def test_token_ids_match_character_tokenizer():
    codes = encode("ACGTNacgtn")
    assert codes_to_token_ids(codes).tolist() == [7, 8, 9, 10, 11] * 2
    t = codes_to_token_ids(torch.tensor([[0, 1, 2, 3, 4]]))
    assert t.dtype == torch.int64 and t.tolist() == [[7, 8, 9, 10, 11]]
    assert tokenize("acgtnX") == [7, 8, 9, 10, 11, 6]
    assert tokenize("AC", add_sep=True) == [7, 8, 1]
    assert pad_left([[7, 8], [9]], 3).tolist() == [[4, 7, 8], [4, 4, 9]]


def test_reverse_complement_batch_matches_sequence_module():
    codes = np.random.default_rng(0).integers(0, 5, (3, 20)).astype(np.uint8)
    got = reverse_complement_batch(torch.from_numpy(codes).long()).numpy()
    assert np.array_equal(got, reverse_complement_codes(codes))


# ------------------------------------------------------------------ network
def test_fft_long_conv_equals_direct_causal_conv():
    g = torch.Generator().manual_seed(3)
    u, k, D = torch.randn(2, 3, 17, generator=g), torch.randn(3, 17, generator=g), torch.randn(3, generator=g)
    direct = torch.zeros_like(u)
    for i in range(17):
        for j in range(i + 1):
            direct[..., i] += k[:, j] * u[..., i - j]
    direct += u * D[:, None]
    assert torch.allclose(fft_causal_conv(u, k, D), direct, atol=1e-5)


def test_encoder_is_causal():
    model = tiny_model().eval()
    ids = random_ids(1, 30)
    changed = ids.clone()
    changed[0, 20] = 7 if ids[0, 20] != 7 else 8
    with torch.no_grad():
        a, b = model(ids), model(changed)
    assert torch.allclose(a[:, :20], b[:, :20], atol=1e-6)
    assert not torch.allclose(a[:, 20], b[:, 20])


def test_unsupported_config_raises():
    with pytest.raises(UserError, match="hyena_order"):
        HyenaDNAConfig(**{**TINY, "hyena_order": 3})


# ------------------------------------------------------------------ checkpoints
@pytest.mark.parametrize("fmt", ["bin", "safetensors"])
def test_hf_checkpoint_roundtrip(tmp_path, fmt):
    model = tiny_model().eval()
    folder = save_hf_style_checkpoint(model, tmp_path / "ckpt", formats=(fmt,))
    cfg_json = json.loads((folder / "config.json").read_text())
    assert cfg_json["architectures"] == ["HyenaDNAForCausalLM"] and cfg_json["model_type"] == "hyenadna"
    assert cfg_json["max_seq_len"] == 66 and cfg_json["tie_word_embeddings"] is False

    if fmt == "bin":
        keys = set(read_bin(folder))
        assert keys == expected_hf_keys(model.config, freq_slots=(1, 3, 5))
    else:
        from safetensors.torch import load_file

        keys = set(load_file(str(folder / "model.safetensors")))
        assert keys == expected_hf_keys(model.config, freq_slots=(1,))  # shared tensor stored once

    loaded, report = load_hyenadna(folder)
    assert report.weights_file.endswith(fmt) and report.recomputed == [] and report.notes == []
    ids = random_ids()
    with torch.no_grad():
        assert torch.equal(loaded.eval()(ids), model(ids))
        assert torch.equal(loaded.logits(ids), model.logits(ids))
    for (n1, p1), (n2, p2) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert n1 == n2 and torch.equal(p1, p2), n1


def test_our_network_matches_hf_semantics_on_hf_keys(tmp_path):
    model = tiny_model(seed=5).eval()
    folder = save_hf_style_checkpoint(model, tmp_path / "ckpt", formats=("bin",))
    sd = read_bin(folder)
    ids = random_ids(2, 50)
    loaded, _ = load_hyenadna(folder)
    with torch.no_grad():
        ref = hf_reference_forward(sd, model.config, ids)
        assert torch.allclose(loaded.eval()(ids), ref, atol=1e-5)


def test_renamed_key_fails_naming_it(tmp_path):
    folder = save_hf_style_checkpoint(tiny_model(), tmp_path / "ckpt", formats=("bin",))
    sd = read_bin(folder)
    sd["hyena.backbone.layers.1.mlp.fc_1.weight"] = sd.pop("hyena.backbone.layers.1.mlp.fc1.weight")
    torch.save(sd, folder / "pytorch_model.bin")
    with pytest.raises(UserError) as err:
        load_hyenadna(folder)
    assert "hyena.backbone.layers.1.mlp.fc_1.weight" in str(err.value)


def test_missing_weight_fails_naming_it(tmp_path):
    folder = save_hf_style_checkpoint(tiny_model(), tmp_path / "ckpt", formats=("bin",))
    sd = read_bin(folder)
    del sd["hyena.backbone.layers.2.mixer.in_proj.weight"]
    torch.save(sd, folder / "pytorch_model.bin")
    with pytest.raises(UserError, match=r"lacks 1 weight.*blocks\.2\.hyena\.in_proj\.weight"):
        load_hyenadna(folder)


def test_absent_buffers_are_recomputed(tmp_path):
    model = tiny_model().eval()
    folder = save_hf_style_checkpoint(model, tmp_path / "ckpt", formats=("bin",))
    sd = {k: v for k, v in read_bin(folder).items() if not k.endswith(("pos_emb.z", "pos_emb.t", "modulation.deltas"))}
    torch.save(sd, folder / "pytorch_model.bin")
    loaded, report = load_hyenadna(folder)
    assert len(report.recomputed) == 3 * model.config.n_layer
    ids = random_ids()
    with torch.no_grad():
        assert torch.allclose(loaded.eval()(ids), model(ids), atol=1e-6)


def test_config_not_matching_weights_fails(tmp_path):
    folder = save_hf_style_checkpoint(tiny_model(), tmp_path / "ckpt", formats=("safetensors",))
    cfg = json.loads((folder / "config.json").read_text())
    cfg["d_inner"] = 48
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(UserError, match="shapes disagree.*fc1"):
        load_hyenadna(folder)


def test_folder_without_weights_or_config(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        load_hyenadna(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no config.json"):
        load_hyenadna(tmp_path / "empty")
    folder = save_hf_style_checkpoint(tiny_model(), tmp_path / "noweights", formats=())
    with pytest.raises(UserError, match="neither model.safetensors nor pytorch_model.bin"):
        load_hyenadna(folder)


def test_download_without_huggingface_hub_explains(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    with pytest.raises(UserError, match="huggingface_hub is not installed.*checkpoint:"):
        download_checkpoint("LongSafari/hyenadna-small-32k-seqlen-hf", tmp_path / "dl")


# ------------------------------------------------------------------ heads
def batch(b=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    ref = torch.randint(0, 4, (b, WINDOW), generator=g)
    alt = ref.clone()
    alt[:, WINDOW // 2] = (ref[:, WINDOW // 2] + 1) % 4
    return {"ref": ref, "alt": alt, "indel_length": torch.zeros(b), "label": torch.tensor([1.0, 0.0, 1.0])[:b],
            "target_seed": torch.zeros(b, 3), "target_profile": 0.5 * torch.rand(b, PROFILE, 2, generator=g)}


def random_params(**over):
    return {"allow_random_init": True, "random_init_config": {"d_model": 16, "n_layer": 3, "filter_order": 8}, **over}


def test_no_checkpoint_is_a_user_error():
    with pytest.raises(UserError) as err:
        build_model("hyenadna_frozen", {"checkpoint": ""}, window_length=WINDOW, profile_length=PROFILE)
    msg = str(err.value)
    assert "LongSafari/hyenadna-small-32k-seqlen-hf" in msg and "checkpoint:" in msg and "allow_random_init: true" in msg


def test_window_longer_than_lmax_is_a_user_error(tmp_path):
    folder = save_hf_style_checkpoint(tiny_model(), tmp_path / "ckpt", formats=("safetensors",))
    with pytest.raises(UserError, match="window length 100 exceeds.*66"):
        build_model("hyenadna_frozen", {"checkpoint": str(folder)}, window_length=100, profile_length=PROFILE)


def test_frozen_head_forward_outputs():
    torch.manual_seed(0)
    model = build_model("hyenadna_frozen", random_params(), window_length=WINDOW, profile_length=PROFILE)
    assert model.note == RANDOM_INIT_NOTE and model.target_form == "profile"
    assert model.encoder.config.max_seq_len == WINDOW + 2
    with torch.no_grad():
        model.out.weight.normal_(0, 0.5)  # make predictions non-trivial
    b = batch()
    out = model(b)
    assert out["profile"].shape == (3, PROFILE, 2) and out["seed"].shape == (3, 3) and out["score"].shape == (3,)
    prof = out["profile"]
    assert prof.abs().max() <= 1
    assert torch.allclose(out["score"], prof.abs().amax(dim=(1, 2)))
    for i in range(3):
        pos = prof[i].abs().amax(dim=1).argmax()
        assert torch.allclose(out["seed"][i, 1:], prof[i, pos])
        assert torch.allclose(out["seed"][i, 0], -prof[i, pos].sum())
    loss = model.loss(out, b)
    assert torch.allclose(loss, F.mse_loss(prof, b["target_profile"]))


def test_frozen_encoder_gets_no_updates_head_does(tmp_path):
    folder = save_hf_style_checkpoint(tiny_model(), tmp_path / "ckpt", formats=("safetensors",))
    model = build_model("hyenadna_frozen", {"checkpoint": str(folder)}, window_length=WINDOW, profile_length=PROFILE)
    assert "pretrained" in model.note
    model.train()
    assert not model.encoder.training and model.training
    enc_before = {k: v.clone() for k, v in model.encoder.state_dict().items()}
    head_before = model.out.weight.clone()
    groups = model.parameter_groups(1e-2)
    assert [g["name"] for g in groups] == ["head"]
    assert all(p.requires_grad is False for p in model.encoder.parameters())
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)  # even given everything, the encoder must not move
    b = batch()
    model.loss(model(b), b).backward()
    opt.step()
    assert all(torch.equal(v, model.encoder.state_dict()[k]) for k, v in enc_before.items())
    assert not torch.equal(head_before, model.out.weight)


def test_finetune_updates_last_blocks_only():
    torch.manual_seed(0)
    model = build_model("hyenadna_finetune", random_params(encoder_lr_multiplier=0.1), window_length=WINDOW,
                                    profile_length=PROFILE)
    assert model.trainable_blocks == 2 and model.n_frozen_blocks == 1
    groups = model.parameter_groups(1e-2)
    by_name = {g["name"]: g for g in groups}
    assert by_name["head"]["lr"] == pytest.approx(1e-2) and by_name["encoder"]["lr"] == pytest.approx(1e-3)
    enc_ids = {id(p) for p in by_name["encoder"]["params"]}
    expected = {id(p) for blk in model.encoder.blocks[1:] for p in blk.parameters()}
    expected |= {id(p) for p in model.encoder.final_norm.parameters()}
    assert enc_ids == expected
    before = {k: v.clone() for k, v in model.encoder.state_dict().items()}
    opt = torch.optim.SGD(groups, lr=1e-2)
    model.train()
    b = batch()
    model.loss(model(b), b).backward()
    opt.step()
    after = model.encoder.state_dict()
    moved = {k for k in before if not torch.equal(before[k], after[k])}
    assert not any(k.startswith(("blocks.0.", "embedding.")) for k in moved)
    assert any(k.startswith("blocks.1.") for k in moved) and any(k.startswith("blocks.2.") for k in moved)
    assert "final_norm.weight" in moved


def test_finetune_rejects_more_blocks_than_encoder_has():
    with pytest.raises(UserError, match="trainable_blocks=5"):
        build_model("hyenadna_finetune", random_params(trainable_blocks=5), window_length=WINDOW, profile_length=PROFILE)


def test_frozen_rejects_trainable_blocks():
    with pytest.raises(UserError, match="hyenadna_finetune"):
        build_model("hyenadna_frozen", random_params(trainable_blocks=2), window_length=WINDOW, profile_length=PROFILE)


def test_state_dict_roundtrip_rebuilds_the_same_model():
    """predict.py rebuilds with build_model(...) and loads model.pt's state_dict."""
    torch.manual_seed(1)
    a = build_model("hyenadna_finetune", random_params(), window_length=WINDOW, profile_length=PROFILE).eval()
    torch.manual_seed(2)
    b = build_model("hyenadna_finetune", random_params(), window_length=WINDOW, profile_length=PROFILE).eval()
    b.load_state_dict(a.state_dict())
    x = batch()
    with torch.no_grad():
        assert torch.equal(a(x)["profile"], b(x)["profile"])
