#!/usr/bin/env python
"""Write the demo's inputs for `predict` and external validation (deterministic, fixed seed):

- ``cohort_demo.vcf``: an unlabelled "cohort" VCF to annotate (config ``predict``): SNVs in
  genes on both strands, a multiallelic record, an insertion, a deletion, an MNV, an
  intergenic SNV and a record whose REF disagrees with the FASTA (the last two are skipped,
  as ``score`` skips them);
- ``external_demo.vcf``: a second rule-labelled set (config ``external_test``, ``source: vcf``,
  class in INFO ``CLASS``), made with the same labelling rule as ``splicevardb_demo.tsv`` but
  another seed and other positions, plus a few exact copies of training variants that the
  workflow must remove and count.

The labels follow a rule, not experiments (see README.md in this folder).
Usage: python resources/demo/make_demo_predict_inputs.py
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from make_demo_variants import HERE, Generator

SEED = 20241125
EXTERNAL_GENES = {"TPO": 10, "SH3YL1": 10, "PXDN": 8, "SNTG2": 8}  # ~1/4 Low-frequency, as the demo
N_COPIED_FROM_TRAINING = 4
HEADER = ["##fileformat=VCFv4.2", "##contig=<ID=chr2,length=2333275>"]


def training_rows() -> list[dict]:
    with open(HERE / "splicevardb_demo.tsv", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    out = []
    for r in rows:
        parts = r["hg38"].split("-")
        if len(parts) == 4 and parts[1].isdigit():
            out.append({"gene": r["gene"], "label": r["classification"], "pos": int(parts[1]), "ref": parts[2],
                        "alt": parts[3]})
    return out


def generator(training: list[dict]) -> Generator:
    g = Generator()
    g.rng = np.random.default_rng(SEED)
    for r in training:  # never reuse a training position by chance
        g.used.update(range(r["pos"], r["pos"] + len(r["ref"])))
    return g


def external_records(g: Generator, training: list[dict]) -> list[dict]:
    for name, n in EXTERNAL_GENES.items():
        g.gene_variants(name, n)
    rows = [dict(r, note="") for r in g.rows]
    # exact copies of training-gene variants (not the demo's test genes): removed as "also in training"
    pool = [r for r in training if r["gene"] not in ("TPO", "SH3YL1", "") and r["label"] in ("Splice-altering",
                                                                                              "Normal")]
    for k in g.rng.choice(len(pool), size=N_COPIED_FROM_TRAINING, replace=False):
        rows.append(dict(pool[int(k)], note="copied from training"))
    return rows


def cohort_records(g: Generator) -> list[str]:
    """Tab-separated VCF body lines (CHROM POS ID REF ALT QUAL FILTER INFO)."""
    lines = []

    def snv_near(name, offset, vid):
        i = g.ann.index_of(name)
        pos = int(g.ann.exon_ends[i][0]) + offset
        while not g.ok(pos, pos + 1):
            pos += 11
        ref = g.base(pos)
        alt = [b for b in "ACGT" if b != ref]
        g.used.update(range(pos, pos + 2))
        return pos, ref, alt, vid

    for name, offset, vid in (("TPO", 1, "tpo_exon1"), ("TPO", 300, "tpo_deep"), ("SH3YL1", 2, "sh3yl1_exon1"),
                              ("ACP1", 150, "acp1_intronic"), ("PXDN", 1, "pxdn_exon1")):
        pos, ref, alt, vid = snv_near(name, offset, vid)
        lines.append(f"chr2\t{pos}\t{vid}\t{ref}\t{alt[0]}")
    pos, ref, alt, _ = snv_near("SNTG2", 1, "")
    lines.append(f"chr2\t{pos}\tsntg2_multiallelic\t{ref}\t{alt[0]},{alt[1]}")
    pos, ref, alt, _ = snv_near("TPO", 40, "")
    lines.append(f"chr2\t{pos}\ttpo_insertion\t{ref}\t{ref}{alt[0]}{alt[1]}")
    pos, _, _, _ = snv_near("SH3YL1", 30, "")
    lines.append(f"chr2\t{pos}\tsh3yl1_deletion\t{g.seq[pos - 1:pos + 3]}\t{g.base(pos)}")
    pos, _, _, _ = snv_near("PXDN", 60, "")
    two = g.seq[pos - 1:pos + 1]
    lines.append(f"chr2\t{pos}\tpxdn_mnv\t{two}\t{''.join('T' if b != 'T' else 'A' for b in two)}")
    lines.append(f"chr2\t800000\tintergenic\t{g.base(800000)}\t{'A' if g.base(800000) != 'A' else 'C'}")
    pos, ref, _, _ = snv_near("ACP1", 400, "")
    wrong = "A" if ref != "A" else "G"
    lines.append(f"chr2\t{pos}\tref_mismatch\t{wrong}\tC" if wrong != "C" else f"chr2\t{pos}\tref_mismatch\t{wrong}\tT")
    lines.sort(key=lambda line: int(line.split("\t")[1]))
    return [f"{line}\t.\t.\t." for line in lines]


def write_vcf(path: Path, header: list[str], body: list[str]) -> None:
    columns = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"
    path.write_text("\n".join(HEADER + header + [columns] + body) + "\n")


def main() -> None:
    training = training_rows()
    g = generator(training)
    external = sorted(external_records(g, training), key=lambda r: r["pos"])
    body = [f"chr2\t{r['pos']}\text{k + 1}\t{r['ref']}\t{r['alt']}\t.\t.\tCLASS={r['label']}"
            f";GENE={r['gene']}" for k, r in enumerate(external)]
    write_vcf(HERE / "external_demo.vcf", [
        '##INFO=<ID=CLASS,Number=1,Type=String,Description="Rule-based demo label (not an experiment)">',
        '##INFO=<ID=GENE,Number=1,Type=String,Description="Gene the labelling rule used">'], body)
    labels = [r["label"] for r in external]
    print(f"external_demo.vcf: {len(external)} variants (" + ", ".join(f"{c} {labels.count(c)}"
                                                                          for c in sorted(set(labels)))
          + f"), {N_COPIED_FROM_TRAINING} copied from the training data")
    cohort = cohort_records(g)
    write_vcf(HERE / "cohort_demo.vcf", [], cohort)
    print(f"cohort_demo.vcf: {len(cohort)} records")


if __name__ == "__main__":
    main()
