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
