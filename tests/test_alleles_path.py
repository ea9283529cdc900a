"""One row per allele, unique ids, through the whole path with library functions:
multiallelic labelled VCF -> ingest -> normalize -> windows -> (fake) base-model scores ->
targets -> spliceai_raw predictions -> evaluation."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from validsplice.evaluation.evaluate import evaluate_model
from validsplice.io.labelled_vcf import ingest_variants
from validsplice.scoring.shards import SCORE_COLUMNS
from validsplice.training.predictions import baseline_predictions
from validsplice.training.targets import build_targets
from validsplice.variants.normalize import normalize_variants
from validsplice.variants.windows import extract_windows

D = 3
LENGTH = 30_000
SEQ = "".join(np.random.default_rng(8).choice(list("ACGT"), size=LENGTH))
ANNOTATION = (
    "#NAME\tCHROM\tSTRAND\tTX_START\tTX_END\tEXON_START\tEXON_END\n"
    "TRAING\t1\t+\t999\t8000\t999,4999,\t1200,8000,\n"
    "VALG\t1\t+\t8999\t15000\t8999,13999,\t9200,15000,\n"
    "TESTG\t1\t-\t15999\t25000\t15999,23999,\t16200,25000,\n"
)


def other_bases(pos):
    return [b for b in "ACGT" if b != SEQ[pos - 1]]


def vcf_line(vid, pos, alts, label):
    return f"chr1\t{pos}\t{vid}\t{SEQ[pos - 1]}\t{','.join(alts)}\t.\t.\tCLASS={label}"


@pytest.fixture
def inputs(tmp_path, write_reference):
    fasta, ann = write_reference(tmp_path, SEQ, ANNOTATION)
    lines = []
    for k, start in enumerate((2000, 10000)):  # TRAING and VALG: both classes each
        for j in range(6):
            label = "Splice-altering" if j % 2 == 0 else "Normal"
            lines.append(vcf_line(f"f{k}_{j}", start + 10 * j, other_bases(start + 10 * j)[:1], label))
    m1, m2, m3 = other_bases(18000)
    lines += [
        vcf_line("multi", 18000, [m1, m2, m3], "Splice-altering"),     # 3 alleles -> 3 rows
        vcf_line("withref", 18100, [other_bases(18100)[0], SEQ[18099]], "Splice-altering"),  # T -> C,T
        vcf_line("rs9", 18200, other_bases(18200)[:1], "Normal"),       # an rsID reused ...
        vcf_line("rs9", 18300, other_bases(18300)[:1], "Splice-altering"),  # ... for another variant
        vcf_line("single", 18400, other_bases(18400)[:1], "Normal"),
    ]
    vcf = tmp_path / "in.vcf"
    vcf.write_text("\n".join([
        "##fileformat=VCFv4.2", f"##contig=<ID=chr1,length={LENGTH}>",
        '##INFO=<ID=CLASS,Number=1,Type=String,Description="class">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO", *sorted(lines, key=lambda x: int(x.split("\t")[1])),
    ]) + "\n")
    return tmp_path, fasta, ann, vcf, len(lines)


def fake_scores(variants: pd.DataFrame):
    """One scored row per variant and its gene, a distinct score per allele (the ALT decides)."""
    per_alt = {"A": 0.11, "C": 0.42, "G": 0.73, "T": 0.94}
    rows, profiles = [], []
    for v in variants.itertuples(index=False):
        value = per_alt[v.alt]
        p = np.zeros((2 * D + 1, 2), dtype=np.float16)
        p[D, 1] = value
        rows.append({"variant_id": v.variant_id, "chrom": v.chrom, "pos": v.pos, "ref": v.ref, "alt": v.alt,
                     "gene": v.gene, "strand": v.strand, "DS_AG": 0.0, "DS_AL": 0.0, "DS_DG": value, "DS_DL": 0.0,
                     "max_ds": float(np.float16(value)), "status": "scored", "flags": "", "profile_row": len(profiles)})
        profiles.append(p)
    return pd.DataFrame(rows).reindex(columns=SCORE_COLUMNS), np.stack(profiles), per_alt


def test_multiallelic_vcf_to_evaluation_scores_each_allele_with_unique_ids(inputs):
    tmp, fasta, ann, vcf, n_records = inputs
    f = {k: tmp / v for k, v in dict(ing="ing.vcf.gz", ingrej="ingrej.tsv", norm="norm.vcf.gz", table="v.parquet",
                                      rej="rej.tsv", summary="s.json", windows="w.npz").items()}
    ingest_variants(vcf, fasta, f["ing"], f["ingrej"], source="vcf", label_field="CLASS")
    normalize_variants(f["ing"], fasta, f["ingrej"], f["norm"], f["table"], f["rej"], f["summary"],
                       annotation=str(ann),
                       split={"mode": "gene", "test_genes": ["TESTG"], "validation_fraction": 0.5, "seed": 0})
    variants = pd.read_parquet(f["table"])
    summary = json.loads(f["summary"].read_text())

    # one row per allele, unique ids, ALT = REF rejected, rows balance
    assert variants["variant_id"].is_unique
    multi = variants[variants["source_id"] == "multi"]
    assert sorted(multi["alt"]) == sorted(other_bases(18000)) and multi["variant_id"].is_unique
    withref = variants[variants["source_id"] == "withref"]
    assert list(withref["alt"]) == [other_bases(18100)[0]]
    rs9 = variants[variants["source_id"] == "rs9"].set_index("pos")
    assert rs9["variant_id"].is_unique and rs9.loc[18200, "label"] == "Normal" and rs9.loc[18300, "label"] == "Splice-altering"
    assert variants.loc[variants["source_id"] == "single", "variant_id"].tolist() == ["single"]
    rej = pd.read_csv(f["rej"], sep="\t", dtype=str)
    assert rej.loc[rej["stage"] == "allele_split", "variant_id"].tolist() == ["withref"]
    rows = summary["rows"]
    assert rows["input"] == n_records and rows["added_by_splitting"] == 3 and rows["rejected"] == 1
    assert rows["input"] + rows["added_by_splitting"] == rows["output"] + rows["rejected"] + rows["merged_as_duplicates"]
    assert rows["output"] == len(variants) == n_records + 2

    windows = extract_windows(f["table"], fasta, f["windows"], length=11)
    assert list(windows["variant_id"]) == list(variants["variant_id"])

    scores, profiles, per_alt = fake_scores(variants)
    scores.to_parquet(tmp / "scores.parquet")
    np.save(tmp / "delta.npy", profiles)
    t = {k: tmp / "targets" / f"{k}.parquet" for k in ("train", "val", "test")}
    build_targets(variants_path=f["table"], windows_path=f["windows"], scores_path=tmp / "scores.parquet",
                  profiles_path=tmp / "delta.npy", train_path=t["train"], val_path=t["val"], test_path=t["test"],
                  out_profiles_path=tmp / "targets" / "profiles.npy", summary_path=tmp / "targets" / "summary.json",
                  base_profiles_path=tmp / "targets" / "base.npy", seed=0, balance=False, distance=D)
    test = pd.read_parquet(t["test"])
    assert test["variant_id"].is_unique and set(test["variant_id"]) == set(variants.loc[variants["split"] == "test", "variant_id"])

    pred_path = tmp / "m" / "predictions.parquet"
    pred = baseline_predictions(test_path=t["test"], predictions_path=pred_path, history_path=tmp / "m" / "h.tsv",
                                training_path=tmp / "m" / "training.json", experiment="spliceai_raw")
    pred = pred.merge(variants[["variant_id", "alt"]], on="variant_id")
    # each allele keeps its own score (not the larger allele's)
    expected = pred["alt"].map(lambda a: float(np.float16(per_alt[a])))
    np.testing.assert_allclose(pred["score"].to_numpy(), expected.to_numpy(), rtol=1e-6)
    assert pred.loc[pred["variant_id"].isin(multi["variant_id"]), "score"].nunique() == 3

    metrics = evaluate_model(str(pred_path), str(pred_path), str(tmp / "m" / "training.json"), str(t["test"]),
                             str(tmp / "m" / "metrics.json"), str(tmp / "m" / "breakdown.tsv"),
                             experiment="spliceai_raw", n_bootstrap=20)
    n_test = int((variants["split"] == "test").sum())
    assert metrics["counts"]["test_rows"] == n_test == 3 + 1 + 2 + 1
    assert metrics["counts"]["per_class"]["Splice-altering"] == 5 and metrics["counts"]["per_class"]["Normal"] == 2
    assert metrics["vs_baseline"]["n_matched"] == n_test

    # the report's data summary states the row accounting
    from validsplice.report.data_summary import data_summary_html

    page = data_summary_html(summary, {}, json.loads((tmp / "targets" / "summary.json").read_text()), rej)
    assert (f"{n_records} input rows + 3 rows added by splitting multiallelic records = {len(variants)} variants "
            "+ 1 rejected + 0 merged duplicates") in page
    assert "Variants without a base-model score" in page
