"""Rule build_targets: validated training targets (see validsplice.targets)."""
import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821  this checkout's validsplice wins (docs/DESIGN.md)
from validsplice.rule_io import run_rule, setup_logging
from validsplice.targets import build_targets

log = setup_logging(snakemake.log[0])  # noqa: F821  (snakemake object injected)
run_rule(
    build_targets,
    variants_path=snakemake.input.variants,  # noqa: F821
    windows_path=snakemake.input.windows,  # noqa: F821
    scores_path=snakemake.input.scores,  # noqa: F821
    profiles_path=snakemake.input.profiles,  # noqa: F821
    train_path=snakemake.output.train,  # noqa: F821
    val_path=snakemake.output.val,  # noqa: F821
    test_path=snakemake.output.test,  # noqa: F821
    out_profiles_path=snakemake.output.profiles,  # noqa: F821
    summary_path=snakemake.output.summary,  # noqa: F821
    base_profiles_path=snakemake.output.base_profiles,  # noqa: F821
    train_labelled_path=snakemake.output.train_labelled,  # noqa: F821
    val_labelled_path=snakemake.output.val_labelled,  # noqa: F821
    seed=snakemake.params.seed,  # noqa: F821
    balance=snakemake.params.balance,  # noqa: F821
    max_train_samples=snakemake.params.max_train_samples,  # noqa: F821
    distance=snakemake.params.distance,  # noqa: F821
)
