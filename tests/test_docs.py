"""The README and docs/: their links lead somewhere, and the README keeps its two commands."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*$", re.MULTILINE)


def prose(path: Path) -> str:
    """The page without its code blocks (a `[x](y)` in code is not a link)."""
    return FENCE.sub("", path.read_text())


def anchors(path: Path) -> set[str]:
    """The heading anchors GitHub makes: lower case, punctuation dropped, spaces to
    hyphens, a repeated one numbered."""
    seen: dict[str, int] = {}
    for heading in HEADING.findall(prose(path)):
        slug = re.sub(r"[^\w\- ]", "", heading.replace("`", "").lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        if count:
            seen[f"{slug}-{count}"] = 1
    return set(seen)


def local_links(path: Path) -> list[str]:
    return [
        target
        for target in LINK.findall(prose(path))
        if not re.match(r"[a-z]+:", target)  # https:, mailto:
    ]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_leads_to_a_file_and_heading_that_exist(page: Path) -> None:
    broken = []
    for target in local_links(page):
        file, _, anchor = target.partition("#")
        dest = (page.parent / file).resolve() if file else page
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target}: no such heading")
    assert not broken, broken


def test_the_readme_names_the_two_commands_and_shows_the_screenshots() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "```sh\nmake run\n```" in readme
    assert "```sh\nmake test\n```" in readme
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^run:", makefile, re.MULTILINE)
    assert re.search(r"^test:", makefile, re.MULTILINE)
    images = [t for t in local_links(ROOT / "README.md") if t.endswith(".png")]
    assert {"docs/images/gallery.png", "docs/images/video.png"} <= set(images)


def test_the_anchor_rule_matches_githubs() -> None:
    page = ROOT / "docs" / "architecture.md"
    assert {"to-add-", "how-a-request-flows", "details"} <= anchors(page)
    assert "the-v1-api" in anchors(ROOT / "docs" / "api.md")
