"""One gene per variant, everywhere: the gene chosen at normalization gives the window's
strand, the target profile, the base-model input profile and the spliceai_raw score."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from validsplice.common.sequence import encode, reverse_complement_codes
from validsplice.io.annotation import GeneAnnotation
from validsplice.training.predictions import baseline_predictions
from validsplice.training.targets import base_model_inputs, make_targets
from validsplice.variants.normalize import annotate
from validsplice.variants.windows import build_windows

D = 4
L = 21
LENGTH = 20_000
SEQ = "".join(np.random.default_rng(3).choice(list("ACGT"), size=LENGTH))

# PLUSG (+) comes first in the file and spans MINUSG (-). 1-based exons:
# PLUSG 1000-1200, 9000-9100; MINUSG 4000-4200, 8000-8100; FILL (+) 16000-16100, 17000-17100.
ANNOTATION = (
    "#NAME\tCHROM\tSTRAND\tTX_START\tTX_END\tEXON_START\tEXON_END\n"
    "PLUSG\t1\t+\t999\t15000\t999,8999,\t1200,9100,\n"
    "MINUSG\t1\t-\t3999\t12000\t3999,7999,\t4200,8100,\n"
    "FILL\t1\t+\t15999\t18000\t15999,16999,\t16100,17100,\n"
)


@pytest.fixture
def ref(tmp_path, write_reference):
    fasta, ann = write_reference(tmp_path, SEQ, ANNOTATION)
    return fasta, GeneAnnotation.load(ann)


def _variant(vid, pos, label, split, source_gene=""):
    ref = SEQ[pos - 1]
    return {"variant_id": vid, "chrom": "chr1", "pos": pos, "ref": ref, "alt": "A" if ref != "A" else "C",
            "label": label, "source_gene": source_gene, "split": split}


def _profile(rng, scale):
    """An asymmetric profile, so a wrong orientation or a wrong gene shows."""
    p = rng.uniform(-scale, scale, size=(2 * D + 1, 2))
    p[0] = [scale, -scale]  # the first genomic position holds the extreme
    return p.astype(np.float16)


def test_window_target_base_profile_and_raw_score_come_from_the_same_gene(ref, tmp_path):
    fasta, annotation = ref
    rows = [
        # 2 bp past MINUSG's exon end 8100, 898 bp from PLUSG's 9000: MINUSG (-), although
        # PLUSG is first in the file and the base model scores PLUSG higher
        _variant("near_minus", 8102, "Splice-altering", "test"),
        # the source names PLUSG: PLUSG (+), although MINUSG is nearer and scores higher
        _variant("named_plus", 8104, "Splice-altering", "test", source_gene="PLUSG"),
    ]
    for k, (pos, split) in enumerate([(16050, "train"), (16060, "train"), (17050, "val"), (17060, "val")]):
        rows.append(_variant(f"fill{k}", pos, ["Splice-altering", "Normal"][k % 2], split))
    table = pd.DataFrame(rows)
    variants = annotate(table, annotation, {"chr1": LENGTH})
    by_id = variants.set_index("variant_id")

    # base-model score table: one row per (variant, overlapping gene); the other gene scores higher
    rng = np.random.default_rng(0)
    score_rows, profiles = [], []

    def add(vid, gene, strand, scale):
        p = _profile(rng, scale)
        score_rows.append({"variant_id": vid, "gene": gene, "strand": strand, "max_ds": float(np.abs(p).max()),
                           "status": "scored", "profile_row": len(profiles)})
        profiles.append(p)

    add("near_minus", "PLUSG", "+", 0.9)
    add("near_minus", "MINUSG", "-", 0.3)
    add("named_plus", "PLUSG", "+", 0.2)
    add("named_plus", "MINUSG", "-", 0.8)
    for k in range(4):
        add(f"fill{k}", "FILL", "+", 0.5)
    scores = pd.DataFrame(score_rows)
    profiles = np.stack(profiles)
    own = {"near_minus": 1, "named_plus": 2}  # profile rows of the chosen genes

    windows = build_windows(variants, fasta, length=L)
    tables, out_profiles, _ = make_targets(variants, scores, profiles, distance=D, balance=False,
                                           window_ids=windows["variant_id"])
    base_inputs = base_model_inputs(variants, scores, profiles, distance=D)
    test = tables["test"].set_index("variant_id")

    for vid, minus in (("named_plus", False), ("near_minus", True)):
        i = int(np.flatnonzero(variants["variant_id"] == vid)[0])
        pos = int(variants.loc[i, "pos"])
        genomic = encode(SEQ[pos - 1 - L // 2: pos + L // 2])
        # window on the chosen gene's strand
        np.testing.assert_array_equal(windows["ref"][i], reverse_complement_codes(genomic[None])[0] if minus else genomic)
        # target and base-model input: the chosen gene's profile, oriented like the window
        expected = profiles[own[vid]].astype(np.float32)
        expected = expected[::-1] if minus else expected
        row = test.loc[vid]
        assert row["gene"] == by_id.loc[vid, "gene"]
        np.testing.assert_array_equal(out_profiles[row["profile_row"]], expected)
        np.testing.assert_array_equal(base_inputs[row["window_row"]], expected)
        assert row["spliceai_max_ds"] == pytest.approx(float(np.abs(profiles[own[vid]]).max()))

    # the gene rule: the source's gene when it overlaps, else the nearest exon boundary
    assert tuple(by_id.loc["named_plus", ["gene", "strand", "gene_choice"]]) == ("PLUSG", "+", "source")
    assert tuple(by_id.loc["near_minus", ["gene", "strand", "gene_choice"]]) == ("MINUSG", "-", "nearest exon boundary")

    # the spliceai_raw baseline scores each variant with its chosen gene's score
    test_path = tmp_path / "test.parquet"
    tables["test"].to_parquet(test_path)
    pred = baseline_predictions(test_path=test_path, predictions_path=tmp_path / "p.parquet",
                                history_path=tmp_path / "h.tsv", training_path=tmp_path / "t.json",
                                experiment="spliceai_raw")
    pred = pred.set_index("variant_id")
    assert pred.loc["near_minus", "score"] == pytest.approx(scores.loc[1, "max_ds"])
    assert pred.loc["named_plus", "score"] == pytest.approx(scores.loc[2, "max_ds"])


def test_a_variant_whose_gene_was_not_scored_is_not_given_another_genes_score():
    """If the chosen gene's row is skipped, the variant is unscored; it never borrows the other gene's."""
    variants = pd.DataFrame({"variant_id": ["a"], "label": ["Splice-altering"], "gene": ["MINUSG"], "strand": ["-"],
                             "split": ["test"], "variant_type": ["SNV"], "indel_length": [0], "region": ["intronic"],
                             "nearest_site": ["donor"]})
    scores = pd.DataFrame({"variant_id": ["a", "a"], "gene": ["PLUSG", "MINUSG"], "strand": ["+", "-"],
                           "max_ds": [0.7, np.nan], "status": ["scored", "skipped: fasta issue"],
                           "profile_row": [0, -1]})
    from validsplice.training.targets import choose_score_rows

    chosen = choose_score_rows(variants, scores)
    assert chosen["profile_row"].tolist() == [-1] and np.isnan(chosen["spliceai_max_ds"].iloc[0])
    assert chosen["score_status"].tolist() == ["skipped: fasta issue"]
