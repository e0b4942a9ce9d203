"""The front page and the documentation site: every relative link resolves, and README stays short."""

import pathlib
import re

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
PAGES = [REPO / "README.md", REPO / "CHANGELOG.md", *sorted((REPO / "docs").rglob("*.md"))]
PAGES = [page for page in PAGES if "_build" not in page.parts]
# [text](target) outside code: a target that is not a URL or an anchor in the same page.
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def relative_links(page):
    """The relative targets of a page's links, ``file#anchor`` or ``#anchor`` (code left out)."""
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    text = re.sub(r"`[^`\n]*`", "", text)
    for target in LINK.findall(text):
        if not re.match(r"[a-z]+:", target):
            yield target


def anchors(page):
    """The anchors of a page's headings, as GitHub and myst-parser (myst_heading_anchors) make them."""
    headings = re.findall(r"^#{1,6} (.+)$", re.sub(r"```.*?```", "", page.read_text(), flags=re.S), re.M)
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in headings}


def broken_links(page):
    broken = []
    for target in relative_links(page):
        path, _, anchor = target.partition("#")
        linked = (page.parent / path) if path else page
        if not linked.exists() or (anchor and linked.suffix == ".md" and anchor not in anchors(linked)):
            broken.append(target)
    return broken


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(REPO)))
def test_every_relative_link_resolves(page):
    assert broken_links(page) == [], f"{page.relative_to(REPO)} links to what does not exist"


def test_a_broken_link_or_heading_would_be_seen(tmp_path):
    page = tmp_path / "page.md"
    (tmp_path / "other.md").write_text("# Other page\n\n## The fleet view\n")
    page.write_text(
        "[here](missing.md) [web](https://example.com) `[code](x.md)` [ok](other.md#the-fleet-view)\n"
        "[gone](other.md#using-it) [self](#nothing-here)\n"
    )
    assert broken_links(page) == ["missing.md", "other.md#using-it", "#nothing-here"]


def test_readme_is_a_front_page():
    text = (REPO / "README.md").read_text()
    assert len(text.splitlines()) < 250
    for part in (
        "## Two commands",
        "## Quick start",
        "## Documentation",
        "nox -e docs",
        "## Support",
        "## Licence",
    ):
        assert part in text, part


def test_every_topic_is_in_the_sites_table_of_contents():
    index = (REPO / "docs" / "index.md").read_text()
    for topic in sorted((REPO / "docs" / "topics").glob("*.md")):
        assert f"topics/{topic.stem}\n" in index, topic.name


# A docstring's pointer into the manual: (docs, "A heading's text"), the text as the page shows it.
DOCS_POINTER = re.compile(r'\(docs,\s+"([^"]+)"\)')
CODE_DIRS = ("_modules", "_states", "_runners", "_grains", "_beacons", "_output", "_utils")


def headings_shown():
    """Every heading of the docs' Markdown pages as a reader sees it (inline code marks dropped)."""
    shown = set()
    for page in PAGES:
        text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
        shown.update(
            heading.replace("`", "").strip() for heading in re.findall(r"^#{1,6} (.+)$", text, re.M)
        )
    return shown


def dangling_pointers(text, shown):
    return [
        title
        for title in (" ".join(found.split()) for found in DOCS_POINTER.findall(text))
        if title not in shown
    ]


def test_every_docs_pointer_in_the_code_names_a_heading():
    shown = headings_shown()
    files = sorted(path for name in CODE_DIRS for path in (REPO / name).rglob("*.py"))
    assert len(files) > 40
    dangling = {
        str(path.relative_to(REPO)): dangling_pointers(path.read_text(), shown) for path in files
    }
    assert {name: titles for name, titles in dangling.items() if titles} == {}


def test_a_pointer_to_a_heading_that_is_gone_would_be_seen():
    shown = headings_shown()
    text = 'the report (docs, "The one judgement:\n    sendmail.compliance") and (docs, "The judgement")'
    assert dangling_pointers(text, shown) == ["The judgement"]
