"""OpenSpliceAI checkpoints: key layout, LeakyReLU, BatchNorm folding, a single softmax."""
import numpy as np
import pytest
import torch
from helpers import random_openspliceai_model

from validsplice.common.rule_io import UserError
from validsplice.scoring.openspliceai import load_openspliceai_folder


@pytest.mark.parametrize("flank", [80, 400])
def test_checkpoint_folder_matches_reference_module(tmp_path, flank):
    models = [random_openspliceai_model(flank, s) for s in range(2)]
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
    state = random_openspliceai_model(80, 0).state_dict()
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
        torch.save(random_openspliceai_model(400, i).state_dict(), tmp_path / f"m{i}.pt")
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
