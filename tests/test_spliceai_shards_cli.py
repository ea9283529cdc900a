"""score_shard / gather_scores tables and the drop-in CLI on awkward input."""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pysam
import pytest

from validsplice.__main__ import main
from validsplice.common.device import resolve_device
from validsplice.common.rule_io import UserError
from validsplice.scoring.cli import HEADER_LINE
from validsplice.scoring.shards import SCORE_COLUMNS, gather_scores, score_shard

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "spliceai"
FASTA = ROOT / "resources" / "demo" / "chr2_1-2333275.fa.gz"


def reference_entries():
    return {(r.pos, r.ref, r.alts[0]): list(r.info.get("SpliceAI", []))
            for r in pysam.VariantFile(str(DATA / "spliceai_cli_output.D50.M0.vcf"))}


def test_shards_and_gather(tmp_path):
    table = pd.DataFrame({
        "variant_id": ["v1", "v2", "v3", "v4", "v5"],
        "chrom": ["chr2"] * 5,
        "pos": [231193, 277084, 150_000, 247536, 231189],
        "ref": ["T", "A", "A", "A", "G"],  # v3 is in no gene; v5 disagrees with the FASTA
        "alt": ["A", "G", "C", "G", "C"],
        "label": ["Splice-altering"] * 5,
    })
    table.to_parquet(tmp_path / "variants.parquet")
    outs = []
    for shard in range(2):
        s, p = tmp_path / f"{shard}.parquet", tmp_path / f"{shard}.profiles.npy"
        score_shard(str(tmp_path / "variants.parquet"), str(FASTA), str(s), str(p), shard=shard, n_shards=2,
                    distance=50, device="cpu", threads=2, batch_size=8)
        outs.append((str(s), str(p)))
    # shards are contiguous chunks of the position-sorted table
    first = pd.read_parquet(outs[0][0])
    assert list(first["pos"]) == sorted(first["pos"]) and first["pos"].max() < 240_000
    df = gather_scores([o[0] for o in outs], [o[1] for o in outs], str(tmp_path / "scores.parquet"),
                       str(tmp_path / "profiles.npy"), str(tmp_path / "summary.json"))
    assert list(df.columns) == SCORE_COLUMNS
    prof = np.load(tmp_path / "profiles.npy")
    scored = df[df["status"] == "scored"]
    assert prof.dtype == np.float16 and prof.shape == (len(scored), 101, 2) == (3, 101, 2)
    assert sorted(scored["profile_row"]) == [0, 1, 2]
    status = dict(zip(df["variant_id"], df["status"]))
    assert status["v3"] == "skipped: no gene" and status["v5"] == "skipped: ref mismatch"
    ref = reference_entries()
    for row in scored.itertuples():
        text = "{}|{}|{:.2f}|{:.2f}|{:.2f}|{:.2f}|{}|{}|{}|{}".format(
            row.alt, row.gene, row.DS_AG, row.DS_AL, row.DS_DG, row.DS_DL, row.DP_AG, row.DP_AL, row.DP_DG,
            row.DP_DL)
        assert [text] == ref[(row.pos, row.ref, row.alt)]
        p = prof[row.profile_row].astype(np.float32)
        # the profile is alt - ref; its extremes are the gains at DP_AG / DP_DG
        assert abs(p[row.DP_AG + 50, 0] - row.DS_AG) < 2e-3
        assert abs(p[row.DP_DG + 50, 1] - row.DS_DG) < 2e-3
        assert abs(row.max_ds - max(row.DS_AG, row.DS_AL, row.DS_DG, row.DS_DL)) < 1e-12
        # mask 0: DS_* are the unmasked values; the masked ones only ever zero a value
        assert [row.DS_AG, row.DS_AL, row.DS_DG, row.DS_DL] == [
            row.DS_AG_unmasked, row.DS_AL_unmasked, row.DS_DG_unmasked, row.DS_DL_unmasked]
        for kind in ("AG", "AL", "DG", "DL"):
            assert getattr(row, f"DS_{kind}_masked") in (0.0, getattr(row, f"DS_{kind}_unmasked"))
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["scored_rows"] == 3
    assert summary["skipped"] == {"skipped: no gene": 1, "skipped: ref mismatch": 1}
    assert summary["fallbacks"] == 0
    with pytest.raises(UserError, match="shard 2"):
        score_shard(str(tmp_path / "variants.parquet"), str(FASTA), "x", "y", shard=2, n_shards=2)


def test_cli_awkward_input(tmp_path):
    src = DATA / "spliceai_cli_input.vcf"
    header = [line for line in src.read_text().splitlines() if line.startswith("#")]
    # htslib needs END declared to write records with symbolic alleles
    header.insert(-1, '##INFO=<ID=END,Number=1,Type=Integer,Description="End position">')
    body = [
        "chr2\t231193\t.\tT\tA,G\t.\t.\t.",  # multiallelic: each ALT scored
        "chr2\t231193\t.\tG\tA\t.\t.\t.",  # REF disagrees with the FASTA
        "chr2\t247536\t.\tA\t<DEL>,*\t.\t.\t.",  # symbolic and star alleles
        "chr2\t231193\t.\t" + "T" + "A" * 101 + "\tT\t.\t.\t.",  # longer than 2D -> (ref issue first here)
        "chr2\t150000\t.\tA\tC\t.\t.\t.",  # in no gene
    ]
    vcf = tmp_path / "in.vcf"
    vcf.write_text("\n".join(header + body) + "\n")
    out = tmp_path / "out.vcf"
    rc = main(["score", "-I", str(vcf), "-O", str(out), "-R", str(FASTA), "-A", "grch38", "--device", "cpu",
               "--threads", "2", "--batch-size", "4"])
    assert rc == 0
    text = out.read_text()
    assert HEADER_LINE in text.splitlines()
    recs = list(pysam.VariantFile(str(out)))
    assert len(recs) == 5
    entries = [list(r.info["SpliceAI"]) if "SpliceAI" in r.info else [] for r in recs]
    assert entries[0][0] == reference_entries()[(231193, "T", "A")][0]
    assert entries[0][1].startswith("G|SH3YL1|") and len(entries[0]) == 2
    assert entries[1:] == [[], [], [], []]


def _fail_on_snvs(monkeypatch):
    """Make the fast engine raise on every batch of SNV alternates (an injected bug)."""
    import validsplice.scoring.incremental as incremental
    real = incremental.incremental_alt

    def failing(net, cache, base, alt_codes, v, ref_len, distance, cluster=None):
        if ref_len == 1 and alt_codes.shape[1] == 1:
            raise RuntimeError("injected")
        return real(net, cache, base, alt_codes, v, ref_len, distance, cluster)

    monkeypatch.setattr(incremental, "incremental_alt", failing)


def test_fast_engine_error_does_not_stop_shard_or_cli(tmp_path, monkeypatch, caplog):
    """An error on some variants neither stops score_shard nor the CLI: they are scored by the
    plain exact path (the original's strings), flagged ``fallback`` and counted in summary.json."""
    _fail_on_snvs(monkeypatch)
    table = pd.DataFrame({"variant_id": ["v1", "v2"], "chrom": ["chr2"] * 2, "pos": [231193, 277088],
                          "ref": ["T", "AAG"], "alt": ["A", "A"]})
    table.to_parquet(tmp_path / "variants.parquet")
    s, p = tmp_path / "0.parquet", tmp_path / "0.profiles.npy"
    with caplog.at_level("WARNING"):
        score_shard(str(tmp_path / "variants.parquet"), str(FASTA), str(s), str(p), distance=50, device="cpu",
                    threads=2)
    assert any("chr2:231193 T>A" in r.getMessage() for r in caplog.records if r.levelname == "WARNING")
    df = gather_scores([str(s)], [str(p)], str(tmp_path / "scores.parquet"), str(tmp_path / "profiles.npy"),
                       str(tmp_path / "summary.json"))
    assert list(df["status"]) == ["scored", "scored"] and list(df["flags"]) == ["fallback", ""]
    assert json.loads((tmp_path / "summary.json").read_text())["fallbacks"] == 1
    ref = reference_entries()
    for row in df.itertuples():
        text = "{}|{}|{:.2f}|{:.2f}|{:.2f}|{:.2f}|{}|{}|{}|{}".format(
            row.alt, row.gene, row.DS_AG, row.DS_AL, row.DS_DG, row.DS_DL, row.DP_AG, row.DP_AL, row.DP_DG,
            row.DP_DL)
        assert [text] == ref[(row.pos, row.ref, row.alt)]

    src = DATA / "spliceai_cli_input.vcf"
    header = [line for line in src.read_text().splitlines() if line.startswith("#")]
    vcf, out = tmp_path / "in.vcf", tmp_path / "out.vcf"
    vcf.write_text("\n".join(header + ["chr2\t231193\t.\tT\tA\t.\t.\t."]) + "\n")
    assert main(["score", "-I", str(vcf), "-O", str(out), "-R", str(FASTA), "-A", "grch38", "--device", "cpu",
                 "--threads", "2"]) == 0
    assert [list(r.info["SpliceAI"]) for r in pysam.VariantFile(str(out))] == [ref[(231193, "T", "A")]]


def test_cli_errors(tmp_path, capsys):
    assert main(["score", "-I", str(DATA / "spliceai_cli_input.vcf"), "-O", str(tmp_path / "o.vcf"),
                 "-R", str(FASTA), "-A", "grch99"]) == 1
    assert "grch99" in capsys.readouterr().err
    import torch
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="no CUDA device"):
            resolve_device("cuda")
        assert resolve_device("auto") == "cpu"
