"""Exon-site scores (validsplice.scoring.exon_sites, issue 19): the base model's probability at the nearest
exon's acceptor and donor, ref and alt, checked against a plain whole-contig computation written here."""
import numpy as np
import pandas as pd
import pysam
import pytest
import torch
from helpers import tiny_nets

import validsplice.scoring.exon_sites as exon_sites
from validsplice.common.errors import UserError
from validsplice.common.sequence import encode, one_hot, reverse_complement
from validsplice.io.annotation import GeneAnnotation
from validsplice.scoring.delta import Reference
from validsplice.scoring.exon_sites import (
    SCORE,
    SITE_COLUMNS,
    STATUS,
    exon_site_scores,
    exon_site_scores_of,
    exon_site_table,
    load_networks,
    nearest_exon_sites,
)
from validsplice.scoring.network import SpliceAINet

# ------------------------------------------------------------------ nearest_exon_sites on a hand-made annotation


def hand_annotation():
    """P: + strand, exons 101-200, 300-400, 501-600; M: the same exons on - strand; S: one exon 1001-1100;
    T: + strand whose transcript starts before its first exon and ends after its last."""
    exons = [np.array([101, 300, 501]), np.array([200, 400, 600])]
    return GeneAnnotation(
        names=np.array(["P", "M", "S", "T"]), chroms=np.array(["1", "1", "1", "1"]),
        strands=np.array(["+", "-", "+", "+"]),
        tx_starts=np.array([101, 101, 1001, 91]), tx_ends=np.array([600, 600, 1100, 610]),
        exon_starts=[exons[0], exons[0], np.array([1001]), exons[0]],
        exon_ends=[exons[1], exons[1], np.array([1100]), exons[1]])


@pytest.mark.parametrize("pos, plus, minus", [
    (350, (300, 400), (400, 300)),  # inside the internal exon
    (300, (300, 400), (400, 300)),  # on its first base
    (400, (300, 400), (400, 300)),  # on its last base
    (230, (None, 200), (200, None)),  # intron, nearer the first exon (30 vs 70)
    (280, (300, 400), (400, 300)),  # intron, nearer the internal exon (80 vs 20)
    (150, (None, 200), (200, None)),  # first exon on +: no acceptor; on -: the transcript's last exon, no donor
    (50, (None, 200), (200, None)),  # upstream of the transcript
    (550, (501, None), (None, 501)),  # last exon on +: no donor; on -: the transcript's first exon, no acceptor
    (700, (501, None), (None, 501)),  # downstream of the transcript
    (450, (300, 400), (400, 300)),  # 50 vs 51
    (451, (501, None), (None, 501)),  # 51 vs 50
])
def test_nearest_exon_sites_on_both_strands(pos, plus, minus):
    ann = hand_annotation()
    assert nearest_exon_sites(ann, 0, pos) == {"acceptor": plus[0], "donor": plus[1]}
    assert nearest_exon_sites(ann, 1, pos) == {"acceptor": minus[0], "donor": minus[1]}


def test_nearest_exon_sites_ties_single_exon_and_empty():
    ann = hand_annotation()
    # 250 is 50 from 200 and 50 from 300: a tie, the first exon in the annotation wins
    assert nearest_exon_sites(ann, 0, 250) == {"acceptor": None, "donor": 200}
    assert nearest_exon_sites(ann, 0, 251) == {"acceptor": 300, "donor": 400}
    assert nearest_exon_sites(ann, 1, 250) == {"acceptor": 200, "donor": None}
    # the same tie with the exons listed in the other order: the first listed is now the internal one
    ann.exon_starts[0], ann.exon_ends[0] = ann.exon_starts[0][[1, 0, 2]], ann.exon_ends[0][[1, 0, 2]]
    assert nearest_exon_sites(ann, 0, 250) == {"acceptor": 300, "donor": 400}
    for pos in (1000, 1050, 1200):
        assert nearest_exon_sites(ann, 2, pos) == {"acceptor": None, "donor": None}
    # the first/last rule follows the transcript bounds: an exon starting after tx_start has an acceptor
    assert nearest_exon_sites(ann, 3, 150) == {"acceptor": 101, "donor": 200}
    assert nearest_exon_sites(ann, 3, 550) == {"acceptor": 501, "donor": 600}
    ann.exon_starts[0], ann.exon_ends[0] = np.array([], dtype=np.int64), np.array([], dtype=np.int64)
    assert nearest_exon_sites(ann, 0, 150) == {"acceptor": None, "donor": None}


# ------------------------------------------------------------------ small files: FASTA, gene table, networks
LENGTHS = {"chr1": 420, "chr3": 33}
# name: (chrom, strand, 1-based inclusive exons); transcript = first exon start .. last exon end
GENES = {
    "GP": ("chr1", "+", [(21, 40), (121, 160), (261, 300)]),
    "GM": ("chr1", "-", [(306, 330), (351, 370), (391, 415)]),
    "GE": ("chr3", "-", [(1, 4), (10, 20), (28, 32)]),  # sites within a few bases of both contig ends
    "GX": ("chr1", "+", [(100, 110)]),  # single exon
}
DUPLICATE_GP = ("chr1", "+", [(21, 40), (50, 100), (250, 300)])  # a later row of the same name: never used


def make_files(tmp_path, seed=0):
    rng = np.random.default_rng(seed)
    seqs = {c: "".join(rng.choice(list("ACGT"), n)) for c, n in LENGTHS.items()}
    fasta = tmp_path / "ref.fa"
    fasta.write_text("".join(f">{c}\n{s}\n" for c, s in seqs.items()))
    pysam.faidx(str(fasta))
    lines = ["#NAME\tCHROM\tSTRAND\tTX_START\tTX_END\tEXON_START\tEXON_END"]
    for name, (chrom, strand, exons) in [*GENES.items(), ("GP", DUPLICATE_GP)]:
        starts = "".join(f"{s - 1}," for s, _ in exons)  # 0-based starts, trailing commas (SpliceAI's format)
        ends = "".join(f"{e}," for _, e in exons)
        lines.append(f"{name}\t{chrom}\t{strand}\t{exons[0][0] - 1}\t{exons[-1][1]}\t{starts}\t{ends}")
    table = tmp_path / "genes.txt"
    table.write_text("\n".join(lines) + "\n")
    return seqs, fasta, table


def medium_nets(n=2):
    """Like tiny_nets with a wider receptive field (38 each side), so 12-30 base indels fall inside it."""
    torch.manual_seed(1)
    nets = [SpliceAINet(units=((3, 1), (5, 3), (5, 6)), skip_taps=(0, 1, 3), channels=6) for _ in range(n)]
    for net in nets:
        for p in net.parameters():
            torch.nn.init.normal_(p, std=0.3)
    return nets


# ------------------------------------------------------------------ the plain computation
def plain_sites(gene, pos):
    """Nearest exon (ties: first listed) and its sites in transcript order, from GENES directly."""
    chrom, strand, exons = GENES[gene]
    k = min(range(len(exons)), key=lambda i: max(exons[i][0] - pos, pos - exons[i][1], 0))
    start, end = exons[k]
    first_in_tx, last_in_tx = (k == 0, k == len(exons) - 1) if strand == "+" else (k == len(exons) - 1, k == 0)
    if strand == "+":
        return {"acceptor": None if first_in_tx else start, "donor": None if last_in_tx else end}
    return {"acceptor": None if first_in_tx else end, "donor": None if last_in_tx else start}


def plain_probs(seq, strand, nets, weights, half):
    """(len(seq), 3) weighted mean of forward_same over the whole N-padded contig, genomic order."""
    padded = "N" * half + seq + "N" * half
    if strand == "-":
        padded = reverse_complement(padded)
    x = torch.from_numpy(one_hot(encode(padded))).T[None].contiguous()
    total = sum(w * net.forward_same(x)[0].double() for net, w in zip(nets, weights)) / sum(weights)
    y = total.numpy()
    assert y.shape == (len(seq), 3)
    return y[::-1] if strand == "-" else y


def plain_row(seqs, v, nets, weights, base_model):
    chrom, strand, _ = GENES[v["gene"]]
    seq = seqs[chrom]
    pos, ref, alt = v["pos"], v["ref"], v["alt"]
    assert seq[pos - 1:pos - 1 + len(ref)] == ref
    alt_seq = seq[:pos - 1] + alt + seq[pos - 1 + len(ref):]
    half = nets[0].half_context
    y_ref, y_alt = plain_probs(seq, strand, nets, weights, half), plain_probs(alt_seq, strand, nets, weights, half)
    channel = {"acceptor": 1, "donor": 1 if base_model == "pangolin" else 2}
    ref_end, d = pos + len(ref) - 1, len(alt) - len(ref)
    row, delta = {c: np.nan for c in SITE_COLUMNS}, 0.0
    for kind, p in plain_sites(v["gene"], pos).items():
        if p is None:
            continue
        r = y_ref[p - 1, channel[kind]]
        if p > ref_end:
            a = y_alt[p + d - 1, channel[kind]]
        elif p >= pos + len(alt):
            a = 0.0  # the deletion removed the site
        else:
            a = y_alt[p - 1, channel[kind]]
        row[f"{kind}_pos"], row[f"ref_{kind}"], row[f"alt_{kind}"] = p, r, a
        delta += abs(a - r)
    row[SCORE] = delta
    return row


def cases(seqs, half):
    """Variants (dicts) covering the kinds of change; ``half`` the networks' receptive radius."""
    def base(chrom, pos, n=1):
        return seqs[chrom][pos - 1:pos - 1 + n]

    def other(b):
        return "".join("CGTA"["ACGT".index(c)] for c in b)

    def snv(gene, pos, tag):
        chrom = GENES[gene][0]
        return {"variant_id": tag, "chrom": chrom, "pos": pos, "ref": base(chrom, pos), "alt": other(base(chrom, pos)),
                "gene": gene}

    def ins(gene, pos, n, tag):
        chrom = GENES[gene][0]
        return {"variant_id": tag, "chrom": chrom, "pos": pos, "ref": base(chrom, pos),
                "alt": base(chrom, pos) + "".join(np.random.default_rng(pos).choice(list("ACGT"), n)), "gene": gene}

    def dele(gene, pos, n, tag):  # anchored: n bases after pos removed
        chrom = GENES[gene][0]
        return {"variant_id": tag, "chrom": chrom, "pos": pos, "ref": base(chrom, pos, n + 1), "alt": base(chrom, pos),
                "gene": gene}

    mnv = {"variant_id": "mnv", "chrom": "chr1", "pos": 157, "ref": base("chr1", 157, 3),
           "alt": other(base("chr1", 157, 3)), "gene": "GP"}
    delins = {"variant_id": "delins_over_donor", "chrom": "chr1", "pos": 158, "ref": base("chr1", 158, 4),
              "alt": other(base("chr1", 158, 2)), "gene": "GP"}  # 158-161 -> 2 bases: the donor 160 is removed
    return [
        snv("GP", 124, "snv_exon_plus"), snv("GP", 121, "snv_on_acceptor"), mnv, delins,
        ins("GP", 115, 30, "ins30_upstream_plus"), dele("GP", 108, 12, "del12_upstream_plus"),
        dele("GP", 116, 11, "del_removes_acceptor"), ins("GP", 160, 5, "ins_after_donor_anchor"),
        snv("GP", 30, "snv_first_exon"), snv("GP", 270, "snv_last_exon"),
        snv("GP", 160 + half, "snv_at_reach"), snv("GP", 160 + half + 1, "snv_beyond_reach"),
        ins("GP", 121 - half - 1, 20, "ins_beyond_reach"),  # inserted bases after lo - 1: sites move, inputs don't
        snv("GM", 360, "snv_exon_minus"), ins("GM", 375, 30, "ins30_minus_after_sites"),
        ins("GM", 345, 30, "ins30_minus_before_sites"), dele("GM", 345, 11, "del_removes_donor_minus"),
        dele("GM", 372, 12, "del12_minus"), snv("GM", 400, "snv_first_exon_minus"),
        snv("GM", 320, "snv_last_exon_minus"),
        snv("GE", 2, "snv_contig_start"), snv("GE", 30, "snv_contig_end"), dele("GE", 29, 2, "del_contig_end"),
        ins("GE", 5, 7, "ins_contig_start"),
        dele("GP", 118, 2, "del2_within_reach_before_acceptor"), dele("GM", 371, 2, "del2_within_reach_after_acceptor_minus"),
        dele("GP", 162, 3, "del3_within_reach_after_donor"), dele("GM", 346, 2, "del2_within_reach_before_donor_minus"),
    ]


NET_SETS = {"tiny": tiny_nets, "medium": medium_nets}
# deletions between a window's edge (first site - reach, last site + reach) and the nearest site, or across
# that edge: the shifted site's receptive field in the alternate reaches |length change| bases past the edge
CONTEXT_DELETIONS = ["del12_upstream_plus", "del12_minus", "del_contig_end", "del2_within_reach_before_acceptor",
                     "del2_within_reach_after_acceptor_minus", "del3_within_reach_after_donor",
                     "del2_within_reach_before_donor_minus"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return make_files(tmp_path_factory.mktemp("exon_sites"))


@pytest.mark.parametrize("net_set, base_model, weights", [
    ("tiny", "spliceai", [1, 1]), ("tiny", "pangolin", [2, 1]),
    ("medium", "spliceai", [1, 1]), ("medium", "pangolin", [2, 1]), ("medium", "openspliceai", [1, 1]),
])
def test_exon_site_scores_match_the_plain_computation(files, net_set, base_model, weights):
    seqs, fasta, table = files
    nets = NET_SETS[net_set]()
    half = nets[0].half_context
    variants = pd.DataFrame(cases(seqs, half))
    got = exon_site_scores(variants, Reference(str(fasta)), GeneAnnotation.load(table), nets, weights, base_model)
    assert list(got["variant_id"]) == list(variants["variant_id"])
    assert (got[STATUS] == "computed").all(), got[STATUS].tolist()
    # the plain side: weight 2 = the network listed twice, an ordinary mean
    plain_nets = [net for net, w in zip(nets, weights) for _ in range(w)]
    expected = pd.DataFrame([plain_row(seqs, v, plain_nets, [1] * len(plain_nets), base_model)
                             for v in variants.to_dict("records")])
    for col in SITE_COLUMNS:
        np.testing.assert_allclose(got[col].to_numpy(float), expected[col].to_numpy(float), atol=1e-6, rtol=0,
                                   err_msg=f"{col} ({net_set}, {base_model})")
    by = got.set_index("variant_id")
    # the test cases do what they say: shifts, removals, missing sites, the reach
    assert by.loc["ins30_upstream_plus", "acceptor_pos"] == 121 and by.loc["ins30_upstream_plus", "donor_pos"] == 160
    assert by.loc["del_removes_acceptor", "alt_acceptor"] == 0.0 and by.loc["del_removes_acceptor", "ref_acceptor"] > 0
    assert by.loc["del_removes_donor_minus", "alt_donor"] == 0.0
    assert by.loc["delins_over_donor", "alt_donor"] == 0.0
    assert np.isnan(by.loc["snv_first_exon", "acceptor_pos"]) and np.isnan(by.loc["snv_first_exon", "ref_acceptor"])
    assert np.isnan(by.loc["snv_last_exon", "donor_pos"]) and np.isnan(by.loc["snv_last_exon", "alt_donor"])
    assert np.isnan(by.loc["snv_first_exon_minus", "acceptor_pos"]) and by.loc["snv_first_exon_minus", "donor_pos"] == 391
    assert np.isnan(by.loc["snv_last_exon_minus", "donor_pos"]) and by.loc["snv_last_exon_minus", "acceptor_pos"] == 330
    for far in ("snv_beyond_reach", "ins_beyond_reach"):  # no pass: exactly the reference
        assert by.loc[far, SCORE] == 0.0, far
        for kind in ("acceptor", "donor"):
            assert by.loc[far, f"alt_{kind}"] == by.loc[far, f"ref_{kind}"], far
    assert by.loc["snv_at_reach", "alt_donor"] != by.loc["snv_at_reach", "ref_donor"]  # one base nearer: it counts
    assert by.loc["del_removes_acceptor", SCORE] > 0.01 and (by[SCORE] >= 0).all()
    # the delta is the sum of the two |alt - ref| (a missing site adds 0)
    parts = (by["alt_acceptor"] - by["ref_acceptor"]).abs().fillna(0) + (by["alt_donor"] - by["ref_donor"]).abs().fillna(0)
    np.testing.assert_allclose(by[SCORE], parts, atol=1e-12)


def test_pangolin_reads_channel_1_and_spliceai_channel_2_at_the_donor(files):
    seqs, fasta, table = files
    nets = medium_nets()
    variants = pd.DataFrame(cases(seqs, nets[0].half_context)[:4])
    ref, ann = Reference(str(fasta)), GeneAnnotation.load(table)
    spliceai = exon_site_scores(variants, ref, ann, nets, [1, 1], "spliceai")
    pangolin = exon_site_scores(variants, ref, ann, nets, [1, 1], "pangolin")
    np.testing.assert_array_equal(spliceai["ref_acceptor"], pangolin["ref_acceptor"])
    assert not np.allclose(spliceai["ref_donor"], pangolin["ref_donor"])
    # weights matter: [2, 1] is not [1, 1]
    weighted = exon_site_scores(variants, ref, ann, nets, [2, 1], "spliceai")
    assert not np.allclose(weighted["ref_acceptor"], spliceai["ref_acceptor"])


# ------------------------------------------------------------------ skips and bookkeeping
def test_skipped_rows_keep_their_place_with_a_reason(files):
    seqs, fasta, table = files
    nets = tiny_nets()
    a = seqs["chr1"][123]  # position 124
    b = "C" if a != "C" else "G"
    wrong = "A" if a != "A" else "T"
    rows = [
        ("ok_chr_prefix", "chr1", 124, a, b, "GP", "computed"),
        ("no_gene", "chr1", 124, a, b, "", "skipped: no annotated gene"),
        ("nan_gene", "chr1", 124, a, b, None, "skipped: no annotated gene"),
        ("unknown_gene", "chr1", 124, a, b, "NOPE", "skipped: gene NOPE is not in the annotation"),
        ("wrong_ref", "chr1", 124, wrong, b, "GP", "skipped: ref allele differs from the reference FASTA"),
        ("n_allele", "chr1", 124, a, "N", "GP", "skipped: allele with a base other than A, C, G, T"),
        ("dash_allele", "chr1", 124, a, "-", "GP", "skipped: allele with a base other than A, C, G, T"),
        ("empty_allele", "chr1", 124, a, "", "GP", "skipped: allele with a base other than A, C, G, T"),
        ("no_contig", "chr9", 124, a, b, "GP", "skipped: contig chr9 is not in the reference FASTA"),
        ("single_exon", "chr1", 105, seqs["chr1"][104], "A", "GX",
         "skipped: the gene's exon has no splice site (a single-exon transcript)"),
        ("ok_no_prefix_lower", "1", 124, a.lower(), b.lower(), "GP", "computed"),
    ]
    variants = pd.DataFrame(rows, columns=["variant_id", "chrom", "pos", "ref", "alt", "gene", "expected"])
    got = exon_site_scores(variants.drop(columns="expected"), Reference(str(fasta)), GeneAnnotation.load(table),
                           nets, [1, 1], "spliceai")
    assert len(got) == len(variants) and list(got["variant_id"]) == list(variants["variant_id"])
    assert list(got.columns) == ["variant_id", STATUS, *SITE_COLUMNS]
    assert got[STATUS].tolist() == variants["expected"].tolist()
    skipped = got[STATUS] != "computed"
    assert got.loc[skipped, SITE_COLUMNS].isna().all().all()
    assert got.loc[~skipped, SITE_COLUMNS].notna().all().all()
    # the same variant by 'chr1' and by '1' (lower-case alleles): the same numbers
    np.testing.assert_array_equal(got.loc[0, SITE_COLUMNS].to_numpy(float), got.loc[10, SITE_COLUMNS].to_numpy(float))
    # the first annotation row of a name wins (GP's duplicate row has an exon 50-100 whose donor would be 100)
    assert got.loc[0, "acceptor_pos"] == 121 and got.loc[0, "donor_pos"] == 160


def test_a_table_without_a_gene_column_skips_every_row(files):
    seqs, fasta, table = files
    variants = pd.DataFrame({"variant_id": ["a", "b"], "chrom": "chr1", "pos": [124, 125],
                             "ref": [seqs["chr1"][123], seqs["chr1"][124]], "alt": "A"})
    got = exon_site_scores(variants, Reference(str(fasta)), GeneAnnotation.load(table), tiny_nets(), [1, 1], "spliceai")
    assert got[STATUS].tolist() == ["skipped: no annotated gene"] * 2 and got[SITE_COLUMNS].isna().all().all()


def test_exon_site_scores_of_orders_by_variant_id_and_names_problems():
    table = pd.DataFrame({"variant_id": ["b", "a", "c", "a"], STATUS: "computed", SCORE: [0.2, 0.1, np.nan, 9.0]})
    variants = pd.DataFrame({"variant_id": ["c", "a", "b", "a"]})
    got = exon_site_scores_of(variants, table)
    assert got.dtype == float and got.index.tolist() == [0, 1, 2, 3]
    np.testing.assert_array_equal(got.to_numpy(), [np.nan, 0.1, 0.2, 0.1])  # the first row of an id wins
    with pytest.raises(UserError, match=r"scores\.parquet: 1 variant\(s\).*e\.g\. z.*re-run base_model_exon_sites"):
        exon_site_scores_of(pd.DataFrame({"variant_id": ["a", "z"]}), table, path="scores.parquet")
    with pytest.raises(UserError, match=r"t\.parquet: not an exon-site table"):
        exon_site_scores_of(variants, table.drop(columns=SCORE), path="t.parquet")
    with pytest.raises(UserError, match="not an exon-site table"):
        exon_site_scores_of(variants, table.drop(columns="variant_id"))


# ------------------------------------------------------------------ end to end, networks, batching
def test_exon_site_table_writes_the_scores(files, tmp_path, monkeypatch):
    seqs, fasta, annotation = files
    nets = medium_nets()
    variants = pd.DataFrame([v for v in cases(seqs, nets[0].half_context) if v["variant_id"] not in CONTEXT_DELETIONS])
    variants.loc[1, "gene"] = ""  # one skipped row travels too
    variants["label"] = "Normal"  # extra columns are fine
    table = tmp_path / "variants.parquet"
    variants.to_parquet(table)
    calls = []

    def fake_load(base_model, folder, device):
        calls.append((base_model, folder, device))
        return nets, [2, 1]

    monkeypatch.setattr(exon_sites, "load_networks", fake_load)
    out = tmp_path / "deep" / "pangolin.parquet"
    frame = exon_site_table(table, fasta, annotation, out, base_model="pangolin", model_dir="models/p",
                            device="cpu", batch_size=3, threads=1)
    assert calls == [("pangolin", "models/p", "cpu")]
    written = pd.read_parquet(out)
    pd.testing.assert_frame_equal(written, frame)
    direct = exon_site_scores(variants, Reference(str(fasta)), GeneAnnotation.load(annotation), nets, [2, 1],
                              "pangolin")
    pd.testing.assert_frame_equal(written, direct, check_exact=False, atol=1e-6, rtol=0)  # batch 3 vs 16
    assert written[STATUS].tolist().count("skipped: no annotated gene") == 1 and len(written) == len(variants)
    with pytest.raises(UserError, match=r"missing column\(s\) \['gene'\]"):
        variants.drop(columns="gene").to_parquet(tmp_path / "nogene.parquet")
        exon_site_table(tmp_path / "nogene.parquet", fasta, annotation, out, device="cpu")
    (tmp_path / "bad.parquet").write_text("not parquet")
    with pytest.raises(UserError, match="Cannot read variant table"):
        exon_site_table(tmp_path / "bad.parquet", fasta, annotation, out, device="cpu")


def test_load_networks_rejects_an_unknown_base_model():
    with pytest.raises(UserError, match=r"Unknown base model 'splicebert'.*spliceai, openspliceai, pangolin"):
        load_networks("splicebert", "", "cpu")


def test_batch_size_does_not_change_the_results(files):
    seqs, fasta, table = files
    nets = medium_nets()
    half = nets[0].half_context
    rng = np.random.default_rng(3)
    variants = [v for v in cases(seqs, half) if v["variant_id"] not in CONTEXT_DELETIONS]
    for k in range(30):  # random SNVs, MNVs and insertions in the two chr1 genes: windows of many lengths
        gene = ["GP", "GM"][k % 2]
        pos = int(rng.integers(*((22, 299) if gene == "GP" else (307, 414))))
        n = int(rng.integers(1, 4))
        ref = seqs["chr1"][pos - 1:pos - 1 + n]
        mutated = "".join("CGTA"["ACGT".index(c)] for c in ref)
        alt = mutated if k % 3 else ref + "".join(rng.choice(list("ACGT"), int(rng.integers(1, 9))))
        variants.append({"variant_id": f"r{k}", "chrom": "chr1", "pos": pos, "ref": ref, "alt": alt, "gene": gene})
    variants = pd.DataFrame(variants)
    ref, ann = Reference(str(fasta)), GeneAnnotation.load(table)
    one = exon_site_scores(variants, ref, ann, nets, [1, 1], "spliceai", batch_size=1)
    sixteen = exon_site_scores(variants, ref, ann, nets, [1, 1], "spliceai", batch_size=16)
    assert (one[STATUS] == "computed").all()
    # equal up to float32 rounding: other batch widths may run other convolution kernels
    pd.testing.assert_frame_equal(one, sixteen, check_exact=False, atol=1e-6, rtol=0)
    assert one[SCORE].max() > 1e-3  # the variants do move the sites


def test_a_deletion_that_swallows_a_whole_window(files):
    """A deletion removing the only site and more than the networks' reach around it leaves an alternate
    window shorter than the networks' context; its site reads 0 whatever the batch."""
    seqs, fasta, table = files
    nets = tiny_nets()
    half = nets[0].half_context
    # GP's first exon 21-40 has only a donor (40): its window is 40 - 6 .. 40 + 6
    pos = 40 - half - 1
    variants = pd.DataFrame([{"variant_id": "big_del", "chrom": "chr1", "pos": pos,
                              "ref": seqs["chr1"][pos - 1:40 + half], "alt": seqs["chr1"][pos - 1], "gene": "GP"}])
    expected = plain_row(seqs, variants.iloc[0].to_dict(), nets, [1, 1], "spliceai")
    for batch_size in (1, 16):
        got = exon_site_scores(variants, Reference(str(fasta)), GeneAnnotation.load(table), nets, [1, 1],
                               "spliceai", batch_size=batch_size)
        assert got.loc[0, STATUS] == "computed" and got.loc[0, "alt_donor"] == 0.0
        assert got.loc[0, SCORE] == pytest.approx(expected[SCORE], abs=1e-6)


@pytest.mark.parametrize("net_set", ["tiny", "medium"])
@pytest.mark.parametrize("variant_id", CONTEXT_DELETIONS)
def test_a_deletion_near_the_window_edge_keeps_the_shifted_sites_context(files, net_set, variant_id):
    """A site after a deletion moves by its length: its alternate probability reads the bases the deletion
    pulls into its reach, which lie beyond the reference window's edge."""
    seqs, fasta, table = files
    nets = NET_SETS[net_set]()
    v = next(c for c in cases(seqs, nets[0].half_context) if c["variant_id"] == variant_id)
    got = exon_site_scores(pd.DataFrame([v]), Reference(str(fasta)), GeneAnnotation.load(table), nets, [1, 1],
                           "spliceai", batch_size=1)
    expected = plain_row(seqs, v, nets, [1, 1], "spliceai")
    for col in SITE_COLUMNS:
        assert got.loc[0, col] == pytest.approx(expected[col], abs=1e-6, nan_ok=True), col
