"""Report: summary table rows/order/best marks, the data summary and every figure from synthetic runs."""
import json

import numpy as np
import pandas as pd
import pytest

from validsplice import evaluation as E
from validsplice import report as R

CLASSES = ["Splice-altering", "Normal", "Low-frequency", "Conflicting"]


def _predictions(seed, strength, delta=True, n=300):
    rng = np.random.default_rng(seed)
    labels = np.random.default_rng(0).choice(CLASSES, n, p=[0.3, 0.5, 0.1, 0.1])  # same variants everywhere
    sa = labels == "Splice-altering"
    target = np.where(sa, np.random.default_rng(1).random(n), 0.0)
    score = np.clip(rng.normal(0.1 + strength * sa, 0.15), 0, 1)
    return pd.DataFrame({
        "variant_id": [f"v{i}" for i in range(n)], "label": labels, "split": "test", "score": score,
        "pred_neither": np.nan, "pred_acceptor": np.nan, "pred_donor": np.nan,
        "pred_max_abs_delta": np.clip(target + rng.normal(0, 0.1, n), 0, 1) if delta else np.nan,
        "target_max_abs_delta": target, "scored": True,
    })


EXPERIMENTS = {
    # name: (model, seed, strength, has delta, training.json extras)
    "spliceai_raw": ("spliceai_raw", 1, 0.35, True, {"status": "not trained", "target_is_own_output": True}),
    "cnn_quick": ("gated_cnn", 2, 0.5, True, {"status": "completed", "stopped_epoch": 5, "max_epochs": 8,
                                                "best_epoch": 3, "training_seconds": 95.0,
                                                "note": "random init (no pretrained weights)"}),
    "binary_cnn": ("binary_cnn", 3, 0.2, False, {"status": "completed", "stopped_epoch": 8, "max_epochs": 8,
                                                  "best_epoch": 8, "training_seconds": 300.0, "threshold": 0.4}),
}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("report")
    baseline = _predictions(*EXPERIMENTS["spliceai_raw"][1:4])
    paths = {"metrics": [], "predictions": [], "histories": [], "trainings": []}
    calibrated_experiments = []
    # give the lists in config order with the baseline NOT first: the report must reorder
    for name in ["cnn_quick", "spliceai_raw", "binary_cnn"]:
        model, seed, strength, delta, extra = EXPERIMENTS[name]
        pred = _predictions(seed, strength, delta)
        training = {"experiment": name, "model": model, **extra}
        p = d / f"{name}.parquet"
        pred.to_parquet(p)
        (d / f"{name}.training.json").write_text(json.dumps(training))
        hist = d / f"{name}.history.tsv"
        if model == "spliceai_raw":
            hist.write_text("")
        else:
            epochs = np.arange(1, extra["stopped_epoch"] + 1)
            pd.DataFrame({"epoch": epochs, "train_loss": 1 / epochs, "val_loss": 1 / epochs + 0.1,
                          "val_metric": 0.8, "learning_rate": 1e-3, "seconds": 10.0}).to_csv(hist, sep="\t", index=False)
        calibrated = None
        if name != "spliceai_raw":  # the baseline's calibrated form is its own row
            calibrated = pred[["variant_id", "label", "split", "score"]].assign(p_sa=pred["score"].clip(0, 1))
            calibrated.to_parquet(d / f"{name}.calibrated.parquet")
            paths.setdefault("calibrated", []).append(str(d / f"{name}.calibrated.parquet"))
            calibrated_experiments.append(name)
        result = E.evaluate_predictions(pred, baseline=baseline, training=training, experiment=name,
                                        n_bootstrap=100, seed=1, calibrated=calibrated)
        (d / f"{name}.metrics.json").write_text(json.dumps(result, allow_nan=False))
        paths["metrics"].append(str(d / f"{name}.metrics.json"))
        paths["predictions"].append(str(p))
        paths["histories"].append(str(hist))
        paths["trainings"].append(str(d / f"{name}.training.json"))
    (d / "variants.json").write_text(json.dumps({
        "input_rows": 320, "ingested": 310, "rejected": {"ref mismatch": 7, "unknown contig": 3},
        "per_class": {c: 75 for c in CLASSES},
        "per_split": {"train": {"Splice-altering": 50, "Normal": 90}, "test": {"Splice-altering": 90, "Normal": 150}}}))
    (d / "scores.json").write_text(json.dumps({"scored": 300, "skipped": {"no gene": 10}}))
    (d / "targets.json").write_text(json.dumps({"per_split": {"train": {"Normal": 90}}, "target_max_abs_delta": {"min": 0, "max": 0.98}}))
    (d / "rejected.tsv").write_text("source_file\tsource_row\tvariant_id\tchrom\tpos\tref\talt\tstage\treason\n"
                                    "in.tsv\t3\tw\tchr2\t10\tAT\tGT\tnormalize\tleft-aligned\n"
                                    "in.tsv\t9\ty\tchr9\t10\tA\tG\tingest\tunknown contig\n"
                                    "in.tsv\t4\tx\tchr2\t10\tA\tG\tref_check\tref mismatch\n")
    outputs = {k: str(d / "out" / f) for k, f in {
        "tsv": "summary.tsv", "md": "summary.md", "html_path": "summary.html", "data_summary": "data_summary.html",
        "roc": "roc.svg", "pr": "pr.svg", "scatter": "scatter.svg", "training_curves": "training_curves.svg",
        "distributions": "score_distributions.svg", "reliability": "reliability.svg"}.items()}
    table = R.make_report(calibrated_experiments=calibrated_experiments,
                          split_description="Split: test chromosomes 21, 22 (preset research_log). Caveat: SpliceAI "
                                            "saw them.",**paths, variant_summary=str(d / "variants.json"), score_summary=str(d / "scores.json"),
                          target_summary=str(d / "targets.json"), rejected=str(d / "rejected.tsv"), **outputs,
                          experiments=["cnn_quick", "spliceai_raw", "binary_cnn"],
                          data_description="Synthetic test data; not a performance claim.")
    return d, outputs, table


def test_summary_rows_order_and_columns(run_dir):
    _, out, table = run_dir
    tsv = pd.read_csv(out["tsv"], sep="\t")
    assert tsv["Experiment"].tolist() == ["spliceai_raw", "cnn_quick", "binary_cnn"]
    assert tsv["Model"].tolist() == ["spliceai_raw", "gated_cnn", "binary_cnn"]
    for col in ("Correlation", "ROC-AUC", "PR-AUC", "Detection@0.1", "FP@0.1"):
        assert col in tsv.columns and f"{col}_ci" in tsv.columns and f"best_{col}" in tsv.columns
    assert tsv.loc[0, "Stopped epoch / max epochs"] == "—"
    assert tsv.loc[1, "Stopped epoch / max epochs"] == "5 / 8"
    assert "random init (no pretrained weights)" in tsv.loc[1, "Status"]
    # binary model: no delta prediction -> correlation undefined, with the reason in Notes
    assert np.isnan(tsv.loc[2, "Correlation"]) and "no delta prediction" in tsv.loc[2, "Notes"]
    assert tsv.loc[0, "ΔROC-AUC vs spliceai_raw"] == 0


def test_best_marked(run_dir):
    _, out, table = run_dir
    tsv = pd.read_csv(out["tsv"], sep="\t")
    # cnn_quick has the strongest signal: best ROC-AUC
    assert tsv["best_ROC-AUC"].tolist() == [False, True, False]
    # the binary model has the lowest FP rate, but at its threshold it detects under half of the
    # Splice-altering variants: not "best FP" (bolding rule in workflow/report/summary.rst)
    assert tsv.loc[tsv["FP@0.1"].idxmin(), "Experiment"] == "binary_cnn" and tsv.loc[2, "Detection@0.1"] < 0.5
    assert tsv["best_FP@0.1"].tolist() == [True, False, False]
    md = open(out["md"]).read()
    auc = table.loc[1, "ROC-AUC"]
    assert f"**{auc:.3f} [" in md
    assert "Synthetic test data; not a performance claim." in md
    assert "| reference |" in md
    lines = [l for l in md.splitlines() if l.startswith("| ")]
    assert len(lines) == 4 and lines[1].startswith("| spliceai_raw")
    html = open(out["html_path"]).read()
    assert html.count("<tr>") == 4 and 'class="best"' in html and "<style>" in html


def test_delta_vs_baseline_consistent(run_dir):
    _, out, _ = run_dir
    tsv = pd.read_csv(out["tsv"], sep="\t")
    row = tsv.iloc[1]
    assert row["ΔROC-AUC vs spliceai_raw"] == pytest.approx(row["ROC-AUC"] - tsv.loc[0, "ROC-AUC"], abs=1e-5)
    assert 0 <= row["p (DeLong)"] <= 1


def test_all_figures_and_data_summary_written(run_dir):
    _, out, _ = run_dir
    for key in ("roc", "pr", "scatter", "training_curves", "distributions"):
        text = open(out[key]).read()
        assert text.lstrip().startswith("<?xml") and "<svg" in text, key
    roc = open(out["roc"]).read()
    assert "cnn_quick (AUC" in roc and "binary_cnn (AUC" in roc
    scatter = open(out["scatter"]).read()
    assert "cnn_quick" in scatter and "binary_cnn" not in scatter  # binary has no delta
    curves = open(out["training_curves"]).read()
    assert "best epoch 3" in curves and "spliceai_raw" not in curves
    ds = open(out["data_summary"]).read()
    assert "Variants per class and split" in ds and "ref mismatch" in ds and "unknown contig" in ds
    assert "kept (changed or merged)" in ds and "left-aligned" in ds
    assert "no gene" in ds and "target_max_abs_delta" in ds


def test_figures_without_delta_or_trained_models(tmp_path):
    from validsplice import plots

    preds = {"binary_cnn": _predictions(3, 0.2, delta=False)}
    plots.plot_scatter(preds, tmp_path / "s.svg")
    plots.plot_training_curves({"spliceai_raw": pd.DataFrame()}, {}, tmp_path / "t.svg")
    assert "predicts a delta" in (tmp_path / "s.svg").read_text()
    assert "No trained model" in (tmp_path / "t.svg").read_text()


def test_mismatched_input_lists_are_user_errors(tmp_path):
    from validsplice.rule_io import UserError

    with pytest.raises(UserError, match="must follow params.experiments"):
        R.make_report(["a.json"], [], [], [], "v", "s", "t", "r", tsv="", md="", html_path="", data_summary="",
                      roc="", pr="", scatter="", training_curves="", distributions="", experiments=["x"])


# ----------------------------------------------------------------- honest cells and bolding (issue 9, item 4)
def _metrics(corr, auc, det, fp, *, scale="delta", threshold=0.1, own=False, reads=False, prevalence=None):
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
    "spliceai_raw": _metrics(None, 0.90, 0.70, 0.05, own=True),
    "flags_everything": _metrics(0.50, 0.60, 1.00, 1.00),
    "flags_nothing": _metrics(0.40, 0.55, 0.00, 0.00),
    "balanced": _metrics(0.60, 0.90, 0.80, 0.10),
    "gated_on_spliceai": _metrics(0.99, 0.85, 0.65, 0.04, reads=True),
    "classifier": _metrics(None, 0.80, 0.62, 0.15, scale="probability", threshold=0.37, prevalence=0.3),
}


def _honest_table():
    names = list(HONEST)
    return R.summary_table(names, [HONEST[n] for n in names], [{} for _ in names])


def test_bold_only_where_it_means_best():
    t = _honest_table().set_index("Experiment")
    # a model flagging every Normal never has the best detection; one flagging nothing never the best FP
    assert not t.loc["flags_everything", "best_Detection@0.1"] and not t.loc["flags_nothing", "best_FP@0.1"]
    assert t["best_Detection@0.1"][t["best_Detection@0.1"]].index.tolist() == ["balanced"]
    assert t["best_FP@0.1"][t["best_FP@0.1"]].index.tolist() == ["gated_on_spliceai"]
    # ROC-AUC: spliceai_raw and balanced tie at 0.900: no bold
    assert not t["best_ROC-AUC"].any()
    # Correlation: not for the model whose output is the target, nor for the one reading it
    assert t["best_Correlation"][t["best_Correlation"]].index.tolist() == ["balanced"]


def test_cells_say_what_the_number_is():
    table = _honest_table()
    header, rows = R.display_rows(table)
    cells = {r[0][0]: dict(zip(header, (c for c, _ in r))) for r in rows}
    assert cells["spliceai_raw"]["Correlation"] == "n/a (target is this model's output)"
    assert cells["gated_on_spliceai"]["Correlation"].endswith(R.READS_TARGET_MARK)
    assert cells["classifier"]["Detection@0.1"].endswith("(@0.370, val-chosen)")
    assert cells["classifier"]["FP@0.1"].endswith("(@0.370, val-chosen)")
    assert "val-chosen" not in cells["balanced"]["Detection@0.1"]
    t = table.set_index("Experiment")
    assert t.loc["classifier", "Score scale"] == "probability" and t.loc["classifier", "Detection threshold"] == 0.37
    assert t.loc["classifier", "Assumed prevalence"] == 0.3 and t.loc["balanced", "Detection threshold"] == 0.1
    md = R.format_markdown(table, "synthetic")
    assert "agreement with the base model's delta, not with validated effects" in md
    assert f"FP <= {R.MAX_FP_FOR_BEST_DETECTION:g}" in md and f"Detection >= {R.MIN_DETECTION_FOR_BEST_FP:g}" in md
    assert "assumed prevalence of 0.300" in md and R.READS_TARGET_NOTE in md


def test_caption_and_readme_state_the_rules():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    caption = " ".join((root / "workflow" / "report" / "summary.rst").read_text().split())
    readme = " ".join((root / "README.md").read_text().split())
    for text in (caption, readme):
        assert "agreement with the base model's delta, not with validated effects" in text
        assert "n/a (target is this model's output)" in text
        assert f"FP ≤ {R.MAX_FP_FOR_BEST_DETECTION:g}" in text and f"Detection ≥ {R.MIN_DETECTION_FOR_BEST_FP:g}" in text
        assert "threshold chosen on validation" in text
    assert "over- or under-calls" not in readme
    assert "cannot learn a splice-altering variant that SpliceAI misses" in readme


def test_score_distribution_lines_at_each_models_threshold(tmp_path):
    from validsplice import plots

    preds = {"spliceai_raw": _predictions(1, 0.35), "binary_cnn": _predictions(3, 0.2, delta=False)}
    plots.plot_score_distributions(preds, tmp_path / "d.svg", threshold={"spliceai_raw": 0.1, "binary_cnn": 0.37})
    svg = (tmp_path / "d.svg").read_text()
    assert "detection threshold 0.1" in svg and "detection threshold 0.37" in svg


def test_brier_ece_columns_split_header_and_reliability_diagram(run_dir):
    _, out, table = run_dir
    tsv = pd.read_csv(out["tsv"], sep="\t").set_index("Experiment")
    for col in ("Brier", "ECE"):
        assert np.isnan(tsv.loc["spliceai_raw", col]) and 0 < tsv.loc["cnn_quick", col] < 1
        assert tsv.loc["cnn_quick", f"{col}_ci"].startswith("[") and f"best_{col}" in tsv
    md = open(out["md"]).read()
    assert md.startswith("Split: test chromosomes 21, 22 (preset research_log). Caveat")
    assert "| Brier | ECE |" in md and "n/a (raw delta; see spliceai_calibrated)" in md
    assert "10 equal-width bins" in md
    html = open(out["html_path"]).read()
    assert html.index("Split: test chromosomes") < html.index("<table>")
    svg = open(out["reliability"]).read()
    assert "cnn_quick" in svg and "binary_cnn" in svg and "spliceai_raw" not in svg


def test_constant_probability_is_never_best_calibrated():
    def with_calibration(m, brier, ece, constant=False):
        reason = "P(SA) is constant: the calibrator's slope is 0" if constant else None
        m = json.loads(json.dumps(m))
        m["headline"]["brier"] = {"value": brier, "ci_low": brier, "ci_high": brier, "n": 50, "reason": reason}
        m["headline"]["ece"] = {"value": ece, "ci_low": ece, "ci_high": ece, "n": 50, "reason": reason}
        return m
    rows = {"flat": with_calibration(HONEST["balanced"], 0.24, 0.01, constant=True),
            "a": with_calibration(HONEST["balanced"], 0.20, 0.05), "b": with_calibration(HONEST["classifier"], 0.15, 0.08)}
    table = R.summary_table(list(rows), list(rows.values()), [{} for _ in rows])
    best = dict(zip(table["Experiment"], table["best_ECE"]))
    assert best == {"flat": False, "a": True, "b": False}  # the constant's 0.01 is not the best ECE
    assert dict(zip(table["Experiment"], table["best_Brier"])) == {"flat": False, "a": False, "b": True}
    assert table.set_index("Experiment").loc["flat", "Constant probability"]
