"""`validsplice predict`: the same P_SA as the workflow's prediction path, from a model folder that
still works when copied elsewhere; clear errors for bad inputs.

The fixture runs the workflow's own library stages on a few demo variants (ingest, normalize,
base-model scoring, targets, training a tiny network) and writes the model folder as the rules do.
"""
from __future__ import annotations

import json
import shutil
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pysam
import pytest

from validsplice.__main__ import main
from validsplice.apply.model_folder import load_model_folder, write_manifest
from validsplice.apply.predict import predict_variant_table, predict_vcf
from validsplice.common.rule_io import UserError
from validsplice.io.labelled_vcf import ingest_variants
from validsplice.scoring.shards import gather_scores, score_shard
from validsplice.training.gbm import train_gbm_experiment
from validsplice.training.loop import train_experiment
from validsplice.training.predictions import baseline_predictions
from validsplice.training.targets import build_targets
from validsplice.variants.normalize import normalize_variants
from validsplice.variants.windows import extract_windows

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "resources" / "demo"
FASTA = str(DEMO / "chr2_1-2333275.fa.gz")
BASE = {"name": "spliceai", "distance": 50, "mask": 0}
SPLIT_OF_GENE = {"ACP1": "train", "TMEM18": "val", "TPO": "test", "SH3YL1": "test"}  # TPO +, SH3YL1 - strand
PER_GENE = {"Splice-altering": 3, "Normal": 2, "Low-frequency": 1}


def calibrator_class():
    """The calibration module's Calibrator; a minimal stand-in (Platt-like map) where it is absent."""
    try:
        from validsplice.training.calibration import Calibrator

        return Calibrator
    except ImportError:
        pass

    class Calibrator:  # the API validsplice.training.calibration provides: fit, apply, to_dict/from_dict, save/load
        def __init__(self, slope, intercept):
            self.slope, self.intercept = slope, intercept

        @classmethod
        def fit(cls, scores, labels, prevalence=None, **_):
            scores = np.asarray(scores, float)
            spread = float(scores.std()) or 1.0
            return cls(1.0 / spread, -float(scores.mean()) / spread + float(np.log(prevalence / (1 - prevalence))))

        def apply(self, scores):
            return 1.0 / (1.0 + np.exp(-(self.slope * np.asarray(scores, float) + self.intercept)))

        def save(self, path):
            Path(path).write_text(json.dumps({"slope": self.slope, "intercept": self.intercept}))

        @classmethod
        def load(cls, path):
            return cls(**json.loads(Path(path).read_text()))

    module = types.ModuleType("validsplice.training.calibration")
    module.Calibrator = Calibrator
    sys.modules["validsplice.training.calibration"] = module
    return Calibrator


def demo_subset(path: Path) -> None:
    """A few demo rows per (gene, class) of the genes in SPLIT_OF_GENE, in file order."""
    table = pd.read_csv(DEMO / "splicevardb_demo.tsv", sep="\t", dtype=str, keep_default_na=False)
    parts = [table[(table["gene"] == g) & (table["classification"] == c)].head(n)
             for g in SPLIT_OF_GENE for c, n in PER_GENE.items()]
    pd.concat(parts).sort_index().to_csv(path, sep="\t", index=False, quoting=3)



def gbm_rule_paths(d: Path, t: dict, folder: Path) -> dict:
    """train_gbm_experiment's inputs (the workflow fixture's folder ``d``, target tables ``t``) and outputs
    (in the model folder ``folder``)."""
    return dict(variants_path=d / "variants.parquet", scores_path=d / "scores.parquet",
                train_labelled_path=t["train_labelled"], val_labelled_path=t["val_labelled"], val_path=t["val"],
                test_path=t["test"], target_summary_path=d / "targets_summary.json",
                model_path=folder / "model.joblib", history_path=folder / "history.tsv",
                predictions_path=folder / "predictions.parquet",
                val_predictions_path=folder / "val_predictions.parquet", training_path=folder / "training.json")

@pytest.fixture(scope="module")
def workflow(tmp_path_factory):
    """Run the workflow's stages on demo variants; returns paths and the experiments' folders."""
    Calibrator = calibrator_class()
    d = tmp_path_factory.mktemp("wf")
    demo_subset(d / "variants.tsv")
    ingest_variants(d / "variants.tsv", FASTA, d / "ingested.vcf.gz", d / "ingest_rejected.tsv")
    normalize_variants(d / "ingested.vcf.gz", FASTA, d / "ingest_rejected.tsv", d / "normalized.vcf.gz",
                       d / "variants.parquet", d / "rejected.tsv", d / "summary.json", annotation="grch38",
                       split={"mode": "gene", "test_genes": ["TPO"], "validation_fraction": 0.0})
    variants = pd.read_parquet(d / "variants.parquet")
    variants["split"] = variants["gene"].map(SPLIT_OF_GENE).fillna("train")
    variants.to_parquet(d / "variants.parquet", index=False)
    extract_windows(d / "variants.parquet", FASTA, d / "windows.npz", length=501)
    score_shard(str(d / "variants.parquet"), FASTA, str(d / "s0.parquet"), str(d / "s0.npy"), distance=50,
                device="cpu", threads=1, batch_size=16)
    gather_scores([str(d / "s0.parquet")], [str(d / "s0.npy")], str(d / "scores.parquet"),
                  str(d / "delta_profiles.npy"), str(d / "scores_summary.json"))
    t = {name: d / f"{name}.parquet" for name in ("train", "val", "test", "train_labelled", "val_labelled")}
    build_targets(variants_path=d / "variants.parquet", windows_path=d / "windows.npz",
                  scores_path=d / "scores.parquet", profiles_path=d / "delta_profiles.npy", train_path=t["train"],
                  val_path=t["val"], test_path=t["test"], out_profiles_path=d / "profiles.npy",
                  summary_path=d / "targets_summary.json", base_profiles_path=d / "base_profiles.npy", distance=50,
                  train_labelled_path=t["train_labelled"], val_labelled_path=t["val_labelled"])
    models = d / "models"
    # a network reading SpliceAI's delta profile, on windows cropped to 201 of the stored 501 bases
    exp = models / "paired_spliceai"
    exp.mkdir(parents=True)
    train_experiment(train_path=t["train"], val_path=t["val"], test_path=t["test"], profiles_path=d / "profiles.npy",
                     windows_path=d / "windows.npz", base_profiles_path=d / "base_profiles.npy",
                     model_path=exp / "model.pt", history_path=exp / "history.tsv",
                     predictions_path=exp / "predictions.parquet", training_path=exp / "training.json",
                     experiment="paired_spliceai", model_name="gated_cnn_paired",
                     settings={"epochs": 2, "hidden_dim": 8, "n_layers": 2, "kernel_size": 5, "batch_size": 4,
                               "window_length": 201, "use_base_model": True, "device": "cpu", "seed": 1})
    raw = models / "spliceai_raw"
    baseline_predictions(test_path=t["test"], predictions_path=raw / "predictions.parquet",
                         history_path=raw / "history.tsv", training_path=raw / "training.json",
                         experiment="spliceai_raw")
    val = pd.read_parquet(t["val"])  # any calibrator fitted off the test split will do for equality

    def fit_calibrator(folder):
        calibrator = Calibrator.fit(val["spliceai_max_ds"].fillna(0.0).to_numpy() + np.linspace(0, 0.1, len(val)),
                                    (val["label"] == "Splice-altering").to_numpy(), 0.3)
        calibrator.save(folder / "calibrator.json")

    fit_calibrator(raw)  # spliceai_raw's: the offset the trees of spliceai_features_gbm start from
    # the feature models, trained by their rule's function (tiny trees: a few demo variants)
    trees = {}
    for name, model in (("features_gbm", "spliceai_features_gbm"), ("position_only_gbm", "position_only_gbm")):
        folder = trees[name] = models / name
        train_gbm_experiment(
            **gbm_rule_paths(d, t, folder),
            experiment=name, model_name=model, threads=1, base_calibrator_path=raw / "calibrator.json",
            settings={"max_iter": 15, "learning_rate": 0.3, "min_samples_leaf": 1, "max_leaf_nodes": 4,
                      "early_stopping": False, "seed": 0})
    for folder in (exp, raw, *trees.values()):
        if folder is not raw:
            fit_calibrator(folder)
        write_manifest(training_path=folder / "training.json", manifest_path=folder / "model.json",
                       base_model=BASE, annotation="grch38")
    return {"dir": d, "models": {"paired_spliceai": exp, "spliceai_raw": raw}, "trees": trees,
            "Calibrator": Calibrator}


def expected_p_sa(folder: Path, Calibrator) -> pd.DataFrame:
    """The workflow's test predictions with P_SA = the experiment's calibrator applied to its score."""
    predictions = pd.read_parquet(folder / "predictions.parquet")
    calibrator = Calibrator.load(folder / "calibrator.json")
    return predictions.assign(p_sa=np.asarray(calibrator.apply(predictions["score"].to_numpy()), float))


def vcf_key(chrom, pos, ref, alt):
    return f"{chrom}:{pos}:{ref}:{alt}"


def read_tsv(path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", na_values=".", keep_default_na=False)


def test_predict_gives_the_workflows_p_sa(workflow, tmp_path):
    d = workflow["dir"]
    folders = [str(f) for f in workflow["models"].values()]
    counts = predict_vcf(d / "normalized.vcf.gz", tmp_path / "out.vcf.gz", FASTA, "grch38", folders,
                         tsv_path=tmp_path / "out.tsv", device="cpu", threads=1, batch_size=3, chunk_records=7)
    variants = pd.read_parquet(d / "variants.parquet")
    assert counts["records"] == len(variants)
    rows = read_tsv(tmp_path / "out.tsv")
    rows["key"] = [vcf_key(*r) for r in rows[["chrom", "pos", "ref", "alt"]].itertuples(index=False)]
    variants["key"] = [vcf_key(*r) for r in variants[["chrom", "pos", "ref", "alt"]].itertuples(index=False)]
    chosen = variants.merge(rows, on=["key", "gene", "strand"], how="left", suffixes=("", "_tsv"))
    n_checked = 0
    for name, folder in workflow["models"].items():
        expected = expected_p_sa(folder, workflow["Calibrator"]).merge(chosen, on="variant_id")
        assert len(expected) == (variants["split"] == "test").sum() > 8
        assert set(expected["strand"]) == {"+", "-"}
        assert expected["status"].eq("scored").all()
        np.testing.assert_allclose(expected[f"SCORE_{name}"], expected["score"], rtol=0, atol=1e-5)
        np.testing.assert_allclose(expected[f"P_SA_{name}"], expected["p_sa"], rtol=0, atol=1e-6)
        n_checked += len(expected)
        assert expected["p_sa"].nunique() > 3  # a constant would prove nothing
    assert n_checked > 16
    # the VCF carries the same numbers (4 decimals), SpliceAI= beside them
    with pysam.VariantFile(str(tmp_path / "out.vcf.gz")) as vcf:
        assert "VALIDSPLICE" in vcf.header.info and "SpliceAI" in vcf.header.info
        entries = {}
        for rec in vcf:
            assert rec.info.get("SpliceAI")
            for e in rec.info["VALIDSPLICE"]:
                allele, gene, p_sa, score, experiment, _ = e.split("|")
                entries[(vcf_key(rec.chrom, rec.pos, rec.ref, allele), gene, experiment)] = float(p_sa)
    expected = expected_p_sa(workflow["models"]["paired_spliceai"], workflow["Calibrator"]).merge(variants, on="variant_id")
    for key, gene, p in expected[["key", "gene", "p_sa"]].itertuples(index=False):
        assert abs(entries[(key, gene, "paired_spliceai")] - p) <= 5e-5


def test_copied_model_folder_still_predicts(workflow, tmp_path):
    d = workflow["dir"]
    copy = tmp_path / "elsewhere" / "my_model"
    shutil.copytree(workflow["models"]["paired_spliceai"], copy)
    manifest = (copy / "model.json").read_text()
    assert str(d) not in manifest and "/" not in json.loads(manifest)["files"]["weights"]
    variants = pd.read_parquet(d / "variants.parquet")
    test = variants[variants["split"] == "test"].reset_index(drop=True)
    _, copied = predict_variant_table(test, FASTA, "grch38", [load_model_folder(copy)], batch_size=4)
    expected = expected_p_sa(workflow["models"]["paired_spliceai"], workflow["Calibrator"]).set_index("variant_id")
    np.testing.assert_allclose(copied["paired_spliceai"][1], expected.loc[test["variant_id"], "p_sa"], atol=1e-6)


def test_multiallelic_and_unscorable_records(workflow, tmp_path):
    d = workflow["dir"]
    src = tmp_path / "in.vcf"
    variants = pd.read_parquet(d / "variants.parquet")
    snv = variants[(variants["variant_type"] == "SNV") & (variants["gene"] == "TPO")].iloc[0]
    alts = [b for b in "ACGT" if b != snv["ref"]][:2]
    with pysam.FastaFile(FASTA) as fa:
        two = fa.fetch("chr2", int(snv["pos"]) - 1, int(snv["pos"]) + 1).upper()
    src.write_text("\n".join([
        "##fileformat=VCFv4.2", "##contig=<ID=chr2,length=2333275>",
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
        f"chr2\t{snv['pos']}\tmulti\t{snv['ref']}\t{','.join(alts)}\t.\t.\t.",  # two ALTs: an entry each
        f"chr2\t{snv['pos']}\tmnv\t{two}\t{alts[0]}{alts[1]}\t.\t.\t.",  # MNV: SpliceAI has no delta
        "chr2\t150000\tnogene\tA\tC\t.\t.\t.",  # no gene: skipped like score
    ]) + "\n")
    counts = predict_vcf(src, tmp_path / "out.vcf", FASTA, "grch38", [str(workflow["models"]["paired_spliceai"])],
                         tsv_path=tmp_path / "out.tsv", device="cpu")
    with pysam.VariantFile(str(tmp_path / "out.vcf")) as vcf:
        recs = {r.id: r for r in vcf}
    multi = [e.split("|") for e in recs["multi"].info["VALIDSPLICE"]]
    assert [e[0] for e in multi] == alts and all(e[2] != "." for e in multi)
    assert "VALIDSPLICE" not in recs["nogene"].info and "SpliceAI" not in recs["nogene"].info
    assert recs["mnv"].info["SpliceAI"][0].endswith("|TPO|.|.|.|.|.|.|.|.")
    mnv = [e.split("|") for e in recs["mnv"].info["VALIDSPLICE"]]
    assert [e[1:3] for e in mnv] == [["TPO", "."]]  # the model needs SpliceAI's delta: no guessed P_SA
    rows = read_tsv(tmp_path / "out.tsv")
    assert len(rows) >= 4 and "skipped: no gene" in set(rows["status"])  # nothing dropped silently
    assert counts["records"] == 3


def test_bad_inputs_give_clear_errors(workflow, tmp_path):
    d, folder = workflow["dir"], workflow["models"]["paired_spliceai"]
    vcf = d / "normalized.vcf.gz"
    with pytest.raises(UserError, match="no such folder"):
        predict_vcf(vcf, tmp_path / "o.vcf", FASTA, "grch38", [str(tmp_path / "missing")])
    bare = tmp_path / "bare"
    bare.mkdir()
    with pytest.raises(UserError, match="no model.json.*model_manifest"):
        predict_vcf(vcf, tmp_path / "o.vcf", FASTA, "grch38", [str(bare)])
    no_cal = tmp_path / "no_cal"
    shutil.copytree(folder, no_cal)
    (no_cal / "calibrator.json").unlink()
    with pytest.raises(UserError, match="no calibrator.*calibrate_model"):
        predict_vcf(vcf, tmp_path / "o.vcf", FASTA, "grch38", [str(no_cal)])
    other = tmp_path / "other_distance"
    shutil.copytree(folder, other)
    manifest = json.loads((other / "model.json").read_text())
    manifest["experiment"], manifest["base_model"]["distance"] = "other", 100
    (other / "model.json").write_text(json.dumps(manifest))
    with pytest.raises(UserError, match="distance 100 differs"):
        predict_vcf(vcf, tmp_path / "o.vcf", FASTA, "grch38", [str(folder), str(other)])
    with pytest.raises(UserError, match="does not exist"):
        predict_vcf(tmp_path / "absent.vcf", tmp_path / "o.vcf", FASTA, "grch38", [str(folder)])
    with pytest.raises(UserError, match="overwrite the input"):
        predict_vcf(vcf, vcf, FASTA, "grch38", [str(folder)])
    with pytest.raises(UserError, match="does not exist"):
        predict_vcf(vcf, tmp_path / "nowhere" / "o.vcf", FASTA, "grch38", [str(folder)])
    (tmp_path / "garbage.vcf").write_text("not a vcf\n")
    assert main(["predict", "-I", str(tmp_path / "garbage.vcf"), "-O", str(tmp_path / "o.vcf"), "-R", FASTA,
                 "-A", "grch38", "--model", str(folder), "--device", "cpu"]) == 1


def test_feature_models_predict_the_workflows_p_sa(workflow, tmp_path):
    """The trees' model folder: a feature_model manifest, model.joblib and the calibrator; predict builds each
    feature with the training functions and gives the workflow's P_SA for every test variant."""
    d, trees = workflow["dir"], workflow["trees"]
    for name, folder in trees.items():
        manifest = json.loads((folder / "model.json").read_text())
        training = json.loads((folder / "training.json").read_text())
        assert manifest["kind"] == "feature_model" and manifest["files"]["trees"] == "model.joblib"
        assert manifest["files"]["weights"] is None and manifest["features"] == training["features"]
        assert manifest["reads_base_model_delta"] == (name == "features_gbm")
        loaded = load_model_folder(folder)
        assert loaded.trees["model"] == manifest["model"] and loaded.needs_base_model_delta == (name == "features_gbm")
    # through the command line, as a user runs it
    assert main(["predict", "-I", str(d / "normalized.vcf.gz"), "-O", str(tmp_path / "out.vcf.gz"), "-R", FASTA,
                 "-A", "grch38", "--model", str(trees["features_gbm"]), "--model", str(trees["position_only_gbm"]),
                 "--tsv", str(tmp_path / "out.tsv"), "--device", "cpu"]) == 0
    variants = pd.read_parquet(d / "variants.parquet")
    rows = read_tsv(tmp_path / "out.tsv")
    rows["key"] = [vcf_key(*r) for r in rows[["chrom", "pos", "ref", "alt"]].itertuples(index=False)]
    variants["key"] = [vcf_key(*r) for r in variants[["chrom", "pos", "ref", "alt"]].itertuples(index=False)]
    chosen = variants.merge(rows, on=["key", "gene", "strand"], how="left", suffixes=("", "_tsv"))
    for name, folder in trees.items():
        expected = expected_p_sa(folder, workflow["Calibrator"]).merge(chosen, on="variant_id")
        assert len(expected) == (variants["split"] == "test").sum() > 8
        assert expected["workflow_gene"].astype(str).eq("True").all()
        np.testing.assert_allclose(expected[f"SCORE_{name}"], expected["score"], rtol=0, atol=1e-6)
        np.testing.assert_allclose(expected[f"P_SA_{name}"], expected["p_sa"], rtol=0, atol=1e-6)
        assert expected["p_sa"].notna().all() and expected["p_sa"].nunique() > 1  # a constant would prove little


def test_feature_models_on_a_variant_without_a_base_model_score(workflow, tmp_path):
    """An MNV has no SpliceAI delta: the trees reading DS give no P_SA, the position-only trees give one."""
    d, trees = workflow["dir"], workflow["trees"]
    variants = pd.read_parquet(d / "variants.parquet")
    snv = variants[(variants["variant_type"] == "SNV") & (variants["gene"] == "TPO")].iloc[0]
    with pysam.FastaFile(FASTA) as fa:
        two = fa.fetch("chr2", int(snv["pos"]) - 1, int(snv["pos"]) + 1).upper()
    alt = "".join("A" if b != "A" else "C" for b in two)
    src = tmp_path / "mnv.vcf"
    src.write_text("\n".join(["##fileformat=VCFv4.2", "##contig=<ID=chr2,length=2333275>",
                              "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
                              f"chr2\t{snv['pos']}\tmnv\t{two}\t{alt}\t.\t.\t."]) + "\n")
    predict_vcf(src, tmp_path / "out.vcf", FASTA, "grch38", [str(f) for f in trees.values()],
                tsv_path=tmp_path / "out.tsv", device="cpu")
    with pysam.VariantFile(str(tmp_path / "out.vcf")) as vcf:
        entries = {e.split("|")[4]: e.split("|") for rec in vcf for e in rec.info["VALIDSPLICE"]}
    assert entries["features_gbm"][2] == "."  # no DS: no guessed P_SA
    assert 0 < float(entries["position_only_gbm"][2]) < 1


ANNOTATION = (  # PLUSG (+) spans MINUSG (-); 1-based exons PLUSG 1000-1200, 9000-9100; MINUSG 4000-4200, 8000-8100
    "#NAME\tCHROM\tSTRAND\tTX_START\tTX_END\tEXON_START\tEXON_END\n"
    "PLUSG\t1\t+\t999\t15000\t999,8999,\t1200,9100,\n"
    "MINUSG\t1\t-\t3999\t12000\t3999,7999,\t4200,8100,\n"
)


def test_one_entry_per_overlapping_gene_says_which_is_the_workflows_gene(workflow, tmp_path, write_reference):
    """Both overlapping genes get an entry; WORKFLOW_GENE marks the one normalize's gene rule picks (the
    nearest exon boundary, or the source's gene from INFO GENE), and its position columns are annotate()'s."""

    from validsplice.apply.predict import gene_rows_position
    from validsplice.io.annotation import GeneAnnotation
    from validsplice.variants.normalize import annotate

    seq = "".join(np.random.default_rng(3).choice(list("ACGT"), size=20_000))
    fasta, genes = write_reference(tmp_path, seq, ANNOTATION)
    alt = {pos: "A" if seq[pos - 1] != "A" else "C" for pos in (8102, 8104)}
    src = tmp_path / "two_genes.vcf"
    src.write_text("\n".join([
        "##fileformat=VCFv4.2", "##contig=<ID=chr1,length=20000>",
        '##INFO=<ID=GENE,Number=1,Type=String,Description="source gene">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
        f"chr1\t8102\tnear_minus\t{seq[8101]}\t{alt[8102]}\t.\t.\t.",  # 2 bp from MINUSG's exon: MINUSG
        f"chr1\t8104\tnamed_plus\t{seq[8103]}\t{alt[8104]}\t.\t.\tGENE=PLUSG",  # the source names PLUSG
    ]) + "\n")
    predict_vcf(src, tmp_path / "out.vcf", str(fasta), str(genes), [str(workflow["trees"]["position_only_gbm"])],
                tsv_path=tmp_path / "out.tsv", device="cpu")
    with pysam.VariantFile(str(tmp_path / "out.vcf")) as vcf:
        entries = {rec.id: sorted(tuple(e.split("|")[i] for i in (1, 5)) for e in rec.info["VALIDSPLICE"])
                   for rec in vcf}
    assert entries == {"near_minus": [("MINUSG", "1"), ("PLUSG", "0")], "named_plus": [("MINUSG", "0"), ("PLUSG", "1")]}
    tsv = read_tsv(tmp_path / "out.tsv")
    assert len(tsv) == 4 and tsv["workflow_gene"].astype(str).value_counts().to_dict() == {"True": 2, "False": 2}
    # the chosen rows' position columns are the variant table's (annotate, the workflow's function)
    annotation = GeneAnnotation.load(genes)
    table = pd.DataFrame({"variant_id": ["near_minus", "named_plus"], "chrom": "chr1", "pos": [8102, 8104],
                          "ref": [seq[8101], seq[8103]], "alt": [alt[8102], alt[8104]], "source_gene": ["", "PLUSG"]})
    workflow_rows = annotate(table, annotation, {"chr1": 20_000})
    rows = gene_rows_position(pd.concat([workflow_rows.assign(gene=g, strand=s) for g, s in
                                         (("PLUSG", "+"), ("MINUSG", "-"))], ignore_index=True), annotation)
    picked = rows[rows["workflow_gene"]].set_index("variant_id").loc[workflow_rows["variant_id"]]
    assert list(picked["gene"]) == list(workflow_rows["gene"]) == ["MINUSG", "PLUSG"]
    for column in ("exon_distance", "region", "nearest_site", "variant_type", "indel_length"):
        assert list(picked[column]) == list(workflow_rows[column]), column


# ------------------------------------------------------------------ several base models (issue 20)
@pytest.fixture(scope="module")
def pangolin_gbm(workflow, tmp_path_factory, pangolin_model_dir):
    """spliceai_features_gbm trained, as the workflow's rules do with config base_models.pangolin, on SpliceAI's
    and Pangolin's scores of the fixture's variants (Pangolin: the committed fixture weights), and its folder."""
    from validsplice.scoring.pangolin.shards import score_pangolin_shard

    d = workflow["dir"]
    p = tmp_path_factory.mktemp("pangolin")
    weights = pangolin_model_dir(p / "weights")
    score_pangolin_shard(str(d / "variants.parquet"), FASTA, str(p / "s0.parquet"), str(p / "s0.npy"),
                         pangolin_dir=str(weights), distance=50, mask=True, device="cpu", threads=1)
    gather_scores([str(p / "s0.parquet")], [str(p / "s0.npy")], str(p / "scores.parquet"), str(p / "profiles.npy"),
                  str(p / "summary.json"))
    folder = d / "models" / "two_base_models_gbm"
    raw = workflow["models"]["spliceai_raw"]
    t = {name: d / f"{name}.parquet" for name in ("train", "val", "test", "train_labelled", "val_labelled")}
    train_gbm_experiment(
        **gbm_rule_paths(d, t, folder),
        experiment="two_base_models_gbm", model_name="spliceai_features_gbm", threads=1,
        base_calibrator_path=raw / "calibrator.json", extra_base_models=["pangolin"],
        extra_scores_paths=[p / "scores.parquet"],
        # no offset, tiny leaves: a few demo rows, and the trees must split on Pangolin's columns to test them
        settings={"max_iter": 15, "learning_rate": 0.3, "min_samples_leaf": 1, "max_leaf_nodes": 4,
                  "early_stopping": False, "seed": 0, "base_offset": False, "class_weight": "balanced"})
    shutil.copy(raw / "calibrator.json", folder / "calibrator.json")  # any calibrator fitted off the test split
    write_manifest(training_path=folder / "training.json", manifest_path=folder / "model.json", base_model=BASE,
                   annotation="grch38", base_models={"pangolin": {"distance": 50, "mask": 1, "folder": str(weights)},
                                                     "openspliceai": {"distance": 50, "mask": 0, "folder": ""}})
    return {"folder": folder, "weights": weights, "scores": p / "scores.parquet", "profiles": p / "profiles.npy"}


def test_a_gbm_reading_pangolin_predicts_the_workflows_p_sa(workflow, pangolin_gbm, tmp_path, monkeypatch):
    """The trees read SpliceAI's and Pangolin's features: the manifest lists Pangolin (settings, weights'
    SHA-256), predict scores the VCF with both and gives the workflow's P_SA for every test variant."""
    from validsplice.training import gbm

    variant_features = gbm.variant_features
    d, folder = workflow["dir"], pangolin_gbm["folder"]
    manifest = json.loads((folder / "model.json").read_text())
    [entry] = manifest["base_models"]  # the model read Pangolin only: the configured OpenSpliceAI is not listed
    assert (entry["name"], entry["distance"], entry["mask"]) == ("pangolin", 50, 1)
    assert len(entry["weights"]) == 12 and all(len(h) == 64 for h in entry["weights"].values())
    assert json.loads((workflow["trees"]["features_gbm"] / "model.json").read_text())["base_models"] == []
    # the workflow's features of the test variants (training.gbm.variant_features on the variant table)
    variants = pd.read_parquet(d / "variants.parquet")
    test = variants[variants["split"] == "test"].reset_index(drop=True)
    features = variant_features(variants, pd.read_parquet(d / "scores.parquet"),
                                extra_scores={"pangolin": pd.read_parquet(pangolin_gbm["scores"])})
    features = features[(variants["split"] == "test").to_numpy()].reset_index(drop=True)
    pangolin_columns = ["pangolin_DS_GAIN", "pangolin_DS_LOSS", "pangolin_DP_GAIN", "pangolin_DP_LOSS"]
    assert features["pangolin_DS_GAIN"].notna().sum() > 8
    # what predict feeds the trees, per (allele, gene) row (the same training function, wrapped to record it)
    seen = []

    def recording(rows, scores, paths=None, extra_scores=None):
        out = variant_features(rows, scores, paths, extra_scores)
        seen.append(rows.reset_index(drop=True)[["chrom", "pos", "ref", "alt", "gene", "strand"]].join(out.drop(columns="strand")))
        return out

    monkeypatch.setattr(gbm, "variant_features", recording)
    # through the command line, with the Pangolin weights folder
    assert main(["predict", "-I", str(d / "normalized.vcf.gz"), "-O", str(tmp_path / "out.vcf.gz"), "-R", FASTA,
                 "-A", "grch38", "--model", str(folder), "--model", str(workflow["trees"]["features_gbm"]),
                 "--pangolin-dir", str(pangolin_gbm["weights"]), "--tsv", str(tmp_path / "out.tsv"),
                 "--device", "cpu"]) == 0
    rows = read_tsv(tmp_path / "out.tsv")
    rows["key"] = [vcf_key(*r) for r in rows[["chrom", "pos", "ref", "alt"]].itertuples(index=False)]
    variants["key"] = [vcf_key(*r) for r in variants[["chrom", "pos", "ref", "alt"]].itertuples(index=False)]
    chosen = variants.merge(rows, on=["key", "gene", "strand"], how="left", suffixes=("", "_tsv"))
    # Pangolin's columns of each test variant's own gene are the workflow's (its trees' P_SA below may not
    # depend on them: a few demo rows), and the primary's too
    fed = pd.concat(seen, ignore_index=True)
    fed["key"] = [vcf_key(*r) for r in fed[["chrom", "pos", "ref", "alt"]].itertuples(index=False)]
    test["key"] = [vcf_key(*r) for r in test[["chrom", "pos", "ref", "alt"]].itertuples(index=False)]
    mine = test[["key", "gene", "strand"]].merge(fed, on=["key", "gene", "strand"], how="left")
    assert len(mine) == len(test)
    for column in pangolin_columns + ["DS_AG_masked", "DP_DL"]:
        np.testing.assert_allclose(mine[column].to_numpy(float), features[column].to_numpy(float), atol=1e-7,
                                   err_msg=column)
    for name, experiment_folder in (("two_base_models_gbm", folder), ("features_gbm", workflow["trees"]["features_gbm"])):
        expected = expected_p_sa(experiment_folder, workflow["Calibrator"]).merge(chosen, on="variant_id")
        assert len(expected) == len(test) > 8 and expected["workflow_gene"].astype(str).eq("True").all()
        np.testing.assert_allclose(expected[f"SCORE_{name}"], expected["score"], rtol=0, atol=1e-6)
        np.testing.assert_allclose(expected[f"P_SA_{name}"], expected["p_sa"], rtol=0, atol=1e-6)
        assert expected["p_sa"].notna().all() and expected["p_sa"].nunique() > 1
    with pysam.VariantFile(str(tmp_path / "out.vcf.gz")) as vcf:
        assert "additional base model pangolin, distance 50, mask 1" in str(vcf.header)
    # the external sets' path (a variant table, one gene per variant) gives the same
    _, results = predict_variant_table(test, FASTA, "grch38", [load_model_folder(folder)], batch_size=8,
                                       pangolin_dir=str(pangolin_gbm["weights"]))
    expected = expected_p_sa(folder, workflow["Calibrator"]).set_index("variant_id")
    np.testing.assert_allclose(results["two_base_models_gbm"][1], expected.loc[test["variant_id"], "p_sa"], atol=1e-6)


def test_an_exon_site_head_predicts_the_workflows_p_sa(workflow, pangolin_gbm, tmp_path, monkeypatch):
    """exon_site_head reading SpliceAI's and Pangolin's exon-site scores (rule base_model_exon_sites' function on
    the fixture's variants): its manifest lists Pangolin, predict computes the same exon-site columns for every
    test variant's gene and gives the workflow's P_SA, through the CLI and the external-set path."""
    from validsplice.apply import predict as predict_module
    from validsplice.scoring.exon_sites import exon_site_table
    from validsplice.training.offset_heads import exon_site_transform

    d, weights = workflow["dir"], pangolin_gbm["weights"]
    sites = {}
    for name, model_dir in (("spliceai", ""), ("pangolin", str(weights))):
        sites[name] = tmp_path / "exon_sites" / f"{name}.parquet"
        exon_site_table(str(d / "variants.parquet"), FASTA, "grch38", sites[name], base_model=name,
                        model_dir=model_dir, device="cpu", threads=1)
    folder = d / "models" / "sites_head"
    raw = workflow["models"]["spliceai_raw"]
    t = {name: d / f"{name}.parquet" for name in ("train", "val", "test", "train_labelled", "val_labelled")}
    info = train_gbm_experiment(**gbm_rule_paths(d, t, folder), experiment="sites_head", model_name="exon_site_head",
                                threads=1, base_calibrator_path=raw / "calibrator.json",
                                exon_sites_paths=[sites["spliceai"], sites["pangolin"]],
                                settings={"seed": 0, "selection_folds": 0})
    assert info["extra_base_models"] == ["pangolin"]
    shutil.copy(raw / "calibrator.json", folder / "calibrator.json")
    write_manifest(training_path=folder / "training.json", manifest_path=folder / "model.json", base_model=BASE,
                   annotation="grch38", base_models={"pangolin": {"distance": 50, "mask": 1, "folder": str(weights)}})
    [entry] = json.loads((folder / "model.json").read_text())["base_models"]
    assert entry["name"] == "pangolin" and len(entry["weights"]) == 12
    # what predict computes for each (allele, gene) row, recorded
    seen = []
    features = predict_module.exon_site_features

    def recording(rows, *args, **kwargs):
        out = features(rows, *args, **kwargs)
        seen.append(rows.reset_index(drop=True)[["chrom", "pos", "ref", "alt", "gene"]].join(out.reset_index(drop=True)))
        return out

    monkeypatch.setattr(predict_module, "exon_site_features", recording)
    assert main(["predict", "-I", str(d / "normalized.vcf.gz"), "-O", str(tmp_path / "out.vcf.gz"), "-R", FASTA,
                 "-A", "grch38", "--model", str(folder), "--pangolin-dir", str(weights),
                 "--tsv", str(tmp_path / "out.tsv"), "--device", "cpu"]) == 0
    variants = pd.read_parquet(d / "variants.parquet")
    test = variants[variants["split"] == "test"].reset_index(drop=True)
    fed = pd.concat(seen, ignore_index=True)
    mine = test[["chrom", "pos", "ref", "alt", "gene", "variant_id"]].merge(
        fed, on=["chrom", "pos", "ref", "alt", "gene"], how="left")
    assert len(mine) == len(test) > 8
    for name, path in sites.items():
        table = pd.read_parquet(path).set_index("variant_id")
        delta = table.loc[mine["variant_id"], "exon_site_delta"].to_numpy(float)
        np.testing.assert_allclose(mine[f"{name}_exon_site"].to_numpy(float), exon_site_transform(delta), atol=1e-6,
                                   err_msg=name)
        assert np.isfinite(delta).sum() > 8 and (delta > 0.01).any()
    rows = read_tsv(tmp_path / "out.tsv")
    rows["key"] = [vcf_key(*r) for r in rows[["chrom", "pos", "ref", "alt"]].itertuples(index=False)]
    variants["key"] = [vcf_key(*r) for r in variants[["chrom", "pos", "ref", "alt"]].itertuples(index=False)]
    chosen = variants.merge(rows, on=["key", "gene", "strand"], how="left", suffixes=("", "_tsv"))
    expected = expected_p_sa(folder, workflow["Calibrator"]).merge(chosen, on="variant_id")
    assert len(expected) == len(test)
    np.testing.assert_allclose(expected["P_SA_sites_head"], expected["p_sa"], rtol=0, atol=1e-6)
    _, results = predict_variant_table(test, FASTA, "grch38", [load_model_folder(folder)], batch_size=8,
                                       pangolin_dir=str(weights))
    by_id = expected_p_sa(folder, workflow["Calibrator"]).set_index("variant_id")
    np.testing.assert_allclose(results["sites_head"][1], by_id.loc[test["variant_id"], "p_sa"], atol=1e-6)


def test_predict_checks_each_base_models_settings_and_weights(workflow, pangolin_gbm, pangolin_model_dir, tmp_path):
    d, folder = workflow["dir"], pangolin_gbm["folder"]
    vcf = d / "normalized.vcf.gz"
    with pytest.raises(UserError, match="read pangolin's scores.*pass --pangolin-dir"):
        predict_vcf(vcf, tmp_path / "o.vcf", FASTA, "grch38", [str(folder)], device="cpu")
    with pytest.raises(UserError, match="--pangolin-dir .*no such folder"):
        predict_vcf(vcf, tmp_path / "o.vcf", FASTA, "grch38", [str(folder)], device="cpu",
                    pangolin_dir=str(tmp_path / "absent"))
    other = pangolin_model_dir(tmp_path / "other_weights", source="final.1.2.3.v2")  # every name: one file
    with pytest.raises(UserError, match=r"final\.1\.0\.3\.v2.*differ.*SHA-256 in model.json base_models.pangolin"):
        predict_vcf(vcf, tmp_path / "o.vcf", FASTA, "grch38", [str(folder)], device="cpu", pangolin_dir=str(other))
    partial = tmp_path / "partial"
    shutil.copytree(pangolin_gbm["weights"], partial)
    (partial / "final.3.6.3.v2").unlink()
    with pytest.raises(UserError, match=r"lacks pangolin weight file\(s\) final\.3\.6\.3\.v2"):
        predict_vcf(vcf, tmp_path / "o.vcf", FASTA, "grch38", [str(folder)], device="cpu", pangolin_dir=str(partial))
    copy = tmp_path / "mask0"
    shutil.copytree(folder, copy)
    manifest = json.loads((copy / "model.json").read_text())
    manifest["experiment"], manifest["base_models"][0]["mask"] = "mask0", 0
    (copy / "model.json").write_text(json.dumps(manifest))
    with pytest.raises(UserError, match="base model pangolin mask 0 differs"):
        predict_vcf(vcf, tmp_path / "o.vcf", FASTA, "grch38", [str(folder), str(copy)], device="cpu",
                    pangolin_dir=str(pangolin_gbm["weights"]))
    manifest["base_models"] = []  # an older manifest: the trees read Pangolin but it is not listed
    (copy / "model.json").write_text(json.dumps(manifest))
    with pytest.raises(UserError, match="read pangolin's scores but base_models does not list"):
        load_model_folder(copy)
    with pytest.raises(UserError, match="no base_models.pangolin now"):
        write_manifest(training_path=folder / "training.json", manifest_path=tmp_path / "m.json", base_model=BASE,
                       annotation="grch38", base_models={})


def test_a_classifier_reading_pangolins_profiles_predicts_the_workflows_p_sa(workflow, pangolin_gbm, tmp_path, capsys):
    """Issue 20 §3: the paired classifier trained on SpliceAI's and Pangolin's aligned profiles (4 channels); its
    folder records both, and predict scores the VCF with both and stacks them: the workflow's P_SA per test
    variant (it would differ, or fail, without Pangolin's channels)."""
    import torch

    from validsplice.training.targets import align_base_model_profiles

    d, raw = workflow["dir"], workflow["models"]["spliceai_raw"]
    aligned = tmp_path / "pangolin_base_profiles.npy"
    align_base_model_profiles(variants_path=d / "variants.parquet", scores_path=pangolin_gbm["scores"],
                              profiles_path=pangolin_gbm["profiles"], out_path=aligned, name="pangolin", distance=50,
                              extra_distance=50)
    assert np.abs(np.load(aligned)).max() > 0
    folder = tmp_path / "models" / "classifier"
    folder.mkdir(parents=True)
    t = {name: d / f"{name}.parquet" for name in ("train", "val", "test", "train_labelled", "val_labelled")}
    train_experiment(train_path=t["train"], val_path=t["val"], test_path=t["test"], profiles_path=d / "profiles.npy",
                     windows_path=d / "windows.npz", base_profiles_path=d / "base_profiles.npy",
                     train_labelled_path=t["train_labelled"], val_labelled_path=t["val_labelled"],
                     target_summary_path=d / "targets_summary.json", base_calibrator_path=raw / "calibrator.json",
                     model_path=folder / "model.pt", history_path=folder / "history.tsv",
                     predictions_path=folder / "predictions.parquet", training_path=folder / "training.json",
                     experiment="classifier", model_name="paired_cnn_classifier",
                     profile_base_models=["spliceai", "pangolin"], extra_profiles_paths=[aligned],
                     settings={"epochs": 2, "hidden_dim": 8, "n_layers": 2, "kernel_size": 5, "batch_size": 4,
                               "window_length": 201, "device": "cpu", "seed": 1, "early_stopping": False})
    state = torch.load(folder / "model.pt", weights_only=True)["state_dict"]
    assert state["band.0.weight"].shape[1] == 3 * 8 + 4 + 1 and state["head.3.weight"].abs().max() > 0
    shutil.copy(raw / "calibrator.json", folder / "calibrator.json")  # any calibrator fitted off the test split
    write_manifest(training_path=folder / "training.json", manifest_path=folder / "model.json", base_model=BASE,
                   annotation="grch38", base_models={"pangolin": {"distance": 50, "mask": 1,
                                                                  "folder": str(pangolin_gbm["weights"])}})
    manifest = json.loads((folder / "model.json").read_text())
    assert manifest["base_model_profiles"] == ["spliceai", "pangolin"]
    assert [e["name"] for e in manifest["base_models"]] == ["pangolin"]
    assert main(["predict", "-I", str(d / "normalized.vcf.gz"), "-O", str(tmp_path / "none.vcf.gz"), "-R", FASTA,
                 "-A", "grch38", "--model", str(folder), "--device", "cpu"]) != 0  # no --pangolin-dir: refused
    assert "pass --pangolin-dir" in capsys.readouterr().err
    assert main(["predict", "-I", str(d / "normalized.vcf.gz"), "-O", str(tmp_path / "out.vcf.gz"), "-R", FASTA,
                 "-A", "grch38", "--model", str(folder), "--pangolin-dir", str(pangolin_gbm["weights"]),
                 "--tsv", str(tmp_path / "out.tsv"), "--device", "cpu"]) == 0
    rows = read_tsv(tmp_path / "out.tsv")
    rows["key"] = [vcf_key(*r) for r in rows[["chrom", "pos", "ref", "alt"]].itertuples(index=False)]
    variants = pd.read_parquet(d / "variants.parquet")
    variants["key"] = [vcf_key(*r) for r in variants[["chrom", "pos", "ref", "alt"]].itertuples(index=False)]
    chosen = variants.merge(rows, on=["key", "gene", "strand"], how="left", suffixes=("", "_tsv"))
    expected = expected_p_sa(folder, workflow["Calibrator"]).merge(chosen, on="variant_id")
    test = pd.read_parquet(t["test"])
    scored = expected["variant_id"].isin(test.loc[test["base_model_scored"], "variant_id"])
    assert scored.sum() > 8
    np.testing.assert_allclose(expected.loc[scored, "SCORE_classifier"], expected.loc[scored, "score"], rtol=0,
                               atol=1e-6)
    np.testing.assert_allclose(expected.loc[scored, "P_SA_classifier"], expected.loc[scored, "p_sa"], rtol=0,
                               atol=1e-6)
    # the external sets' path (a variant table, one gene per variant) gives the same
    table = variants[variants["split"] == "test"].reset_index(drop=True)
    _, results = predict_variant_table(table, FASTA, "grch38", [load_model_folder(folder)], batch_size=8,
                                       pangolin_dir=str(pangolin_gbm["weights"]))
    by_id = expected.set_index("variant_id")
    ok = table["variant_id"].isin(test.loc[test["base_model_scored"], "variant_id"]).to_numpy()
    np.testing.assert_allclose(results["classifier"][1][ok], by_id.loc[table.loc[ok, "variant_id"], "p_sa"], atol=1e-6)

