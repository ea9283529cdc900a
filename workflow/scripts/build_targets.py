"""Rule build_targets: validated training targets (see validsplice.training.targets)."""
import sys

sys.path.insert(0, snakemake.scriptdir)  # this checkout's validsplice wins (docs/DESIGN.md)
from validsplice.common.rule_io import run_rule, setup_logging
from validsplice.training.targets import build_targets

log = setup_logging(snakemake.log[0])
run_rule(
    build_targets,
    variants_path=snakemake.input.variants,
    windows_path=snakemake.input.windows,
    scores_path=snakemake.input.scores,
    profiles_path=snakemake.input.profiles,
    train_path=snakemake.output.train,
    val_path=snakemake.output.val,
    test_path=snakemake.output.test,
    out_profiles_path=snakemake.output.profiles,
    summary_path=snakemake.output.summary,
    base_profiles_path=snakemake.output.base_profiles,
    train_labelled_path=snakemake.output.train_labelled,
    val_labelled_path=snakemake.output.val_labelled,
    seed=snakemake.params.seed,
    balance=snakemake.params.balance,
    max_train_samples=snakemake.params.max_train_samples,
    distance=snakemake.params.distance,
    fold=snakemake.params.fold,
    validation_fraction=snakemake.params.validation_fraction,
    split_seed=snakemake.params.split_seed,
)
