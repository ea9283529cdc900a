"""OpenSpliceAI checkpoints: key layout, LeakyReLU, BatchNorm folding, a single softmax."""
import numpy as np
import pytest
import torch
from torch import nn

from validsplice.common.rule_io import UserError
from validsplice.scoring.openspliceai import FLANK_UNITS, load_openspliceai_folder


class RefUnit(nn.Module):
    """OpenSpliceAI's residual unit layout (batchnorm1, conv1, batchnorm2, conv2, LeakyReLU 0.1)."""

    def __init__(self, w, ar):
        super().__init__()
        self.batchnorm1, self.batchnorm2 = nn.BatchNorm1d(32), nn.BatchNorm1d(32)
        self.conv1 = nn.Conv1d(32, 32, w, dilation=ar, padding=(w - 1) * ar // 2)
        self.conv2 = nn.Conv1d(32, 32, w, dilation=ar, padding=(w - 1) * ar // 2)

    def forward(self, x):
        out = self.conv1(nn.functional.leaky_relu(self.batchnorm1(x), 0.1))
        return x + self.conv2(nn.functional.leaky_relu(self.batchnorm2(out), 0.1))


class RefSkip(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(32, 32, 1)


class RefModel(nn.Module):
    """Same parameter names as OpenSpliceAI's SpliceAI module; forward returns logits."""

    def __init__(self, flank):
        super().__init__()
        self.initial_conv = nn.Conv1d(4, 32, 1)
        self.initial_skip = RefSkip()
        self.residual_units = nn.ModuleList()
        for i, (w, ar) in enumerate(FLANK_UNITS[flank]):
            self.residual_units.append(RefUnit(w, ar))
            if (i + 1) % 4 == 0:
                self.residual_units.append(RefSkip())
        self.final_conv = nn.Conv1d(32, 3, 1)
        self.flank = flank

    def forward(self, x):
        x = self.initial_conv(x)
        skip = self.initial_skip.conv(x)
        for m in self.residual_units:
            if isinstance(m, RefSkip):
                skip = skip + m.conv(x)
            else:
                x = m(x)
        h = self.flank // 2
        return self.final_conv(skip[:, :, h:skip.shape[-1] - h])


def _random_model(flank, seed):
    torch.manual_seed(seed)
    model = RefModel(flank)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm1d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    return model.eval()


@pytest.mark.parametrize("flank", [80, 400])
def test_checkpoint_folder_matches_reference_module(tmp_path, flank):
    models = [_random_model(flank, s) for s in range(2)]
    for i, m in enumerate(models):
        torch.save(m.state_dict(), tmp_path / f"model_{flank}nt_rs{i}.pt")
    nets = load_openspliceai_folder(tmp_path)
    assert len(nets) == 2 and nets[0].context == flank
    x = torch.nn.functional.one_hot(torch.randint(0, 4, (3, flank + 101)), 4).float().permute(0, 2, 1)
    for net, ref in zip(nets, models):
        with torch.no_grad():
            want = torch.softmax(ref(x), dim=1).transpose(1, 2)
        for got in (net.forward_same(x), net.forward_valid(x)):
            np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-5, rtol=0)
            # probabilities, softmax applied once
            np.testing.assert_allclose(got.sum(-1).numpy(), 1.0, atol=1e-6)


def test_wrong_layout_names_keys(tmp_path):
    state = _random_model(80, 0).state_dict()
    state["extra.weight"] = torch.zeros(1)
    del state["final_conv.bias"]
    torch.save(state, tmp_path / "bad.pt")
    with pytest.raises(UserError, match=r"final_conv\.bias.*extra\.weight"):
        load_openspliceai_folder(tmp_path)
    with pytest.raises(UserError, match="does not exist"):
        load_openspliceai_folder(tmp_path / "nowhere")


def test_short_flank_models_score_with_both_engines(tmp_path):
    """The engines follow the network's context (here 400): fast == plain on SNVs and indels."""
    from pathlib import Path

    from validsplice.io.annotation import GeneAnnotation
    from validsplice.scoring.delta import PlainEngine, Reference, VariantRecord, prepare
    from validsplice.scoring.incremental import IncrementalEngine

    for i in range(2):
        torch.save(_random_model(400, i).state_dict(), tmp_path / f"m{i}.pt")
    nets = load_openspliceai_folder(tmp_path)
    ref = Reference(str(Path(__file__).resolve().parents[1] / "resources/demo/chr2_1-2333275.fa.gz"))
    ann = GeneAnnotation.load("grch38")
    recs = [VariantRecord("chr2", 231193, "T", ("A",)), VariantRecord("chr2", 231200, ref.text("chr2", 231200, 231200).upper(), ("C",)),
            VariantRecord("chr2", 277088, "AAG", ("A",)), VariantRecord("chr2", 275136, "T", ("TTA",)),
            VariantRecord("chr2", 277084, "A", ("G",))]
    recs[1].alts = ("C",) if recs[1].ref != "C" else ("G",)
    tasks = [s.task for rec in prepare(recs, ref, ann, 50, context=400) for s in rec if s.task is not None]
    assert len(tasks) == 5 and all(t.context == 400 for t in tasks)
    plain = list(PlainEngine(nets, ref).run(tasks))
    fast = IncrementalEngine(nets, ref, batch_size=2).compute(tasks)
    for (pr, pa), (fr, fa) in zip(plain, fast):
        np.testing.assert_allclose(fr, pr, atol=1e-5, rtol=0)
        np.testing.assert_allclose(fa, pa, atol=1e-5, rtol=0)
