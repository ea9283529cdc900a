"""Rule train_{model}: train one experiment and predict its test split (see validsplice.training.loop)."""
import sys

sys.path.insert(0, snakemake.scriptdir)  # this checkout's validsplice wins (docs/DESIGN.md)
from validsplice.common.rule_io import run_rule, setup_logging
from validsplice.training.loop import train_experiment

log = setup_logging(snakemake.log[0])
# the baseline's calibrator, an input only of models that start from calibrated SpliceAI (registry base_offset)
calibrator = getattr(snakemake.input, "base_calibrator", None)
calibrator = calibrator if isinstance(calibrator, str) else (calibrator[0] if calibrator else None)
run_rule(
    train_experiment,
    train_path=snakemake.input.train,
    val_path=snakemake.input.val,
    test_path=snakemake.input.test,
    profiles_path=snakemake.input.profiles,
    windows_path=snakemake.input.windows,
    base_profiles_path=snakemake.input.base_profiles,
    train_labelled_path=snakemake.input.train_labelled,
    val_labelled_path=snakemake.input.val_labelled,
    model_path=snakemake.output.model,
    history_path=snakemake.output.history,
    predictions_path=snakemake.output.predictions,
    val_predictions_path=snakemake.output.val_predictions,
    target_summary_path=snakemake.input.target_summary,
    base_calibrator_path=calibrator,
    training_path=snakemake.output.training,
    experiment=snakemake.params.experiment,
    model_name=snakemake.params.model,
    settings=dict(snakemake.params.settings),
    threads=snakemake.threads,
    # a model reading every base model's profile (registry reads_profiles): their names, the additional ones' files
    profile_base_models=list(snakemake.params.profile_base_models),
    extra_profiles_paths=list(snakemake.input.extra_profiles),
)
