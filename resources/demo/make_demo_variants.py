#!/usr/bin/env python
"""Write resources/demo/splicevardb_demo.tsv: rule-labelled demo variants in SpliceVarDB's format.

Deterministic (fixed seed): rerunning gives a byte-identical file. The labels follow a rule,
NOT experiments (see README.md in this folder):

- Splice-altering: a changed base sits at an intronic +-1/+-2 position of an internal exon
  boundary (the canonical GT/AG dinucleotides);
- Normal: every changed base is >= 50 bp from every exon boundary of the gene (or intergenic);
- Low-frequency: anything else (changed bases 3..49 bp from a boundary, or exonic 0..2);
- Conflicting: 6 variants appear twice with disagreeing classes (merged by normalization).

Also written: small indels (~15 %, 1-5 bp, VCF style with the anchor base), deletions in
homopolymer runs written right-shifted (bcftools left-aligns them), one row whose REF does
not match the FASTA and one malformed coordinate (both must be rejected).

Usage: python resources/demo/make_demo_variants.py [--out PATH]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pysam

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "workflow" / "scripts"))
from validsplice.io.annotation import GeneAnnotation  # noqa: E402

FASTA = HERE / "chr2_1-2333275.fa.gz"
SEED = 20240601
COLUMNS = ["variant_id", "hg19", "hg38", "gene", "hgvs", "method", "classification", "location", "doi"]
# variants per gene (TPO and SH3YL1 are the demo's held-out test genes, ~25 % of rows)
GENES = {"FAM110C": 14, "SH3YL1": 38, "ACP1": 28, "FAM150B": 28, "TMEM18": 26, "SNTG2": 50, "TPO": 42, "PXDN": 54}
FRACTIONS = {"Splice-altering": 0.37, "Low-frequency": 0.17}  # Normal: the rest
INDEL_FRACTION = 0.15
N_INTERGENIC = 5
N_LEFT_ALIGN = 5
N_CONFLICT = 6
N_SAME_DUP = 2


def rule_label(positions, starts, ends) -> str:
    """The documented labelling rule for the changed genomic positions (1-based)."""
    positions = np.asarray(positions)
    canonical = np.concatenate([starts[1:] - 1, starts[1:] - 2, ends[:-1] + 1, ends[:-1] + 2])
    if np.isin(positions, canonical).any():
        return "Splice-altering"
    boundaries = np.concatenate([starts, ends])
    if len(boundaries) == 0 or np.abs(positions[:, None] - boundaries[None, :]).min() >= 50:
        return "Normal"
    return "Low-frequency"


class Generator:
    def __init__(self):
        self.rng = np.random.default_rng(SEED)
        self.fa = pysam.FastaFile(str(FASTA))
        self.chrom = self.fa.references[0]
        self.seq = self.fa.fetch(self.chrom).upper()
        self.ann = GeneAnnotation.load("grch38")
        self.used: set[int] = set()
        self.rows: list[dict] = []

    def base(self, pos: int) -> str:
        return self.seq[pos - 1]

    def ok(self, first: int, last: int) -> bool:
        """Bases first..last are real (not N) and unused by earlier variants (+-3 bp)."""
        if any(p in self.used for p in range(first - 3, last + 4)):
            return False
        return "N" not in self.seq[first - 2: last]

    def make_variant(self, pos: int, indel: bool):
        """(pos, ref, alt, changed positions) for an SNV at ``pos`` or a small indel anchored before it."""
        if not indel:
            ref = self.base(pos)
            alt = str(self.rng.choice([b for b in "ACGT" if b != ref]))
            return pos, ref, alt, [pos]
        k = int(self.rng.integers(1, 6))
        anchor = pos - 1
        if self.rng.random() < 0.6:  # deletion of pos..pos+k-1
            ref = self.seq[anchor - 1: anchor + k]
            return anchor, ref, ref[0], list(range(pos, pos + k))
        ins = "".join(self.rng.choice(list("ACGT"), size=k))
        return anchor, self.base(anchor), self.base(anchor) + ins, [anchor, pos]

    def add(self, gene, label, pos, ref, alt, note=""):
        self.used.update(range(pos, pos + len(ref)))
        self.rows.append(dict(gene=gene, label=label, pos=pos, ref=ref, alt=alt, note=note))

    def gene_variants(self, name: str, n: int):
        i = self.ann.index_of(name)
        starts, ends = self.ann.exon_starts[i], self.ann.exon_ends[i]
        tx0, tx1 = int(self.ann.tx_starts[i]), int(self.ann.tx_ends[i])
        want = {c: int(round(f * n)) for c, f in FRACTIONS.items()}
        want["Normal"] = n - sum(want.values())
        canonical = np.unique(np.concatenate([starts[1:] - 1, starts[1:] - 2, ends[:-1] + 1, ends[:-1] + 2]))
        boundaries = np.concatenate([starts, ends])
        for label, count in want.items():
            made, tries = 0, 0
            while made < count and tries < 5000:
                tries += 1
                if label == "Splice-altering":
                    pos = int(self.rng.choice(canonical))
                elif label == "Low-frequency":
                    offset = int(self.rng.integers(3, 50)) * int(self.rng.choice([-1, 1]))
                    pos = int(self.rng.choice(boundaries)) + offset
                else:
                    pos = int(self.rng.integers(tx0 + 60, tx1 - 60))
                indel = self.rng.random() < INDEL_FRACTION
                vpos, ref, alt, changed = self.make_variant(pos, indel)
                if not (tx0 <= vpos <= tx1) or not self.ok(vpos, vpos + len(ref) - 1):
                    continue
                if rule_label(changed, starts, ends) != label:
                    continue
                self.add(name, label, vpos, ref, alt)
                made += 1

    def left_align_deletions(self, names):
        """Deletions of one base of a homopolymer run, written at the run's right end."""
        codes = np.frombuffer(self.seq.encode(), dtype=np.uint8)
        made = 0
        for name in names:
            i = self.ann.index_of(name)
            starts, ends = self.ann.exon_starts[i], self.ann.exon_ends[i]
            lo, hi = int(self.ann.tx_starts[i]) + 100, int(self.ann.tx_ends[i]) - 100
            seg = codes[lo - 1: hi]
            change = np.nonzero(np.diff(seg) != 0)[0] + 1  # run starts (0-based in seg)
            run_starts = np.concatenate([[0], change])
            run_lens = np.diff(np.concatenate([run_starts, [len(seg)]]))
            cand = np.nonzero((run_lens >= 5) & (run_lens <= 8) & (seg[run_starts] != ord("N")))[0]
            for c in self.rng.permutation(cand)[:20]:
                r = lo + int(run_starts[c])  # 1-based first base of the run
                m = int(run_lens[c])
                pos = r + m - 2  # right-shifted: delete the run's last base
                if not self.ok(r - 1, r + m) or rule_label(np.arange(r - 1, r + m), starts, ends) != "Normal":
                    continue
                self.add(name, "Normal", pos, self.seq[pos - 1: pos + 1], self.seq[pos - 1], "left-align")
                made += 1
                break
            if made == N_LEFT_ALIGN:
                return

    def intergenic(self):
        lo, hi = 700_000, 940_000  # between TMEM18 and SNTG2: no annotated gene
        made = 0
        while made < N_INTERGENIC:
            pos = int(self.rng.integers(lo, hi))
            if self.ok(pos, pos):
                _, ref, alt, _ = self.make_variant(pos, False)
                self.add("", "Normal", pos, ref, alt)
                made += 1

    def duplicates(self):
        """Repeat some variants: N_CONFLICT with another class, N_SAME_DUP with the same class."""
        pool = [r for r in self.rows if r["gene"] and r["gene"] not in ("TPO", "SH3YL1")]
        picks = self.rng.choice(len(pool), size=N_CONFLICT + N_SAME_DUP, replace=False)
        other = {"Splice-altering": "Normal", "Normal": "Splice-altering", "Low-frequency": "Normal"}
        for k, p in enumerate(picks):
            row = dict(pool[p])
            row["label"] = other[row["label"]] if k < N_CONFLICT else row["label"]
            row["note"] = "duplicate"
            self.rows.append(row)

    def rejects(self):
        pos = 1_000_003
        while not self.ok(pos, pos):
            pos += 7
        ref = self.base(pos)
        wrong = "A" if ref != "A" else "C"
        self.rows.append(dict(gene="SNTG2", label="Normal", pos=pos, ref=wrong, alt="G" if wrong != "G" else "T",
                              note="ref-mismatch"))
        self.rows.append(dict(gene="SNTG2", label="Normal", pos=None, ref="G", alt="A", note="malformed"))


def location(ann: GeneAnnotation, gene: str, pos: int) -> str:
    if not gene:
        return "Intergenic"
    return "Exonic" if ann.is_exonic(ann.index_of(gene), pos) else "Intronic"


def hgvs(pos, ref, alt) -> str:
    """Genomic HGVS on the GRCh38 chr2 RefSeq accession."""
    acc = "NC_000002.12:g."
    if len(ref) == 1 and len(alt) == 1:
        return f"{acc}{pos}{ref}>{alt}"
    if len(alt) == 1:
        a, b = pos + 1, pos + len(ref) - 1
        return f"{acc}{a}del" if a == b else f"{acc}{a}_{b}del"
    return f"{acc}{pos}_{pos + 1}ins{alt[1:]}"


def generate() -> list[list[str]]:
    g = Generator()
    for name, n in GENES.items():
        g.gene_variants(name, n)
    g.left_align_deletions(["SNTG2", "PXDN", "ACP1", "TMEM18", "FAM150B", "FAM110C"])
    g.intergenic()
    g.duplicates()
    g.rejects()
    return export_rows(g)


def export_rows(g: Generator) -> list[list[str]]:
    """The generator's variants as SpliceVarDB export rows, in a seeded random order."""
    order = g.rng.permutation(len(g.rows))
    out = []
    for k, idx in enumerate(order):
        r = g.rows[idx]
        coord = f"2-abc-{r['ref']}-{r['alt']}" if r["pos"] is None else f"2-{r['pos']}-{r['ref']}-{r['alt']}"
        pos = r["pos"] or 0
        out.append([
            str(100001 + k), "-", coord, r["gene"], hgvs(pos, r["ref"], r["alt"]),
            "rule-based demo label,not an experiment", r["label"], location(g.ann, r["gene"], pos) if pos else "",
            "",
        ])
    return out


def write(rows, path: Path) -> None:
    with open(path, "w", newline="") as fh:
        fh.write("\t".join(COLUMNS) + "\n")
        for row in rows:
            fh.write(row[0] + "\t" + "\t".join('"' + v.replace('"', "'") + '"' for v in row[1:]) + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(HERE / "splicevardb_demo.tsv"))
    args = parser.parse_args(argv)
    rows = generate()
    write(rows, Path(args.out))
    labels = [r[6] for r in rows]
    print(f"wrote {len(rows)} rows to {args.out}: " + ", ".join(f"{c} {labels.count(c)}" for c in sorted(set(labels))))


if __name__ == "__main__":
    main()
