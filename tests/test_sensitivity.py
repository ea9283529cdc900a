"""Sensitivity analysis: the table with Low-frequency counted as Splice-altering (a second page)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from validsplice.evaluation.evaluate import evaluate_predictions
from validsplice.evaluation.sensitivity import relabel
from validsplice.report.sensitivity import sensitivity_report
from validsplice.training.predictions import prediction_table


def _predictions(tmp_path, name, labels, score):
    table = prediction_table(pd.DataFrame({"variant_id": [f"v{i}" for i in range(len(labels))], "label": labels,
                                           "split": "test", "target_max_abs_delta": np.nan}), score)
    path = tmp_path / f"{name}.parquet"
    table.to_parquet(path, index=False)
    return path, table


def test_low_frequency_counts_as_splice_altering_on_the_second_page_only(tmp_path):
    rng = np.random.default_rng(0)
    labels = np.array(["Splice-altering"] * 40 + ["Normal"] * 60 + ["Low-frequency"] * 30 + ["Conflicting"] * 5)
    sa, lf = labels == "Splice-altering", labels == "Low-frequency"
    # "sees_lf" ranks Low-frequency like Splice-altering; the baseline ranks it like Normal
    base = np.where(sa, rng.uniform(0.4, 1.0, len(labels)), rng.uniform(0.0, 0.6, len(labels)))
    sees = np.where(sa | lf, rng.uniform(0.4, 1.0, len(labels)), rng.uniform(0.0, 0.6, len(labels)))
    paths, tables = {}, {}
    for name, score in (("spliceai_raw", base), ("sees_lf", np.clip(sees, 0, 1))):
        paths[name], tables[name] = _predictions(tmp_path, name, labels, score)
    trainings = []
    for name, scale in (("spliceai_raw", "delta"), ("sees_lf", "probability")):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps({"experiment": name, "model": name, "status": "trained", "score_scale": scale,
                                    "threshold": None if scale == "delta" else 0.5}))
        trainings.append(str(path))
    cal = tmp_path / "sees_lf.calibrated.parquet"
    tables["sees_lf"].assign(p_sa=tables["sees_lf"]["score"])[["variant_id", "label", "split", "score", "p_sa"]] \
        .to_parquet(cal, index=False)
    table = sensitivity_report(experiments=["spliceai_raw", "sees_lf"],
                               predictions=[str(paths["spliceai_raw"]), str(paths["sees_lf"])], trainings=trainings,
                               calibrated=[str(cal)], calibrated_experiments=["sees_lf"],
                               tsv=tmp_path / "sensitivity.tsv", html=tmp_path / "sensitivity.html", n_bootstrap=50)
    headline = {n: evaluate_predictions(tables[n], baseline=tables["spliceai_raw"], n_bootstrap=50,
                                        training=json.loads(open(t).read()))["headline"]["roc_auc"]
                for n, t in zip(("spliceai_raw", "sees_lf"), trainings)}
    by_name = table.set_index("Experiment")
    # the headline (Splice-altering vs Normal, 100 variants) is the same for both rankings of SA vs Normal ...
    assert headline["sees_lf"]["n"] == headline["spliceai_raw"]["n"] == 100
    # ... the sensitivity table counts the 30 Low-frequency as positives: the baseline loses, sees_lf does not
    assert by_name.loc["spliceai_raw", "ROC-AUC"] < headline["spliceai_raw"]["value"] - 0.05
    assert by_name.loc["sees_lf", "ROC-AUC"] > by_name.loc["spliceai_raw", "ROC-AUC"] + 0.1
    assert by_name.loc["sees_lf", "ΔROC-AUC vs spliceai_raw"] > 0.1
    on_disk = pd.read_csv(tmp_path / "sensitivity.tsv", sep="\t")
    assert list(on_disk["Experiment"]) == ["spliceai_raw", "sees_lf"]
    page = (tmp_path / "sensitivity.html").read_text()
    assert "Low-frequency counted as Splice-altering" in page and "30 Low-frequency test variant(s)" in page
    # Conflicting stays out; the original label is kept beside the new one
    moved = relabel(tables["sees_lf"])
    assert (moved["label"] == "Splice-altering").sum() == 70 and (moved["label"] == "Conflicting").sum() == 5
    assert (moved.loc[moved["source_label"] == "Low-frequency", "label"] == "Splice-altering").all()
