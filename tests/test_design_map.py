"""docs/DESIGN.md's module map is checked against the tree, so it cannot drift (issue 21)."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "workflow" / "scripts" / "validsplice"


def mapped_modules(text: str) -> list[str]:
    """The module paths the map lists, in order (one `- \\`path.py\\`: ...` line each)."""
    section = text.split("## Module map", 1)[1]
    return re.findall(r"^- `([\w/]+\.py)`", section, re.M)


def tree_modules() -> set[str]:
    return {p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py")
            if p.name != "__init__.py" and "__pycache__" not in p.parts}


def test_the_module_map_lists_every_module_once():
    listed = mapped_modules((ROOT / "docs" / "DESIGN.md").read_text())
    duplicates = sorted({m for m in listed if listed.count(m) > 1})
    assert not duplicates, duplicates
    assert sorted(tree_modules() - set(listed)) == [], "modules missing from docs/DESIGN.md's module map"
    assert sorted(set(listed) - tree_modules()) == [], "docs/DESIGN.md lists modules that do not exist"


def test_the_map_check_sees_a_missing_module():
    text = "## Module map\n- `common/errors.py`: UserError\n- `common/errors.py`: again\n"
    assert mapped_modules(text) == ["common/errors.py", "common/errors.py"]
    assert "common/files.py" in tree_modules() - set(mapped_modules(text))


def test_stage_headings_follow_the_import_order():
    """The map's stage headings are the stages of tests/test_module_hygiene.py, in the same order."""
    from validsplice import STAGES

    text = (ROOT / "docs" / "DESIGN.md").read_text().split("## Module map", 1)[1]
    assert re.findall(r"^### `(\w+)/`", text, re.M) == list(STAGES)
