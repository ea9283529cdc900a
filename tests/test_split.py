"""Splits: held-out chromosomes or genes, validation carved by whole gene groups, seeded."""
from __future__ import annotations

import pandas as pd
import pytest
from helpers import gene_variants

from validsplice.common.rule_io import UserError
from validsplice.variants.split import assign_splits, gene_groups


def genes_in_two_splits(table, split):
    per_gene = pd.DataFrame({"gene": table["gene"], "split": split}).query("gene != ''")
    return per_gene.groupby("gene")["split"].nunique().max()


@pytest.mark.parametrize("mode", ["chromosome", "gene"])
def test_no_gene_in_two_splits_and_deterministic(mode):
    t = gene_variants()
    kw = dict(mode=mode, test_chromosomes=["21", "chr22"], test_genes=["G1", "G2", "G3"], validation_fraction=0.15, seed=42)
    split = assign_splits(t, **kw)
    assert genes_in_two_splits(t, split) == 1
    assert set(split) == {"train", "val", "test"}
    assert (split == assign_splits(t, **kw)).all()
    assert (split != assign_splits(t, **{**kw, "seed": 7})).any()
    rest = split != "test"
    assert abs((split == "val").sum() / rest.sum() - 0.15) < 0.03  # fraction of variants, not genes
    if mode == "chromosome":  # chr prefixes harmonized: "21" matches chr21
        assert set(t["chrom"][split == "test"]) == {"chr21", "chr22"}
    else:
        assert set(t["gene"][split == "test"]) == {"G1", "G2", "G3"}


def test_overlapping_genes_form_one_group():
    t = pd.DataFrame({
        "variant_id": ["a", "b", "c", "d", "e"], "chrom": "chr1",
        "gene": ["X", "X", "Y", "Z", ""], "genes": ["X", "X;Y", "Y", "Z", ""],
    })
    groups = gene_groups(t)
    assert groups[0] == groups[1] == groups[2] == "X" and groups[3] == "Z" and groups[4] == "variant:e"
    split = assign_splits(t, mode="gene", test_genes=["Y"], validation_fraction=0.0)
    assert list(split) == ["test", "test", "test", "train", "train"]


def test_bad_settings_raise():
    t = gene_variants(50)
    with pytest.raises(UserError, match="test_genes"):
        assign_splits(t, mode="gene", test_genes=[])
    with pytest.raises(UserError, match="chromosome"):
        assign_splits(t, mode="random")
    with pytest.raises(UserError, match="validation_fraction"):
        assign_splits(t, mode="chromosome", validation_fraction=1.5)


def test_split_presets():
    from validsplice.variants.split import SPLICEAI_TRAINING_CHROMOSOMES, resolve_split
    t = gene_variants()
    holdout = assign_splits(t, preset="spliceai_holdout", mode="chromosome", test_chromosomes=["chr21", "chr22"])
    test_chroms = set(t.loc[holdout == "test", "chrom"].str.removeprefix("chr"))
    assert test_chroms == {"1", "3", "5", "7", "9"}  # the preset replaces test_chromosomes
    assert not test_chroms & set(SPLICEAI_TRAINING_CHROMOSOMES)
    assert set(t.loc[holdout != "test", "chrom"].str.removeprefix("chr")).isdisjoint(test_chroms)
    research = assign_splits(t, preset="research_log")
    assert (research == assign_splits(t, mode="chromosome", test_chromosomes=["chr21", "chr22"])).all()
    assert resolve_split({"preset": "", "mode": "gene", "test_genes": ["A"]}) == {"mode": "gene", "test_genes": ["A"]}
    with pytest.raises(UserError, match="split.mode is 'gene'"):
        assign_splits(t, preset="spliceai_holdout", mode="gene", test_genes=["G1"])
    with pytest.raises(UserError, match="spliceai_holdout"):
        assign_splits(t, preset="chr1_only")


def test_split_description_names_the_split_and_the_spliceai_caveat():
    from validsplice.variants.split import describe_split
    research = describe_split({"preset": "research_log"})
    assert "test chromosomes 21, 22 (preset research_log)" in research
    assert "splice sites SpliceAI saw in training" in research and "spliceai_holdout" in research
    holdout = describe_split({"preset": "spliceai_holdout", "test_chromosomes": ["chr21"]})
    assert "1, 3, 5, 7, 9" in holdout and "Caveat" not in holdout and "held-out" in holdout
    gene = describe_split({"mode": "gene", "test_genes": ["TPO", "SH3YL1"]})
    assert "held-out genes TPO, SH3YL1" in gene and "Caveat" in gene
    assert "Caveat" in describe_split({"mode": "chromosome", "test_chromosomes": ["chr3", "chr4"]})
