"""Module hygiene of the library, read statically (validsplice.config.code_deps): no import cycles, the
command line imported only by the entry point, one home for UserError and resolve_device; and of the tests:
no test module imports another."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import validsplice
from validsplice.config.code_deps import imported_modules

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "workflow" / "scripts"
PACKAGE = SCRIPTS / "validsplice"


def module_name(path: Path) -> str:
    parts = path.relative_to(SCRIPTS).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Library module -> the library modules it imports (anywhere in it; parent packages left out)."""
    graph = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = module_name(path)
        graph[name] = {m for m in imported_modules(path, SCRIPTS) if m != name and not name.startswith(m + ".")}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, set())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in graph:
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycles():
    graph = import_graph()
    assert "validsplice.training.loop" not in graph["validsplice.training.predictions"]
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


STAGES = list(validsplice.STAGES)


def stage_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in STAGES else None


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    upward = []
    for name, deps in graph.items():
        here = stage_of(name)
        if here is None:
            continue
        for dep in deps:
            there = stage_of(dep)
            if there is not None and STAGES.index(there) > STAGES.index(here):
                upward.append(f"{name} -> {dep}")
    return upward


def test_imports_point_down_the_stages():
    """No arrow from a lower stage up to a higher one (``__main__`` sits above all of them)."""
    assert upward_imports(import_graph()) == []


def test_every_module_lives_in_a_stage():
    """The package root holds only the entry point; every other module sits in a stage subpackage
    whose docstring says what it owns and which stages it may import."""
    assert sorted(p.name for p in PACKAGE.glob("*.py")) == ["__init__.py", "__main__.py"]
    assert sorted(p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__") == sorted(STAGES)
    for stage in STAGES:
        doc = (PACKAGE / stage / "__init__.py").read_text()
        assert "May import:" in doc, stage
        allowed = set(re.findall(r"``(\w+)``", doc.split("May import:")[1]))
        assert allowed <= set(STAGES[: STAGES.index(stage)]), (stage, allowed)


def test_the_stage_check_finds_an_upward_import():
    graph = {"validsplice.scoring.delta": {"validsplice.io.annotation", "validsplice.training.targets"},
             "validsplice.__main__": {"validsplice.apply.predict"}}
    assert upward_imports(graph) == ["validsplice.scoring.delta -> validsplice.training.targets"]


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_only_the_entry_point_imports_the_command_line():
    importers = {name for name, deps in import_graph().items() if "validsplice.scoring.cli" in deps}
    assert importers == {"validsplice.__main__"}


def test_one_home_for_user_error_and_resolve_device():
    text = {path: path.read_text() for path in PACKAGE.rglob("*.py")}
    assert [p.name for p, t in text.items() if re.search(r"^class UserError\b", t, re.M)] == ["errors.py"]
    assert [p.name for p, t in text.items() if re.search(r"^\s*def resolve_device\b", t, re.M)] == ["device.py"]


def test_no_dead_dependency_or_setting():
    requirements = (ROOT / "requirements.txt").read_text().lower()
    envs = "".join(p.read_text().lower() for p in (ROOT / "workflow" / "envs").glob("*.yaml"))
    code = "".join(p.read_text() for p in PACKAGE.rglob("*.py"))
    assert "polars" not in requirements + envs and "import polars" not in code
    schema = (ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text()
    assert "num_workers" not in schema + code


HEAVY = ("torch", "sklearn", "matplotlib")


def parse_time_modules() -> list[str]:
    """The library modules the Snakefile and its rule files import while parsing (read from their text)."""
    workflow = ROOT / "workflow"
    text = "".join(p.read_text() for p in [workflow / "Snakefile", *sorted((workflow / "rules").glob("*.smk"))])
    modules = set(re.findall(r"^\s*(?:from|import) (validsplice(?:\.\w+)*)", text, re.M))
    for package, names in re.findall(r"^\s*from (validsplice(?:\.\w+)*) import ([\w, ]+?)\s*(?:#.*)?$", text, re.M):
        for name in names.split(","):  # `from validsplice.config import registry` imports a module
            path = SCRIPTS.joinpath(*package.split("."), name.strip() + ".py")
            if path.exists():
                modules.add(f"{package}.{name.strip()}")
    return sorted(modules)


def test_the_workflow_parse_imports_no_torch_sklearn_or_matplotlib():
    """What `snakemake -n` imports is the parse-time core: a fresh interpreter loads it and none of the heavy
    libraries (they would cost seconds on every dry run and make parsing need the training environment)."""
    import subprocess
    import sys

    modules = parse_time_modules()
    assert "validsplice.config.registry" in modules and "validsplice.config.naming" in modules
    code = (f"import sys; sys.path.insert(0, {str(SCRIPTS)!r})\n"
            + "".join(f"import {m}\n" for m in modules)
            + f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", out


def test_the_parse_check_sees_a_heavy_import():
    import subprocess
    import sys

    code = (f"import sys; sys.path.insert(0, {str(SCRIPTS)!r})\nimport validsplice.training.predictions\n"
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "torch" in out


# ----------------------------------------------------------------- the tests themselves
def imported_test_modules(source: str) -> list[str]:
    """The ``test_*`` modules a test file imports, at any depth (a function's own import too)."""
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return [n for n in names if n.split(".")[0].startswith("test_")]


def test_test_modules_never_import_each_other():
    """What two test modules share lives in tests/helpers.py or a tests/conftest.py fixture: a test module is a
    list of tests, not a library (importing from one ties two test files together, and a ``test_*`` name
    imported into another module is collected there a second time)."""
    found = {p.name: imported_test_modules(p.read_text(encoding="utf-8"))
             for p in sorted((ROOT / "tests").glob("test_*.py"))}
    assert {name: mods for name, mods in found.items() if mods} == {}, \
        "move the shared helpers to tests/helpers.py (or a conftest fixture)"


def test_the_test_import_check_sees_every_form():
    source = ("import json\nimport test_split as s\nfrom test_report import _honest_table\nfrom helpers import B\n"
              "from validsplice.report import test_like\n\n\ndef f():\n    from test_training import write_task\n")
    assert imported_test_modules(source) == ["test_split", "test_report", "test_training"]
