"""Module hygiene of the library, read statically (validsplice.code_deps): no import cycles, the
command line imported only by the entry point, one home for UserError and resolve_device."""
from __future__ import annotations

import re
from pathlib import Path

from validsplice.code_deps import imported_modules

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
    assert "validsplice.training" not in graph["validsplice.predict"]
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_only_the_entry_point_imports_the_command_line():
    importers = {name for name, deps in import_graph().items() if "validsplice.spliceai.cli" in deps}
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
