"""Report: summary table rows/order/best marks, the data summary and every figure from synthetic runs."""
import json

import numpy as np
import pandas as pd
import pytest
from helpers import HONEST, honest_table, metrics_json, separated_comparison

import validsplice.evaluation.evaluate as E
from validsplice.report import data_summary, results_table, summary, table_formats, table_text

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


def _variant_table(predictions):
    """The variant table rows of the test variants (plus one train variant that must not appear)."""
    n = len(predictions)
    rng = np.random.default_rng(5)
    test = pd.DataFrame({
        "variant_id": predictions["variant_id"], "chrom": "chr2", "pos": np.arange(1000, 1000 + n),
        "ref": "A", "alt": rng.choice(["G", "AT", "C"], n), "gene": np.where(np.arange(n) % 10 == 9, "", "GENE1"),
        "strand": np.where(np.arange(n) % 10 == 9, ".", "+"), "label": predictions["label"], "split": "test",
        "variant_type": rng.choice(["SNV", "insertion", "deletion"], n),
        "region": rng.choice(["exonic", "intronic"], n), "nearest_site": rng.choice(["acceptor", "donor"], n),
        "exon_distance": rng.integers(-800, 800, n).astype("float"),
    })
    test.loc[test["gene"] == "", "exon_distance"] = np.nan
    train = test.iloc[:1].assign(variant_id="train_only", split="train")
    return pd.concat([test, train], ignore_index=True)


def _score_table(variants):
    """Base-model scores: one row per variant and gene, plus another gene's row that must not be picked."""
    scored = variants[variants["gene"] != ""]
    rows = scored[["variant_id", "gene"]].assign(DS_AG=0.1, DS_AL=0.2, DS_DG=0.3, DS_DL=0.4, status="scored")
    other = rows.iloc[:1].assign(gene="OTHER", DS_AG=0.9)
    return pd.concat([rows, other], ignore_index=True)


EXPERIMENTS = {
    # name: (model, seed, strength, has delta, training.json extras)
    "spliceai_raw": ("spliceai_raw", 1, 0.35, True, {"status": "not trained", "target_is_own_output": True}),
    "cnn_quick": ("gated_cnn", 2, 0.5, True, {"status": "completed", "stopped_epoch": 5, "max_epochs": 8,
                                                "best_epoch": 3, "training_seconds": 95.0,
                                                "metrics": {"weights": "best epoch"},
                                                "note": "random init (no pretrained weights)"}),
    "binary_cnn": ("binary_cnn", 3, 0.2, False, {"status": "completed", "stopped_epoch": 8, "max_epochs": 8,
                                                  "best_epoch": 6, "training_seconds": 300.0, "threshold": 0.4,
                                                  "score_scale": "probability", "metrics": {"weights": "final epoch"}}),
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
    variants = _variant_table(baseline)
    variants.to_parquet(d / "variants.parquet")
    _score_table(variants).to_parquet(d / "scores.parquet")
    outputs = {k: str(d / "out" / f) for k, f in {
        "tsv": "summary.tsv", "md": "summary.md", "txt": "summary.txt", "html_path": "summary.html",
        "cutoffs": "cutoffs.html", "breakdown": "breakdown.html", "breakdown_tsv": "breakdown.tsv",
        "predictions_tsv": "predictions.tsv", "data_summary": "data_summary.html",
        "roc": "roc.svg", "pr": "pr.svg", "scatter": "scatter.svg", "training_curves": "training_curves.svg",
        "distributions": "score_distributions.svg", "reliability": "reliability.svg"}.items()}
    table = summary.make_report(calibrated_experiments=calibrated_experiments,
                                split_description="Split: test chromosomes 21, 22 (preset research_log). "
                                                  "Caveat: SpliceAI saw them.", **paths,
                                variant_summary=str(d / "variants.json"),
                                score_summary=str(d / "scores.json"), target_summary=str(d / "targets.json"),
                                rejected=str(d / "rejected.tsv"), variants=str(d / "variants.parquet"),
                                scores=str(d / "scores.parquet"), **outputs,
                                experiments=["cnn_quick", "spliceai_raw", "binary_cnn"],
                                data_description="Synthetic test data; not a performance claim.", n_bootstrap=50)
    return d, outputs, table


def test_summary_rows_order_and_columns(run_dir):
    _, out, table = run_dir
    tsv = pd.read_csv(out["tsv"], sep="\t")
    assert tsv["Experiment"].tolist() == ["spliceai_raw", "cnn_quick", "binary_cnn"]
    assert tsv["Model"].tolist() == ["spliceai_raw", "gated_cnn", "binary_cnn"]
    for col in ("Correlation", "ROC-AUC", "PR-AUC", "Detection", "FP"):
        assert col in tsv.columns and f"{col}_ci" in tsv.columns and f"best_{col}" in tsv.columns
    # no "@0.1" header: each row names its own operating point (issue 18)
    assert not [c for c in tsv.columns if "@" in c]
    assert tsv["Called at"].tolist() == ["|Δ| > 0.1", "|Δ| > 0.1", f"score ≥ {tsv.loc[2, 'Detection threshold']:.3f} (val.)"]
    # n and the number of test gene groups beside it, the test prevalence beside the assumed one
    assert (tsv["n"] == tsv["n Splice-altering"] + tsv["n Normal"]).all() and (tsv["Gene groups"] >= 1).all()
    assert tsv["Test prevalence"].iloc[0] == pytest.approx(tsv["n Splice-altering"].iloc[0] / tsv["n"].iloc[0], abs=1e-5)
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
    assert tsv.loc[tsv["FP"].idxmin(), "Experiment"] == "binary_cnn" and tsv.loc[2, "Detection"] < 0.5
    # spliceai_raw is the FP candidate; bold only if the paired interval against the runner-up excludes 0
    margin = tsv.loc[0, "FP vs runner-up"]
    assert margin.startswith("vs cnn_quick: ") and tsv["best_FP"].tolist() == ["not bolded" not in margin, False, False]
    # a bold cell says its paired difference from the runner-up, and that interval excludes 0
    lo, hi = (float(x) for x in tsv.loc[1, "ROC-AUC vs runner-up"].split("[")[1].split("]")[0].split(","))
    assert tsv.loc[1, "ROC-AUC vs runner-up"].startswith("vs ") and (lo > 0 or hi < 0)
    md = open(out["md"]).read()
    auc = table.loc[1, "ROC-AUC"]
    assert f"**{auc:.3f} [" in md
    assert "Synthetic test data; not a performance claim." in md
    assert "| reference |" in md
    lines = [line for line in md.splitlines() if line.startswith("| ")]
    assert len(lines) == 4 and lines[1].startswith("| spliceai_raw")
    html = open(out["html_path"]).read()
    assert html.count("<tr>") == 4 and 'class="num best"' in html and "<style>" in html


def test_delta_vs_baseline_consistent(run_dir):
    _, out, _ = run_dir
    tsv = pd.read_csv(out["tsv"], sep="\t")
    row = tsv.iloc[1]
    assert row["ΔROC-AUC vs spliceai_raw"] == pytest.approx(row["ROC-AUC"] - tsv.loc[0, "ROC-AUC"], abs=1e-5)
    assert row["ΔPR-AUC vs spliceai_raw"] == pytest.approx(row["PR-AUC"] - tsv.loc[0, "PR-AUC"], abs=1e-5)
    for col in ("p ΔROC-AUC", "p ΔPR-AUC", "p ΔROC-AUC DeLong (assumes independent variants)"):
        assert 0 < row[col] <= 1, col
    # Holm across the two compared rows: adjusted >= raw, and the smaller raw p is doubled
    raw, adjusted = tsv["p ΔROC-AUC"].iloc[1:].to_numpy(), tsv["p ΔROC-AUC (Holm)"].iloc[1:].to_numpy()
    assert (adjusted >= raw).all() and adjusted[raw.argmin()] == pytest.approx(min(1.0, 2 * raw.min()), abs=1e-5)
    md = open(out["md"]).read()
    assert "Holm-adjusted across the 2 rows compared with spliceai_raw" in md
    assert "assumes independent variants" in md and "cluster bootstrap over gene groups" in md


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
    assert "kept: epoch 3 (best val loss)" in curves and "spliceai_raw" not in curves
    # final weights kept: the kept epoch is the last one, never called "best"
    assert "kept: final epoch 8; best val loss at epoch 6" in curves and "kept: epoch 6" not in curves
    assert "Loss (MSE)" in curves and "Loss (BCE)" in curves
    ds = open(out["data_summary"]).read()
    assert "Variants per class and split" in ds and "ref mismatch" in ds and "unknown contig" in ds
    assert "kept (changed or merged)" in ds and "left-aligned" in ds
    assert "no gene" in ds and "target max abs delta" in ds and "target_max_abs_delta" not in ds


def test_figures_without_delta_or_trained_models(tmp_path):
    import validsplice.report.plots as plots

    preds = {"binary_cnn": _predictions(3, 0.2, delta=False)}
    plots.plot_scatter(preds, tmp_path / "s.svg")
    plots.plot_training_curves({"spliceai_raw": pd.DataFrame()}, {}, tmp_path / "t.svg")
    assert "predicts a delta" in (tmp_path / "s.svg").read_text()
    assert "No trained model" in (tmp_path / "t.svg").read_text()


def test_mismatched_input_lists_are_user_errors(tmp_path):
    from validsplice.common.rule_io import UserError

    outputs = dict.fromkeys(["tsv", "md", "txt", "html_path", "cutoffs", "breakdown", "breakdown_tsv",
                             "predictions_tsv", "data_summary", "roc", "pr", "scatter", "training_curves",
                             "distributions"], "")
    with pytest.raises(UserError, match="must follow params.experiments"):
        summary.make_report(["a.json"], [], [], [], "v", "s", "t", "r", "variants", "scores", **outputs,
                      experiments=["x"])


# ----------------------------------------------------------------- honest cells and bolding (issue 9, item 4)
def test_bold_only_where_it_means_best():
    t = honest_table().set_index("Experiment")
    # a model flagging every Normal never has the best detection; one flagging nothing never the best FP
    assert not t.loc["flags_everything", "best_Detection"] and not t.loc["flags_nothing", "best_FP"]
    assert t["best_Detection"][t["best_Detection"]].index.tolist() == ["balanced"]
    assert t["best_FP"][t["best_FP"]].index.tolist() == ["gated_on_spliceai"]
    # ROC-AUC: spliceai_raw and balanced tie at 0.900: no bold
    assert not t["best_ROC-AUC"].any()
    # Correlation: not for the model whose output is the target, nor for the one reading it
    assert t["best_Correlation"][t["best_Correlation"]].index.tolist() == ["balanced"]


def test_cells_say_what_the_number_is():
    table = honest_table()
    header, rows = table_text.display_rows(table)
    cells = {r[0][0]: dict(zip(header, (c for c, _ in r))) for r in rows}
    assert cells["spliceai_raw"]["Correlation"] == "n/a (target is this model's output)"
    assert cells["gated_on_spliceai"]["Correlation"].endswith(results_table.READS_TARGET_MARK)
    # the operating point is named per row, never "@0.1" in a header over a validation-chosen threshold
    assert not [h for h in header if "@" in h]
    assert cells["classifier"]["Called at"] == "score ≥ 0.370 (val.)"
    assert cells["balanced"]["Called at"] == "|Δ| > 0.1"
    t = table.set_index("Experiment")
    assert t.loc["classifier", "Score scale"] == "probability" and t.loc["classifier", "Detection threshold"] == 0.37
    assert t.loc["classifier", "Assumed prevalence"] == 0.3 and t.loc["balanced", "Detection threshold"] == 0.1
    md = table_formats.format_markdown(table, "synthetic")
    assert "agreement with the base model's delta, not with validated effects" in md
    assert f"FP <= {results_table.MAX_FP_FOR_BEST_DETECTION:g}" in md
    assert f"Detection >= {results_table.MIN_DETECTION_FOR_BEST_FP:g}" in md
    assert "assumed prevalence of 0.300" in md and results_table.READS_TARGET_NOTE in md


def test_caption_and_readme_state_the_rules():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    caption = " ".join((root / "workflow" / "report" / "summary.rst").read_text().split())
    readme = " ".join((root / "README.md").read_text().split())
    for text in (caption, readme):
        assert "agreement with the base model's delta, not with validated effects" in text
        assert "n/a (target is this model's output)" in text
        assert f"FP ≤ {results_table.MAX_FP_FOR_BEST_DETECTION:g}" in text
        assert f"Detection ≥ {results_table.MIN_DETECTION_FOR_BEST_FP:g}" in text
        assert "threshold chosen on validation" in text
    assert "over- or under-calls" not in readme
    assert "cannot learn a splice-altering variant that SpliceAI misses" in readme


def test_score_distribution_lines_at_each_models_threshold(tmp_path):
    import validsplice.report.plots as plots

    preds = {"spliceai_raw": _predictions(1, 0.35), "binary_cnn": _predictions(3, 0.2, delta=False)}
    rules = {"spliceai_raw": plots.CallRule(0.1), "binary_cnn": plots.CallRule(0.37, True, "validation-chosen",
                                                                              "probability")}
    plots.plot_score_distributions(preds, tmp_path / "d.svg", rules=rules)
    svg = (tmp_path / "d.svg").read_text()
    assert "called at score &gt; 0.1 (|Δ| cut-off)" in svg
    assert "called at score ≥ 0.37 (validation-chosen)" in svg
    assert svg.count("Splice-altering (n=") == 1  # one legend for all panels
    assert "10^" not in svg and "times" not in svg  # plain tick labels


# ----------------------------------------------------------------- a report people would rather read (issue 13)
def _many_experiments(n=14, extra_columns=True):
    """A wide table: long names, a probability model, and calibration-style extra metric columns."""
    names = ["spliceai_raw"] + [f"experiment_with_a_long_name_{i:02d}" for i in range(1, n)]
    metrics = [metrics_json(None, 0.9, 0.7, 0.05, own=True)]
    metrics += [metrics_json(0.5 + i / 100, 0.7 + i / 100, 0.6, 0.1, reads=(i == 3),
                         scale="probability" if i == 2 else "delta", threshold=0.412 if i == 2 else 0.1)
                for i in range(1, n)]
    for i, m in enumerate(metrics[1:], 1):  # differences from the baseline, with intervals and p-values
        d = {"difference": -0.2 + i / 100, "ci_low": -0.25 + i / 100, "ci_high": -0.15 + i / 100, "p_value": 0.0009}
        m["vs_baseline"] = {"roc_auc": d, "pr_auc": d, "delong": {"p_value": 0.001}}
    trainings = [{}] + [{"status": "trained", "note": "random init (no pretrained weights)" if i % 2 else None,
                         "stopped_epoch": 12, "max_epochs": 30, "training_seconds": 5000.0} for i in range(1, n)]
    table = results_table.summary_table(names, metrics, trainings, compare=separated_comparison)
    if extra_columns:  # columns another change adds (Brier, ECE): shown generically, value + interval
        for col in ("Brier", "ECE"):
            table[col] = 0.123
            table[f"{col}_ci"] = "[0.1000, 0.1500]"
            table[f"best_{col}"] = False
    return table


def _estimated_width_px(compact):
    """Width of the compact HTML table: 13 px body text (~7.3 px a character), 11 px second lines (~6.2 px)."""
    total = 0
    for j in range(len(compact.header)):
        cells = [row[j] for row in compact.rows]
        def text_width(c, first):
            main = max(c.text.split("_"), key=len) + "_" if first else c.text  # names wrap after "_"
            return max(len(main) * 7.3 + 6 * len(c.notes), len(c.sub) * 6.2, len(c.sub2) * 6.2)
        title, sub = compact.header[j]
        widths = [max(len(title) * 7.3, len(sub) * 6.2)] + [text_width(c, j == 0) for c in cells]
        total += max(widths) + 13  # padding and border
    return total


def test_html_table_fits_the_panel_at_1280_px():
    # the report's panel beside the menu is about 950 px wide at a 1280 px window
    compact = table_formats.compact_table(_many_experiments())
    assert [t for t, _ in compact.header][-5:] == ["Brier", "ECE", "ΔAUC", "ΔPR", "Training"]
    assert _estimated_width_px(compact) <= 950  # the panel (a row's role mark makes the name column wider)
    for row in compact.rows:  # intervals on their own line, never broken: "0.100–0.150"
        assert all(len(c.sub) <= 14 for c in row)


def test_a_reason_shared_by_columns_is_said_once():
    notes = ["Brier: P(SA) is constant", "ECE: P(SA) is constant", "ΔROC-AUC: zero variance"]
    assert table_formats._columns_per_reason(notes) == ["Brier, ECE: P(SA) is constant", "ΔROC-AUC: zero variance"]


def test_status_notes_become_footnotes():
    compact = table_formats.compact_table(_many_experiments())
    html = table_formats.compact_html(compact)
    assert "random init (no pretrained weights)" in " ".join(compact.footnotes)
    assert html.count("random init (no pretrained weights)") == 1  # once, as a note, not in every row
    assert "<sup>" in html and '<ol class="notes">' in html
    # each Det. / FP cell names its own operating point; no "@0.1" over rows called elsewhere
    row = next(r for r in compact.rows if r[0].text.endswith("_02"))
    det, fp = compact.header.index(("Det.", "")), compact.header.index(("FP", ""))
    assert row[det].sub2 == row[fp].sub2 == "≥0.412 val."
    assert compact.rows[1][det].sub2 == "|Δ|>0.1"
    delta = compact.header.index(("ΔAUC", "vs baseline"))
    assert (compact.rows[1][delta].sub, compact.rows[1][delta].sub2) == ("-0.240…-0.140", "p=0.012 Holm")


def test_terminal_table_at_most_120_characters():
    for table in (_many_experiments(), _many_experiments(4, extra_columns=False), honest_table()):
        text = table_formats.format_terminal(table)
        assert max(len(line) for line in text.splitlines()) <= 120, text
        assert "spliceai_raw" in text and "summary.tsv" in text
    narrow = table_formats.format_terminal(_many_experiments(), width=70)
    assert max(len(line) for line in narrow.splitlines()) <= 70 and "Left out for width:" in narrow


def test_reasons_are_counted_by_category_with_three_examples():
    import validsplice.common.reasons as reasons

    rows = [("normalize", f"changed by normalization: chr2:{100 + i} AT>A -> chr2:{99 + i} TA>T") for i in range(5)]
    rows += [("ref_check", f"REF mismatch: FASTA has {b}") for b in "ACG"]
    rows += [("deduplicate", "duplicate of source row 812: same class (Normal)"),
             ("deduplicate", "duplicate of source row 9: disagreeing classes (Normal vs Splice-altering): merged "
                             "as Conflicting"),
             ("ingest", "frobnicated at 12345: weird")]
    rejected = pd.DataFrame({"source_row": range(1, len(rows) + 1), "stage": [s for s, _ in rows],
                             "reason": [r for _, r in rows]})
    counts = reasons.count_by_category(rejected, {"normalize", "deduplicate"}).set_index("category")
    assert counts.loc["left-aligned or trimmed by normalization", "n"] == 5
    assert len(counts.loc["left-aligned or trimmed by normalization", "examples"]) == reasons.EXAMPLES_PER_CATEGORY
    assert counts.loc["REF does not match the FASTA", "n"] == 3
    assert counts.loc["REF does not match the FASTA", "outcome"] == "rejected"
    assert counts.loc["duplicate merged (same class)", "outcome"] == "kept (changed or merged)"
    assert "duplicate merged (disagreeing classes, now Conflicting)" in counts.index
    assert "frobnicated at N" in counts.index  # unknown reasons still group, numbers stripped
    assert counts["n"].sum() == len(rows)  # nothing lost


def test_data_summary_is_readable(run_dir):
    _, out, _ = run_dir
    ds = open(out["data_summary"]).read()
    assert "reason category" in ds and "row 4: ref mismatch" in ds
    assert "Class balance after sampling" in ds
    assert data_summary.readable_value(4.0088639963187234e-08) == "4.009e-08"
    assert data_summary.readable_value(12345) == "12,345"
    assert data_summary.readable_key("input_rows") == "input rows"
    assert data_summary.class_balance_sentence({"train": {"Splice-altering": 55, "Normal": 55}}) == \
        "train: 55 Splice-altering : 55 Normal (50% Splice-altering)"


def test_predictions_tsv_has_one_row_per_test_variant(run_dir):
    d, out, _ = run_dir
    tsv = pd.read_csv(out["predictions_tsv"], sep="\t", keep_default_na=False, na_values=[""])
    for col in ("chrom", "pos", "ref", "alt", "gene", "strand", "class", "split", "DS_AG", "DS_AL", "DS_DG", "DS_DL",
                "spliceai_raw_score", "cnn_quick_score", "binary_cnn_score"):
        assert col in tsv.columns, col
    variants = pd.read_parquet(d / "variants.parquet")
    assert len(tsv) == (variants["split"] == "test").sum() and "train_only" not in set(tsv["variant_id"])
    assert set(tsv["split"]) == {"test"}
    scored = tsv[tsv["gene"].notna()]
    assert (scored["DS_AG"] == 0.1).all()  # the variant's own gene, never another gene's row
    assert tsv.loc[tsv["gene"].isna(), "DS_AG"].isna().all()
    pred = pd.read_parquet(d / "cnn_quick.parquet").set_index("variant_id")["score"]
    assert np.allclose(tsv.set_index("variant_id")["cnn_quick_score"], pred.reindex(tsv["variant_id"]), atol=1e-5)
    # each calibrated experiment's P(SA) from its calibrated.parquet; the raw baseline has none
    assert "cnn_quick_p_sa" in tsv and "binary_cnn_p_sa" in tsv and "spliceai_raw_p_sa" not in tsv
    p_sa = pd.read_parquet(d / "cnn_quick.calibrated.parquet").set_index("variant_id")["p_sa"]
    assert np.allclose(tsv.set_index("variant_id")["cnn_quick_p_sa"], p_sa.reindex(tsv["variant_id"]), atol=1e-5)


def test_cutoff_page_delta_models_at_spliceai_cutoffs_classifier_at_its_threshold(run_dir):
    import validsplice.report.tables as report_tables

    d, out, _ = run_dir
    names = ["spliceai_raw", "cnn_quick", "binary_cnn"]
    metrics = [json.loads((d / f"{n}.metrics.json").read_text()) for n in names]
    table = report_tables.cutoff_table(names, metrics)
    cut = table.groupby("Experiment")["Cut-off"].apply(list)
    assert cut["spliceai_raw"] == [0.2, 0.5, 0.8] and cut["cnn_quick"] == [0.2, 0.5, 0.8]
    assert cut["binary_cnn"] == [0.4]
    assert (table["Sensitivity_low"] <= table["Sensitivity"]).all()
    html = open(out["cutoffs"]).read()
    assert "Sens. ≥0.2" in html and "Spec. ≥0.8" in html and "validation-chosen" in html
    assert html.count("<tr>") == 1 + len(names)  # one row per model


def test_breakdown_by_region_site_distance_and_type_with_intervals(run_dir):
    _, out, _ = run_dir
    tsv = pd.read_csv(out["breakdown_tsv"], sep="\t")
    assert set(tsv["factor"]) == {"region", "nearest_site", "distance_band", "variant_type"}
    types = set(tsv.loc[tsv["factor"] == "variant_type", "level"])
    assert {"SNV", "insertion", "deletion"} <= types
    assert "no gene" in set(tsv.loc[tsv["factor"] == "distance_band", "level"])
    defined = tsv[tsv["roc_auc"].notna()]
    assert len(defined) and (defined["roc_auc_low"] <= defined["roc_auc"] + 1e-9).all()
    assert (defined["roc_auc"] <= defined["roc_auc_high"] + 1e-9).all()
    per_model = tsv.groupby(["experiment", "factor"])[["n_splice_altering", "n_normal"]].sum()
    assert per_model.nunique().max() == 1  # every factor partitions the same variants
    html = open(out["breakdown"]).read()
    assert "Distance to the nearest exon boundary" in html and "binary_cnn" in html


def test_distance_bands():
    from validsplice.report.tables import distance_band

    bands = distance_band(pd.Series([0, -2, 3, -50, 51, 500, 501, np.nan]))
    assert bands.tolist() == ["0-2 bp", "0-2 bp", "3-10 bp", "11-50 bp", "51-500 bp", "51-500 bp", "> 500 bp",
                              "no gene"]


def test_roc_baseline_last_dashed_black_legend_outside_sorted(run_dir):
    _, out, _ = run_dir
    svg = open(out["roc"]).read()
    # legend sorted by AUC: cnn_quick (strongest) before spliceai_raw before binary_cnn
    order = [svg.index(f"{n} (AUC") for n in ("cnn_quick", "spliceai_raw", "binary_cnn")]
    assert order == sorted(order)
    # the baseline is the last curve drawn: its black dashed path comes after every coloured one
    import re
    paths = re.findall(r'<path d="[^"]{200,}"[^>]*style="([^"]*)"', svg)
    assert "stroke: #000000" in paths[-1] and "stroke-dasharray" in paths[-1]
    from validsplice.report.plots import PALETTE
    assert "#808080" not in PALETTE and "#7f7f7f" not in PALETTE


def test_coinciding_curves_are_named(tmp_path):
    import validsplice.report.plots as plots

    base = _predictions(1, 0.35)
    preds = {"spliceai_raw": base, "copy_of_raw": base.assign(score=base["score"] * 0.5), "other": _predictions(2, .5)}
    plots.plot_roc(preds, tmp_path / "roc.svg")
    svg = (tmp_path / "roc.svg").read_text()
    assert "Curves that coincide" in svg and "spliceai_raw = copy_of_raw" in svg


def test_many_experiments_highlight_the_best(tmp_path):
    import validsplice.report.plots as plots

    preds = {"spliceai_raw": _predictions(1, 0.35)}
    preds.update({f"m{i:02d}": _predictions(10 + i, 0.05 * i) for i in range(1, plots.HIGHLIGHT_FROM)})
    plots.plot_roc(preds, tmp_path / "roc.svg")
    svg = (tmp_path / "roc.svg").read_text()
    hidden = plots.HIGHLIGHT_FROM - 1 - plots.TOP_N
    assert f"{hidden} more (light grey" in svg and "m11 (AUC" in svg and "m01 (AUC" not in svg


def test_classifier_threshold_equal_to_a_spliceai_cutoff_still_shown():
    import validsplice.report.tables as report_tables

    est = {"value": 0.5, "ci_low": 0.4, "ci_high": 0.6, "n": 10}
    cutoffs = [{"cutoff": c, "source": "SpliceAI cut-off", "sensitivity": est, "specificity": est}
               for c in (0.2, 0.5, 0.8, 0.5)]
    metrics = {"score_scale": "probability", "definitions": {"detection_threshold": 0.5}, "cutoffs": cutoffs}
    table = report_tables.cutoff_table(["clf"], [metrics])
    assert table["Cut-off"].tolist() == [0.5] and table["Source"].tolist() == ["validation threshold"]


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
    assert html.index("Split: test chromosomes") < html.index("<table")
    head = html[html.index("<table"):html.index("</tr>")]
    assert "Brier" in head and "ECE" in head  # the compact table shows them, interval on the second line
    assert "n/a<sup>" in html and "not a probability" in html  # the baseline's Brier / ECE: a footnote
    text = open(out["txt"]).read()
    assert "Brier" in text and "ECE" in text and max(len(line) for line in text.splitlines()) <= 120
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
    table = results_table.summary_table(list(rows), list(rows.values()), [{} for _ in rows],
                                        compare=separated_comparison)
    best = dict(zip(table["Experiment"], table["best_ECE"]))
    assert best == {"flat": False, "a": True, "b": False}  # the constant's 0.01 is not the best ECE
    assert dict(zip(table["Experiment"], table["best_Brier"])) == {"flat": False, "a": False, "b": True}
    assert table.set_index("Experiment").loc["flat", "Constant probability"]


# ----------------------------------------------------------------- clustered statistics in the table (issue 18)
def test_no_bold_when_the_paired_interval_against_the_runner_up_includes_0():
    calls = []

    def overlapping(key, a, b):
        calls.append((key, a, b))
        return {"difference": 0.02, "ci_low": -0.01, "ci_high": 0.05}

    t = honest_table(compare=overlapping).set_index("Experiment")
    assert not any(t[f"best_{col}"].any() for col, _, _ in results_table.METRIC_COLUMNS)
    # the candidate is compared with the next best comparable row, and the TSV says why it is not bold
    assert ("detection_rate", "balanced", "spliceai_raw") in calls
    assert t.loc["balanced", "Detection vs runner-up"] == ("vs spliceai_raw: +0.0200 [-0.0100, 0.0500] "
                                                          "(includes 0: not bolded)")
    assert not results_table.summary_table(["a", "b"], [HONEST["balanced"], HONEST["classifier"]], [{}, {}])[
        "best_ROC-AUC"].any()   # no per-variant data, no evidence, no bold


def test_gene_groups_beside_n_and_a_footnote_under_10_groups():
    def with_counts(m, groups):
        m = json.loads(json.dumps(m))
        m["counts"] = {"per_class": {"Splice-altering": 30, "Normal": 70}, "headline": 100, "gene_groups": groups,
                       "test_prevalence": 0.3}
        m["training"]["threshold_selection"] = {"assumed_prevalence": 0.45, "prevalence_source": "labelled training data"}
        return m
    names = ["spliceai_raw", "balanced"]
    table = results_table.summary_table(names, [with_counts(HONEST[n], 7) for n in names], [{}, {}],
                                        compare=separated_comparison)
    assert table["Gene groups"].tolist() == [7, 7] and table["n"].tolist() == [100, 100]
    html = table_formats.format_html(table, "synthetic")
    assert "Test: 100 Splice-altering + Normal variants in 7 gene groups" in html
    assert "test prevalence 0.300 vs assumed π 0.450" in html
    note = results_table.FEW_GROUPS_NOTE[1:]
    assert note in html and html.count(note) == 1  # said once, above the table
    md = table_formats.format_markdown(table, "synthetic")
    assert "100 (7 groups) ‡" in md and f"‡ {results_table.FEW_GROUPS_NOTE}" in md
    assert "assumed π = 0.450" in md and "test prevalence = 0.300" in md and "not a clinical prior" in md
    many = results_table.summary_table(names, [with_counts(HONEST[n], 40) for n in names], [{}, {}],
                                       compare=separated_comparison)
    assert results_table.FEW_GROUPS_NOTE not in table_formats.format_html(many, "synthetic")
# ----------------------------------------------------------------- issue 19: recommended model, research-log rows
def test_roles_recommend_the_best_offset_model_on_validation_and_mark_the_rest():
    names = ["spliceai_raw", "scratch_cnn", "gbm", "paired", "flat"]
    metrics = [metrics_json(None, 0.9, 0.7, 0.05, own=True)] + [metrics_json(0.5, 0.8, 0.6, 0.1) for _ in names[1:]]
    trainings = [{}, {"status": "trained"},
                 {"status": "trained", "starts_from_base_model": True, "beats_offset": True,
                  "reads_base_model_delta": True, "metrics": {"best_val_roc_auc": 0.81}},
                 {"status": "trained", "starts_from_base_model": True, "beats_offset": True,
                  "reads_base_model_delta": True, "metrics": {"best_val_roc_auc": 0.84}},
                 {"status": "trained", "starts_from_base_model": True, "beats_offset": False,
                  "reads_base_model_delta": True, "metrics": {"best_val_roc_auc": 0.99}}]
    table = results_table.summary_table(names, metrics, trainings)
    assert table["Role"].tolist() == ["", results_table.RESEARCH_LOG, "", results_table.RECOMMENDED,
                                      results_table.NO_GAIN_OVER_OFFSET]
    text = table_formats.format_markdown(table, "demo")
    assert "paired (recommended)" in text and "scratch_cnn (research-log row)" in text
    assert "flat (did not beat its offset)" in text
    for role in (results_table.RECOMMENDED, results_table.RESEARCH_LOG, results_table.NO_GAIN_OVER_OFFSET):
        assert results_table.ROLE_NOTES[role] in text
    compact = table_formats.compact_table(table)
    assert results_table.ROLE_NOTES[results_table.NO_GAIN_OVER_OFFSET] in compact.footnotes


def test_an_unreadable_json_names_the_file_and_the_fix(tmp_path):
    """make_report, the sensitivity page and the external summary read other rules' JSON through read_json."""
    from validsplice.common.errors import UserError
    from validsplice.common.files import read_json

    (tmp_path / "ok.json").write_text('{"a": 1}')
    assert read_json(tmp_path / "ok.json") == {"a": 1}
    (tmp_path / "metrics.json").write_text("{not json")
    with pytest.raises(UserError, match=r"metrics\.json: cannot read JSON .*re-run the rule that writes it"):
        read_json(tmp_path / "metrics.json")
    with pytest.raises(UserError, match=r"missing\.json: cannot read JSON"):
        read_json(tmp_path / "missing.json")
