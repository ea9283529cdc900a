"""Shapes, losses and invariants of the CNN models (gated_cnn, gated_cnn_paired, binary_cnn)."""
import numpy as np
import pytest
import torch
from helpers import SMALL_CNN, B, L, P, make_batch

import validsplice.config.registry as registry
from validsplice.common.rule_io import UserError
from validsplice.models.layers import GatedEncoder, one_hot_codes, seed_from_profile


def build(name):
    torch.manual_seed(0)
    return registry.build_model(name, SMALL_CNN, window_length=L, profile_length=P)


def test_one_hot_n_is_all_zero():
    codes = torch.tensor([[0, 1, 2, 3, 4]])
    x = one_hot_codes(codes)
    assert x.shape == (1, 4, 5)
    assert torch.equal(x[0, :, :4], torch.eye(4))
    assert torch.all(x[0, :, 4] == 0)


def test_encoder_keeps_length_and_dilations_cycle():
    enc = GatedEncoder(4, 8, n_layers=6, kernel_size=15, dropout=0.0)
    assert [b.conv.dilation[0] for b in enc.blocks] == [1, 2, 4, 8, 1, 2]
    assert enc(torch.zeros(2, 4, 50)).shape == (2, 8, 50)
    assert enc.receptive_field == 1 + 14 * (1 + 2 + 4 + 8 + 1 + 2)


@pytest.mark.parametrize("name,form,key,shape", [
    ("gated_cnn", "seed", "seed", (B, 3)),
    ("gated_cnn_paired", "profile", "profile", (B, P, 2)),
    ("binary_cnn", "binary", "logit", (B,)),
])
def test_forward_and_loss_shapes(name, form, key, shape):
    model = build(name)
    assert model.target_form == form
    batch = make_batch()
    out = model(batch)
    assert out[key].shape == shape
    assert out["score"].shape == (B,)
    loss = model.loss(out, batch)
    assert loss.ndim == 0 and torch.isfinite(loss)
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None for g in grads)


def test_gated_cnn_score_is_max_abs_seed():
    model = build("gated_cnn").eval()
    out = model(make_batch())
    assert torch.allclose(out["score"], out["seed"].abs().amax(dim=1))


def test_paired_profile_bounded_and_seed_read_at_argmax():
    model = build("gated_cnn_paired").eval()
    out = model(make_batch())
    profile = out["profile"]
    assert profile.abs().max() <= 1.0
    assert torch.allclose(out["score"], profile.abs().amax(dim=(1, 2)))
    seed = out["seed"]
    assert torch.allclose(seed[:, 0], -(seed[:, 1] + seed[:, 2]))
    assert torch.allclose(seed[:, 1:].abs().amax(dim=1), out["score"])


def test_paired_sees_the_difference_ref_equal_alt():
    """Same encoder for ref and alt: swapping in ref == alt changes the output (diff features)."""
    model = build("gated_cnn_paired").eval()
    batch = make_batch()
    same = dict(batch, alt=batch["ref"].clone())
    assert not torch.allclose(model(batch)["profile"], model(same)["profile"])


def test_seed_from_profile_matches_numpy_target_rule():
    from validsplice.training.targets import seed_from_profiles
    profile = torch.randn(7, P, 2)
    assert np.allclose(seed_from_profile(profile).numpy(), seed_from_profiles(profile.numpy()), atol=1e-6)


def test_paired_rejects_window_shorter_than_profile():
    with pytest.raises(UserError, match="window_length"):
        registry.build_model("gated_cnn_paired", SMALL_CNN, window_length=11, profile_length=21)


def test_binary_score_is_sigmoid_of_logit():
    model = build("binary_cnn").eval()
    out = model(make_batch())
    assert torch.allclose(out["score"], torch.sigmoid(out["logit"]))


def test_default_hyperparameters_from_the_log():
    model = registry.build_model("gated_cnn", {}, window_length=L, profile_length=P)
    assert len(model.encoder.blocks) == 6
    conv = model.encoder.blocks[0].conv
    assert conv.out_channels == 256 and conv.kernel_size == (15,)


@pytest.mark.parametrize("kernel,dilation", [(15, 4), (4, 2)])
def test_manual_padding_equals_torch_same(kernel, dilation):
    from validsplice.models.layers import GatedResidualBlock
    block = GatedResidualBlock(6, kernel, dilation, 0.0).eval()
    ref = torch.nn.Conv1d(6, 12, kernel, dilation=dilation, padding="same")
    ref.load_state_dict(block.conv.state_dict())
    x = torch.randn(2, 6, 30)
    out, gate = ref(x).chunk(2, dim=1)
    expected = x + block.norm(out * torch.sigmoid(gate))
    assert torch.allclose(block(x), expected, atol=1e-5)


def test_paired_model_with_base_model_input_starts_near_the_base_model_and_learns_to_gate():
    """use_base_model: prediction = gate * base profile + correction; it starts at
    sigmoid(2) * base (zero correction) and can learn to silence a base-model false positive."""
    torch.manual_seed(0)
    model = registry.build_model("gated_cnn_paired", {**SMALL_CNN, "use_base_model": True}, window_length=L,
                                 profile_length=P)
    model.eval()
    batch = make_batch()
    g = torch.Generator().manual_seed(1)
    batch["base_profile"] = (torch.rand(B, P, 2, generator=g) - 0.5)
    out = model(batch)
    expected = torch.sigmoid(torch.tensor(2.0)) * batch["base_profile"]
    torch.testing.assert_close(out["profile"], expected, atol=1e-6, rtol=1e-5)

    # Normal variants (label 0) carry a base-model delta but a zero target: the gate must close.
    batch["target_profile"] = batch["base_profile"] * batch["label"][:, None, None]
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = None
    for _ in range(150):
        opt.zero_grad()
        loss = model.loss(model(batch), batch)
        first = loss.item() if first is None else first
        loss.backward()
        opt.step()
    model.eval()
    scores = model(batch)["score"].detach()
    assert loss.item() < 0.1 * first
    assert scores[batch["label"] == 0].max() < scores[batch["label"] == 1].min()


def test_paired_model_docstring_says_it_can_only_turn_spliceai_down():
    # issue 9, item 9: no claim that the gated model corrects SpliceAI's under-calls
    from validsplice.models.gated_cnn import PairedDeltaProfilePredictor

    doc = " ".join(PairedDeltaProfilePredictor.__doc__.split())
    assert "only to turn the base model *down*" in doc and "cannot learn to detect it" in doc
    assert "under-call" not in doc
