"""Helpers several test modules share: plain data builders and constants, imported with
``from helpers import ...``. Test modules never import each other (tests/test_module_hygiene.py checks
it): what two of them need lives here, or in tests/conftest.py as a fixture where it needs pytest's
set-up (workflow copies, Snakemake runs, session-wide files)."""
import json

import numpy as np
import pandas as pd
import torch
from torch import nn

import validsplice.training.loop as training
from validsplice.common.sequence import encode
from validsplice.report import results_table
from validsplice.scoring.openspliceai import FLANK_UNITS
from validsplice.training.targets import make_targets

# ---------- the CNNs' small settings and a batch (test_models_cnn, test_models_classifier)
SMALL_CNN = {"hidden_dim": 16, "n_layers": 3, "kernel_size": 5, "dropout": 0.0}
B, L, P = 5, 61, 21  # batch size, window length, profile length of make_batch


def make_batch(seed=0):
    g = torch.Generator().manual_seed(seed)
    ref = torch.randint(0, 5, (B, L), generator=g)
    alt = ref.clone()
    alt[:, L // 2] = (ref[:, L // 2] + 1) % 4
    return {
        "ref": ref, "alt": alt,
        "indel_length": torch.tensor([0.0, 1.0, -3.0, 0.0, 2.0]),
        "label": torch.tensor([1.0, 0.0, 1.0, 0.0, 1.0]),
        "target_seed": torch.randn(B, 3, generator=g) * 0.1,
        "target_profile": torch.randn(B, P, 2, generator=g) * 0.1,
    }


# ---------- a learnable training task and one training run (test_training, test_models_classifier)
TASK_D, TASK_L = 5, 41  # target distance and window length of write_task
TASK_MOTIF = encode("GTAAGT")
TASK_SETTINGS = {"hidden_dim": 16, "n_layers": 2, "kernel_size": 7, "dropout": 0.0, "batch_size": 32,
                 "learning_rate": 3e-3, "weight_decay": 0.0, "epochs": 15, "patience": 100, "seed": 0, "device": "cpu"}


def write_task(tmp_path, n_genes=(8, 4, 4), per_gene=32, seed=0, sa_every=2):
    """A learnable task: Splice-altering alt windows carry GTAAGT at the centre (donor gain
    target +0.6 at the variant), Normal windows are random. Genes are grouped into splits.
    One variant in ``sa_every`` is Splice-altering (2: balanced before sampling)."""
    rng = np.random.default_rng(seed)
    rows, splits = [], ["train"] * n_genes[0] + ["val"] * n_genes[1] + ["test"] * n_genes[2]
    for g, split in enumerate(splits):
        for k in range(per_gene):
            label = "Splice-altering" if k % sa_every == 0 else "Normal"
            if split == "test" and k in (14, 15):
                label = ("Low-frequency", "Conflicting")[k - 14]
            rows.append({"variant_id": f"v{g}_{k}", "label": label, "gene": f"G{g}", "split": split,
                         "variant_type": "SNV", "indel_length": 0, "region": "intronic", "nearest_site": "donor"})
    variants = pd.DataFrame(rows)
    n = len(variants)
    ref = rng.integers(0, 4, size=(n, TASK_L), dtype=np.uint8)
    alt = ref.copy()
    c = TASK_L // 2
    alt[:, c] = (ref[:, c] + 1) % 4
    sa = (variants["label"] == "Splice-altering").to_numpy()
    alt[np.ix_(sa, np.arange(c, c + 6))] = TASK_MOTIF
    profiles = np.zeros((n, 2 * TASK_D + 1, 2), np.float16)
    profiles[sa, TASK_D, 1] = 0.6
    scores = pd.DataFrame({"variant_id": variants["variant_id"], "gene": variants["gene"],
                           "max_ds": np.where(sa, 0.6, 0.01), "status": "scored", "profile_row": np.arange(n)})
    tables, target_profiles, summary = make_targets(variants, scores, profiles, distance=TASK_D, seed=0, balance=True)
    paths = {k: tmp_path / f"{k}.parquet" for k in ("train", "val", "test", "train_labelled", "val_labelled")}
    for k, p in paths.items():
        tables[k].to_parquet(p)
    paths["target_summary"] = tmp_path / "summary.json"
    paths["target_summary"].write_text(json.dumps(summary))
    paths["profiles"] = tmp_path / "profiles.npy"
    np.save(paths["profiles"], target_profiles)
    paths["windows"] = tmp_path / "windows.npz"
    np.savez(paths["windows"], ref=ref, alt=alt, variant_id=variants["variant_id"].to_numpy().astype(str))
    return paths


def run_experiment(paths, tmp_path, model="gated_cnn", settings=None, **kw):
    out = tmp_path / "out"
    files = {"model_path": out / "model.pt", "history_path": out / "history.tsv",
             "predictions_path": out / "predictions.parquet", "training_path": out / "training.json",
             "val_predictions_path": out / "val_predictions.parquet"}
    info = training.train_experiment(
        train_path=paths["train"], val_path=paths["val"], test_path=paths["test"],
        target_summary_path=paths["target_summary"],
        profiles_path=paths["profiles"], windows_path=paths["windows"], train_labelled_path=paths["train_labelled"],
        val_labelled_path=paths["val_labelled"], **files,
        experiment="exp", model_name=model, settings={**TASK_SETTINGS, **(settings or {})}, threads=1, **kw)
    return info, files


# ---------- a variant table in genes for the split (test_split, test_group_kfold)
def gene_variants(n=2000, n_genes=80, seed=0):
    """``n`` variants in ``n_genes`` random genes (about 5 % intergenic); gene Gk lies on chr{1 + k % 22}."""
    rng = np.random.default_rng(seed)
    gene = np.array([f"G{g}" for g in rng.integers(0, n_genes, size=n)], dtype=object)
    gene[rng.random(n) < 0.05] = ""  # intergenic
    chrom = np.array([f"chr{1 + int(g[1:]) % 22}" if g else "chr1" for g in gene])
    genes = np.where(gene == "", "", gene)
    return pd.DataFrame({"variant_id": [f"v{i}" for i in range(n)], "chrom": chrom, "gene": gene, "genes": genes})


# ---------- metrics.json of made-up models and their results table (test_report, test_group_kfold)
def metrics_json(corr, auc, det, fp, *, scale="delta", threshold=0.1, own=False, reads=False, prevalence=None):
    def est(v):
        return {"value": v, "ci_low": None if v is None else v - 0.01, "ci_high": None if v is None else v + 0.01,
                "n": 50, "reason": "n/a (target is this model's output)" if v is None and own else None}
    return {
        "score_scale": scale, "target_is_own_output": own, "reads_base_model_delta": reads,
        "definitions": {"detection_threshold": threshold, "fixed_detection_threshold": 0.1,
                        "detection_threshold_source": "validation-chosen" if scale == "probability"
                        else "fixed delta cut-off"},
        "headline": {"pearson_r": est(corr), "roc_auc": est(auc), "pr_auc": est(auc), "detection_rate": est(det),
                     "fp_rate": est(fp)},
        "training": {"threshold_selection": None if prevalence is None else {"assumed_prevalence": prevalence}},
    }


HONEST = {  # name: metrics
    "spliceai_raw": metrics_json(None, 0.90, 0.70, 0.05, own=True),
    "flags_everything": metrics_json(0.50, 0.60, 1.00, 1.00),
    "flags_nothing": metrics_json(0.40, 0.55, 0.00, 0.00),
    "balanced": metrics_json(0.60, 0.90, 0.80, 0.10),
    "gated_on_spliceai": metrics_json(0.99, 0.85, 0.65, 0.04, reads=True),
    "classifier": metrics_json(None, 0.80, 0.62, 0.15, scale="probability", threshold=0.37, prevalence=0.3),
}


def separated_comparison(key, a, b):
    """A paired comparison whose interval excludes 0 (the bolding rule's evidence)."""
    return {"difference": 0.05, "ci_low": 0.01, "ci_high": 0.09}


def honest_table(compare=separated_comparison):
    names = list(HONEST)
    return results_table.summary_table(names, [HONEST[n] for n in names], [{} for _ in names], compare=compare)


# ---------- a random OpenSpliceAI checkpoint (test_spliceai_openspliceai, test_score_cli_streaming)
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


def random_openspliceai_model(flank, seed):
    torch.manual_seed(seed)
    model = RefModel(flank)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm1d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    return model.eval()


# ---------- spliceai_features_gbm's synthetic task (test_models_gbm, test_embedding_models)
GBM_D = 5
GBM_KINDS = ("AG", "AL", "DG", "DL")


def gbm_synthetic(n=1200, seed=0):
    """An imbalanced task (~25% Splice-altering) that DS alone cannot solve.

    Splice-altering: either SpliceAI sees it (high DS_DL) or it sits 1-2 bases into the intron at a
    donor, where SpliceAI here scores it low (the variants SpliceAI misses); 5% of labels are flipped.
    Every variant has an
    own-gene score row; variant 0 of each split is unscored (its gene's row is skipped).
    """
    rng = np.random.default_rng(seed)
    split = rng.choice(["train", "val", "test"], size=n, p=[0.6, 0.2, 0.2])
    strand = rng.choice(["+", "-"], size=n)
    site = rng.choice(["acceptor", "donor"], size=n)
    region = rng.choice(["exonic", "intronic"], size=n, p=[0.3, 0.7])
    distance = rng.integers(1, 300, size=n) * rng.choice([-1, 1], size=n)
    seen = rng.random(n) < 0.12
    missed = (~seen) & (site == "donor") & (region == "intronic") & (rng.random(n) < 0.5)
    distance[missed] = rng.choice([-2, -1, 1, 2], size=int(missed.sum()))
    sa = (seen | missed) ^ (rng.random(n) < 0.05)  # 5% label noise: more trees eventually overfit
    dl = np.where(seen, rng.uniform(0.3, 1.0, n), rng.uniform(0.0, 0.08, n))
    variants = pd.DataFrame({
        "variant_id": [f"v{i}" for i in range(n)], "label": np.where(sa, "Splice-altering", "Normal"),
        "split": split, "chrom": "chr2", "pos": np.arange(n) + 1000, "ref": "A", "alt": "G", "strand": strand,
        "gene": [f"{s}{i % 13}" for i, s in enumerate(split)], "variant_type": "SNV", "indel_length": 0,
        "exon_distance": distance, "region": region, "nearest_site": site,
    })
    scores = pd.DataFrame({"variant_id": variants["variant_id"], "gene": variants["gene"], "strand": strand,
                           "status": "scored", "profile_row": np.arange(n)})
    for kind in GBM_KINDS:
        unmasked = dl if kind == "DL" else rng.uniform(0, 0.05, n)
        scores[f"DS_{kind}_unmasked"] = unmasked
        # the mask only ever zeroes a value; make it differ from the unmasked one on some rows
        scores[f"DS_{kind}_masked"] = np.where(rng.random(n) < 0.3, 0.0, unmasked)
        scores[f"DS_{kind}"] = scores[f"DS_{kind}_unmasked"]
        scores[f"DP_{kind}"] = rng.integers(-GBM_D, GBM_D + 1, n)
    scores["max_ds"] = scores[[f"DS_{k}" for k in GBM_KINDS]].max(axis=1)
    profiles = np.zeros((n, 2 * GBM_D + 1, 2), dtype=np.float16)
    profiles[:, GBM_D, 1] = -dl
    for name in ("train", "val", "test"):
        first = int(np.flatnonzero(split == name)[0])
        scores.loc[first, "status"] = "skipped: multi-base ref and alt"
        scores.loc[first, "profile_row"] = -1
    return variants, scores, profiles


def write_gbm_task(tmp_path, variants, scores, profiles):
    """gbm_synthetic()'s task as the feature models' rule reads it: the files (train_gbm_experiment's path
    arguments), the target tables, the feature matrix and spliceai_raw's calibrator (fitted on val_labelled)
    (test_embedding_models, test_exon_site_head)."""
    import validsplice.training.gbm as gbm
    from validsplice.training.calibration import Calibrator

    tables, _, summary = make_targets(variants, scores, profiles, distance=GBM_D, seed=0, balance=True)
    paths = {"variants_path": tmp_path / "variants.parquet", "scores_path": tmp_path / "scores.parquet",
             "target_summary_path": tmp_path / "summary.json"}
    variants.to_parquet(paths["variants_path"])
    scores.to_parquet(paths["scores_path"])
    paths["target_summary_path"].write_text(json.dumps(summary))
    for name in ("train_labelled", "val_labelled", "val", "test"):
        paths[f"{name}_path"] = tmp_path / f"{name}.parquet"
        tables[name].to_parquet(paths[f"{name}_path"])
    feats = gbm.variant_features(variants, scores)
    rows = tables["val_labelled"]["window_row"].to_numpy()
    calibrator = Calibrator.fit(feats[gbm.BASE_SCORE].to_numpy()[rows],
                                (tables["val_labelled"]["label"] == "Splice-altering").to_numpy(dtype=int),
                                score_scale="delta")
    calibrator.save(tmp_path / "calibrator.json", experiment="spliceai_raw", score_scale="delta")
    paths["base_calibrator_path"] = tmp_path / "calibrator.json"
    return paths, tables, feats, calibrator


def check_trained_head(folder, tables, x, calibrator):
    """An offset head trained into ``folder`` by train_gbm_experiment on write_gbm_task's files (test_embedding_models,
    test_exon_site_head): its saved test predictions are predict_scores of the bundle, it ranks the labelled test
    rows above calibrated SpliceAI by 0.05 ROC-AUC, and row 5 (no inputs) keeps calibrated SpliceAI's score."""
    from sklearn.metrics import roc_auc_score

    import validsplice.training.gbm as gbm

    bundle = gbm.load_model(folder / "model.joblib")
    test = tables["test"]
    p = pd.read_parquet(folder / "predictions.parquet")["score"].to_numpy()
    np.testing.assert_allclose(gbm.predict_scores(bundle, x.iloc[test["window_row"].to_numpy()]), p)
    labelled = test["label"].isin(["Splice-altering", "Normal"]).to_numpy()
    y = (test["label"] == "Splice-altering").to_numpy()[labelled]
    base = calibrator.apply(x[gbm.BASE_SCORE].to_numpy()[test["window_row"].to_numpy()])[labelled]
    assert roc_auc_score(y, p[labelled]) > roc_auc_score(y, base) + 0.05
    row5 = x.iloc[[5]]
    np.testing.assert_allclose(gbm.predict_scores(bundle, row5), calibrator.apply(row5[gbm.BASE_SCORE].to_numpy()),
                               atol=1e-12)


def gbm_outputs(out):
    """train_gbm_experiment's output path arguments, in folder ``out``."""
    return dict(model_path=out / "model.joblib", history_path=out / "history.tsv",
                predictions_path=out / "predictions.parquet", val_predictions_path=out / "val_predictions.parquet",
                training_path=out / "training.json")


# ---------- tiny SpliceAI-family networks for the embeddings (test_embeddings, test_embedding_models)
def tiny_nets(n=2):
    from validsplice.scoring.network import SpliceAINet

    torch.manual_seed(0)
    nets = [SpliceAINet(units=((3, 1), (3, 2)), skip_taps=(0, 2), channels=6) for _ in range(n)]
    for net in nets:
        for p in net.parameters():
            torch.nn.init.normal_(p, std=0.3)
    return nets
