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
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    text = re.sub(r"`[^`\n]*`", "", text)
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        yield target.split("#", 1)[0]


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(REPO)))
def test_every_relative_link_resolves(page):
    broken = [target for target in relative_links(page) if not (page.parent / target).exists()]
    assert broken == [], f"{page.relative_to(REPO)} links to what does not exist"


def test_a_broken_link_would_be_seen(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("[here](missing.md) [web](https://example.com) `[code](x.md)`\n")
    assert list(relative_links(page)) == ["missing.md"]


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
