"""The user documentation holds together: README.md stays short, and every relative link in README.md,
CHANGELOG.md and docs/*.md points to a file that exists (and, for `page.md#anchor`, to a heading of that page).
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README_MAX_LINES = 250

# [text](target) and ![alt](target); the target ends at the first space (an optional "title") or ")"
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)


def documentation_pages() -> list[Path]:
    return [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]


def without_code_blocks(text: str) -> str:
    return FENCE.sub("", text)


def relative_links(text: str) -> list[str]:
    links = LINK.findall(without_code_blocks(text))
    return [link for link in links if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", link)]  # no http:, mailto:


def github_anchors(markdown: str) -> set[str]:
    """The ids GitHub gives a page's headings: lower case, punctuation dropped, spaces to hyphens, -1, -2 ... on
    repeats."""
    anchors, seen = set(), {}
    for heading in HEADING.findall(without_code_blocks(markdown)):
        text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading keeps its text
        slug = re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def test_readme_fits_on_a_few_screens():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= README_MAX_LINES, (
        f"README.md has {len(lines)} lines; move detail to docs/ (at most {README_MAX_LINES})"
    )


def test_the_documentation_pages_exist():
    for page in documentation_pages():
        assert page.is_file(), f"{page.relative_to(ROOT)} is missing"


@pytest.mark.parametrize("page", documentation_pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_points_to_an_existing_file_and_heading(page):
    broken = []
    for link in relative_links(page.read_text()):
        path_part, _, anchor = link.partition("#")
        target = (page.parent / path_part).resolve() if path_part else page
        if not target.exists():
            broken.append(f"{link}: no file {target}")
        elif anchor and target.suffix == ".md" and anchor not in github_anchors(target.read_text()):
            broken.append(f"{link}: no heading with anchor #{anchor} in {target.relative_to(ROOT)}")
    assert not broken, f"{page.relative_to(ROOT)} has broken links:\n" + "\n".join(broken)


def test_the_link_checker_finds_a_broken_link_and_a_broken_anchor(tmp_path):
    # the check above must be able to fail: a missing file and a missing heading are both reported
    text = "See [a](docs/missing.md), [b](#no-such-heading), [c](https://example.org) and\n```\n[d](in/code.md)\n```\n"
    assert relative_links(text) == ["docs/missing.md", "#no-such-heading"]
    assert github_anchors("# Calibration (P_SA)\n## `score`: drop-in\n## Notes\n## Notes\n") == {
        "calibration-p_sa",
        "score-drop-in",
        "notes",
        "notes-1",
    }
