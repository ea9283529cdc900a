"""`python -m validsplice score`: streaming, stdin/stdout, options and bad input like the original tool.

Most records here lie outside genes (skipped without running the network) so the I/O tests stay
fast; a few in-gene records check that scores come through.
"""
import gzip
import os
import subprocess
import sys
from pathlib import Path

import pysam
import pytest
import torch
from helpers import random_openspliceai_model

import validsplice.scoring.cli as cli
from validsplice.__main__ import main
from validsplice.scoring.cli import HEADER_LINE

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "spliceai"
FASTA = ROOT / "resources" / "demo" / "chr2_1-2333275.fa.gz"
HEADER = "##fileformat=VCFv4.2\n##contig=<ID=chr2,length=2333275>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
END_LINE = '##INFO=<ID=END,Number=1,Type=Integer,Description="End position">\n'


def ref_base(pos):
    return pysam.FastaFile(str(FASTA)).fetch("chr2", pos - 1, pos).upper()


def outside(n, start=300_000, step=997):
    """n SNV records in the gene-free stretch chr2:300,000-600,000 (REF from the FASTA)."""
    lines = []
    with pysam.FastaFile(str(FASTA)) as fa:
        for k in range(n):
            pos = start + k * step
            ref = fa.fetch("chr2", pos - 1, pos).upper()
            lines.append(f"chr2\t{pos}\t.\t{ref}\t{'C' if ref != 'C' else 'G'}\t.\t.\t.")
    return lines


IN_GENE = ["chr2\t231193\t.\tT\tA,G\t.\t.\t.", "chr2\t277084\t.\tA\tG\t.\t.\t."]


def write_vcf(path, body, header=HEADER):
    Path(path).write_text(header + "".join(line + "\n" for line in body))
    return str(path)


def score(*extra, inp, out, chunk=1000):
    return main(["score", "-I", str(inp), "-O", str(out), "-R", str(FASTA), "-A", "grch38", "--device", "cpu",
                 "--threads", "1", "--chunk-size", str(chunk), *extra])


def body_lines(path):
    return [line for line in Path(path).read_text().splitlines() if not line.startswith("#")]


def test_stdin_to_stdout_gzip_pipe(tmp_path):
    body = outside(3)[:2] + IN_GENE[1:] + outside(1, start=400_000)
    data = gzip.compress((HEADER + "".join(b + "\n" for b in body)).encode())  # plain gzip, not bgzip
    env = dict(os.environ, PYTHONPATH=str(ROOT / "workflow" / "scripts"), OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-m", "validsplice", "score", "-R", str(FASTA), "-A", "grch38",
                           "--chunk-size", "2"], input=data, capture_output=True, env=env, timeout=300)
    err = proc.stderr.decode()
    assert proc.returncode == 0, err
    text = proc.stdout.decode()
    assert HEADER_LINE in text.splitlines()
    rows = [line.split("\t") for line in text.splitlines() if not line.startswith("#")]
    assert [int(r[1]) for r in rows] == [300_000, 300_997, 277084, 400_000]  # input order kept
    assert rows[2][7].startswith("SpliceAI=G|ACP1|")
    assert "4 records read; 1 annotated (1 scores); records skipped: no gene 3" in err
    # no traceback, no htslib chatter, no CUDA warning on a CPU-only machine
    for noise in ("Traceback", "[W::", "[E::", "CUDA", "cuda"):
        assert noise not in err, err


def test_chunk_boundaries_do_not_change_output(tmp_path, caplog):
    body = outside(2) + IN_GENE + outside(3, start=500_000)
    body.sort(key=lambda line: int(line.split("\t")[1]))
    vcf = write_vcf(tmp_path / "in.vcf", body)
    outs = []
    for chunk in (1, 3, 1000):
        out = tmp_path / f"out{chunk}.vcf"
        caplog.clear()
        with caplog.at_level("INFO"):
            assert score(inp=vcf, out=out, chunk=chunk) == 0
        outs.append(out.read_bytes())
        assert "7 records read; 2 annotated (3 scores); records skipped: no gene 5" in caplog.text
    assert outs[0] == outs[1] == outs[2]  # the settings line holds no chunk size: whole files identical
    text = outs[0].decode()
    settings = [line for line in text.splitlines() if line.startswith("##validsplice_score=")]
    assert len(settings) == 1 and "-D 50; -M 0; -A grch38; model spliceai" in settings[0]
    assert len(body_lines(tmp_path / "out1.vcf")) == 7


def test_cli_strings_identical_to_original_across_chunks(tmp_path):
    """The first 16 parity records (two genes, SNVs and indels) through the CLI in chunks of 5:
    every SpliceAI= string as the original tool's (all 77 are checked on score_records)."""
    lines = (DATA / "spliceai_cli_input.vcf").read_text().splitlines()
    header = [line for line in lines if line.startswith("#")]
    body = [line for line in lines if not line.startswith("#")][:16]
    vcf = write_vcf(tmp_path / "in.vcf", body, header="\n".join(header) + "\n")
    out = tmp_path / "out.vcf"
    assert score(inp=vcf, out=out, chunk=5) == 0

    def entries(path):
        return [(r.pos, r.ref, r.alts, tuple(r.info.get("SpliceAI", ()))) for r in pysam.VariantFile(str(path))]

    assert entries(out) == entries(DATA / "spliceai_cli_output.D50.M0.vcf")[:16]


def test_failure_mid_file_keeps_written_chunks(tmp_path, monkeypatch):
    vcf = write_vcf(tmp_path / "in.vcf", outside(7))
    out = tmp_path / "out.vcf"
    real, calls = cli.score_records, []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("injected failure")
        return real(*args, **kwargs)

    monkeypatch.setattr(cli, "score_records", failing)
    with pytest.raises(RuntimeError, match="injected"):
        score(inp=vcf, out=out, chunk=2)
    assert body_lines(out) == outside(7)[:4]  # chunks 1 and 2 written and readable
    assert len(list(pysam.VariantFile(str(out)))) == 4


def test_unwritable_output_fails_before_models(tmp_path, monkeypatch, capsys):
    def no_models(*args, **kwargs):
        raise AssertionError("models loaded before the output was checked")

    monkeypatch.setattr("validsplice.scoring.weights.load_ensemble", no_models)
    vcf = write_vcf(tmp_path / "in.vcf", outside(2))
    assert score(inp=vcf, out=tmp_path / "missing" / "out.vcf") == 1
    assert "folder" in capsys.readouterr().err
    assert score(inp=vcf, out=tmp_path) == 1
    assert "is a folder" in capsys.readouterr().err
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    if not os.access(ro, os.W_OK):  # root ignores permissions
        assert score(inp=vcf, out=ro / "out.vcf") == 1
        assert "not writable" in capsys.readouterr().err


def test_distance_is_range_checked(capsys):
    for bad in ("5000", "-1", "x"):
        with pytest.raises(SystemExit):
            main(["score", "-R", str(FASTA), "-A", "grch38", "-D", bad])
        assert "-D" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["score", "--help"])
    help_text = capsys.readouterr().out
    assert "4998" not in help_text and "0 to 4999" in help_text


@pytest.mark.parametrize("case", ["symbolic_no_end", "missing_contig"])
def test_bad_record_clear_error_keeps_earlier_chunks(tmp_path, capfd, case):
    good = outside(5)
    bad = {"symbolic_no_end": "chr2\t310000\t.\tA\t<DEL>\t.\t.\t.",
           "missing_contig": "chr3\t310000\t.\tA\tG\t.\t.\t."}[case]
    vcf = write_vcf(tmp_path / "in.vcf", good[:3] + [bad] + good[3:])
    out = tmp_path / "out.vcf"
    assert score(inp=vcf, out=out, chunk=2) == 1
    err = capfd.readouterr().err
    assert "Traceback" not in err and "[E::" not in err and "[W::" not in err
    assert "Record 4 of" in err and "The records before it were written" in err
    assert {"symbolic_no_end": "INFO/END", "missing_contig": "'chr3' is not declared"}[case] in err
    assert body_lines(out) == good[:3]


def test_unindexed_gzip_inputs_need_no_index(tmp_path, capfd):
    body = outside(5)
    plain = write_vcf(tmp_path / "in.vcf", body)
    pysam.tabix_compress(plain, str(tmp_path / "bgz.vcf.gz"))  # bgzip, no .tbi/.csi
    (tmp_path / "gz.vcf.gz").write_bytes(gzip.compress(Path(plain).read_bytes()))  # plain gzip
    for name in ("bgz.vcf.gz", "gz.vcf.gz"):
        out = tmp_path / f"{name}.out.vcf"
        assert score(inp=tmp_path / name, out=out, chunk=2) == 0
        assert body_lines(out) == body
    err = capfd.readouterr().err
    assert "[E::" not in err and "[W::" not in err and "index" not in err.lower()


def test_truncated_gzip_clear_error_keeps_complete_records(tmp_path, capfd):
    body = outside(3000, step=97)
    plain = write_vcf(tmp_path / "in.vcf", body)
    for name, data in (("bgz", None), ("gz", gzip.compress(Path(plain).read_bytes()))):
        path = tmp_path / f"{name}.vcf.gz"
        if data is None:
            pysam.tabix_compress(plain, str(path))
            data = path.read_bytes()
        path.write_bytes(data[: len(data) * 2 // 3])
        out = tmp_path / f"{name}.out.vcf"
        assert score(inp=path, out=out, chunk=500) == 1
        err = capfd.readouterr().err
        assert "ends early" in err and "Traceback" not in err and "[E::" not in err
        written = body_lines(out)
        assert 0 < len(written) < len(body) and written == body[: len(written)]  # complete records only


def test_openspliceai_checkpoints(tmp_path, caplog):
    models = tmp_path / "models"
    models.mkdir()
    for i in range(2):
        torch.save(random_openspliceai_model(80, i).state_dict(), models / f"model_80nt_rs{i}.pt")
    vcf = write_vcf(tmp_path / "in.vcf", outside(1) + IN_GENE[1:])
    out = tmp_path / "out.vcf"
    with caplog.at_level("INFO"):
        assert score("--model-dir", str(models), inp=vcf, out=out) == 0  # inferred from the folder
    assert "loaded 2 openspliceai models" in caplog.text
    text = out.read_text()
    assert f"model openspliceai; model dir {models}" in text
    recs = list(pysam.VariantFile(str(out)))
    # the key 'openspliceai variant' writes (its parsers keep working); --info-key SpliceAI switches back
    assert recs[1].info["OpenSpliceAI"][0].startswith("G|ACP1|") and "SpliceAI" not in recs[1].info
    assert score("--model-dir", str(models), "--info-key", "SpliceAI", inp=vcf, out=out) == 0
    assert list(pysam.VariantFile(str(out)))[1].info["SpliceAI"] == recs[1].info["OpenSpliceAI"]
    assert score("--model", "openspliceai", inp=vcf, out=out) == 1  # needs --model-dir
    assert score("--model-dir", str(tmp_path / "nowhere"), inp=vcf, out=out) == 1


def test_write_error_is_reported(tmp_path, capfd):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    vcf = write_vcf(tmp_path / "in.vcf", outside(3))
    assert score(inp=vcf, out="/dev/full", chunk=1) == 1
    err = capfd.readouterr().err
    assert "Cannot write" in err and "no space left" in err and "Traceback" not in err
