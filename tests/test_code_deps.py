"""Code dependencies are computed: every rule's ``code`` param covers what its script runs.

The static walk (validsplice.config.code_deps) is checked against an independent measure: each rule
script is executed up to its first use of the ``snakemake`` object in a fresh interpreter, and
the ``validsplice`` modules Python actually loaded must all be in the rule's closure.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import validsplice.config.registry as registry
from validsplice.config.code_deps import code_digest, import_closure

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "workflow" / "scripts"
RULES = ROOT / "workflow" / "rules"

# Runs each script with a stand-in ``snakemake`` object that gives scriptdir and stops the script
# at its first other use (after the imports); prints the library files loaded, per script.
LOADED_BY_SCRIPT = r"""
import json, runpy, sys
scripts_dir, scripts, extra = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
class Stop(Exception):
    pass
class Snakemake:
    scriptdir = scripts_dir
    def __getattr__(self, name):
        raise Stop
out = {}
for script in scripts:
    for name in [m for m in sys.modules if m == "validsplice" or m.startswith("validsplice.")]:
        del sys.modules[name]
    try:
        runpy.run_path(f"{scripts_dir}/{script}", init_globals={"snakemake": Snakemake()})
    except Stop:
        pass
    import importlib
    for module in extra.get(script, []):  # loaded by name at run time (the registry's builders)
        importlib.import_module(module)
    out[script] = sorted(m.__file__ for n, m in sys.modules.items()
                         if (n == "validsplice" or n.startswith("validsplice.")) and getattr(m, "__file__", None))
print(json.dumps(out))
"""


def rule_scripts() -> dict[str, tuple[str, str]]:
    """Rule file:line -> (script the rule runs, the text of its ``code=`` param)."""
    found = {}
    for smk in sorted(RULES.glob("*.smk")):
        text = smk.read_text()
        for block in re.split(r"\n(?=\s*rule\b)", text):
            script = re.search(r'script:\s*\n\s*"\.\./scripts/(\w+\.py)"', block)
            if not script:
                continue
            name = re.search(r"rule\s*(\w*):\s*\n(?:\s*name:\s*\n\s*(.+))?", block)
            code = re.search(r"\bcode=(.+),\n", block)
            # the script in the key: two rule loops of one file share the name expression f"train_{model_name}"
            found[f"{smk.name}: {name.group(1) or name.group(2)} ({script.group(1)})"] = (
                script.group(1), code.group(1) if code else "")
    return found


def test_every_rule_with_a_script_has_the_code_param_of_that_script():
    rules = rule_scripts()
    assert len(rules) >= 13
    for rule, (script, code) in rules.items():
        assert code.startswith(f'script_code("{script}"'), f"{rule}: code={code!r} does not cover {script}"
    train = [code for script, code in rules.values() if script == "train_model.py"]
    assert train == ['script_code("train_model.py", model_module(model_name))']  # + the model's own module
    assert "library_files" not in "".join(p.read_text() for p in RULES.glob("*.smk"))  # no hand-kept lists


def test_static_closure_covers_every_module_the_scripts_load():
    scripts = sorted(p.name for p in SCRIPTS.glob("*.py"))
    models = {m: e.module for m, e in registry.MODELS.items() if e.trained}
    extra = {"train_model.py": sorted(set(models.values()))}
    proc = subprocess.run([sys.executable, "-c", LOADED_BY_SCRIPT, str(SCRIPTS), json.dumps(scripts), json.dumps(extra)],
                          capture_output=True, text=True, timeout=600, env={"PYTHONPATH": "", "PATH": "",
                                                                             "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    loaded = json.loads(proc.stdout.splitlines()[-1])
    assert set(loaded) == set(scripts)
    for script, files in loaded.items():
        closure = {str(p) for p in import_closure(SCRIPTS / script, SCRIPTS, tuple(extra.get(script, ())))}
        assert len(files) >= 2, (script, files)  # each script loads the package and rule_io at least
        missing = {str(Path(f).resolve()) for f in files} - closure
        assert not missing, f"{script}: loaded but not in its code digest: {sorted(missing)}"
    # each training rule covers its own model's module (loaded by name, invisible to the script's imports)
    for model, module in models.items():
        closure = import_closure(SCRIPTS / "train_model.py", SCRIPTS, (module,))
        assert SCRIPTS / (module.replace(".", "/") + ".py") in closure, model


def test_the_dependencies_the_hand_kept_lists_missed_are_covered():
    """issue 10: train_* missed targets.py, gather_scores annotation.py, baseline_predictions its helpers."""
    def closure(script, *extra):
        return {p.relative_to(SCRIPTS).as_posix() for p in import_closure(SCRIPTS / script, SCRIPTS, extra)}

    assert "validsplice/training/targets.py" in closure("train_model.py", "validsplice.models.gated_cnn")
    assert "validsplice/models/layers.py" in closure("train_model.py", "validsplice.models.gated_cnn")
    assert "validsplice/io/annotation.py" in closure("gather_scores.py")
    assert {"validsplice/training/predictions.py", "validsplice/training/datasets.py", "validsplice/common/provenance.py"} <= closure(
        "baseline_predictions.py")
    assert "validsplice/report/plots.py" not in closure("gather_scores.py")  # only what it imports


def test_digest_changes_exactly_when_a_file_the_script_runs_changes(tmp_path):
    scripts = tmp_path / "scripts"
    shutil.copytree(SCRIPTS, scripts, ignore=shutil.ignore_patterns("__pycache__"))

    def digest():
        code_digest.cache_clear()
        return code_digest(scripts / "gather_scores.py", scripts)

    before = digest()
    assert re.fullmatch(r"[0-9a-f]{16}", before)
    (scripts / "validsplice" / "report" / "plots.py").write_text("# not imported by gather_scores\n", encoding="utf-8")
    assert digest() == before
    annotation = scripts / "validsplice" / "io" / "annotation.py"  # imported through scoring.delta
    annotation.write_text(annotation.read_text() + "\n# edited\n")
    assert digest() != before
