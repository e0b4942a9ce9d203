"""
Writes the pillar reference (``ref/pillar.md``) from the package's one schema
(``saltext.sendmail.shared.schema``) when the build starts: every key, its type and what it means,
so that the page cannot drift from what the code accepts.
"""

import pathlib

try:
    from saltext.sendmail.shared import platform, schema
except ImportError:  # Salt is not installed to build the docs: stand in for it, as autodoc does
    from sphinx.ext.autodoc.mock import mock

    with mock(["salt", "psutil"]):
        from saltext.sendmail.shared import platform, schema

HEAD = """# Pillar reference

Generated from the package's schema (`saltext/sendmail/shared/schema.py`) when the site is built:
these are exactly the keys the package accepts. Every key is checked for its type and allowed
values; an unknown key or a wrong type fails that minion's role state and `sendmail.settings`,
changing nothing, with a comment naming the key path and the closest known key
(`sendmail:msp_intervall: unknown key; did you mean msp_interval?`). Check a fleet's pillar without
applying anything: `salt '*' sendmail.validate` (an empty list: all is well). `pillar.example`
shows each key in use.

| key | type | meaning |
|---|---|---|
"""


def _type(spec):
    if isinstance(spec, schema.Mapping):
        return "a mapping"
    if isinstance(spec, schema.Each):
        return "a mapping of names"
    words = schema.type_words(spec)
    return f"{words} (secret)" if spec.secret else words


def _spec_of(path):
    spec = schema.PILLAR
    for part in path.split(":")[1:]:
        spec = spec.spec if isinstance(spec, schema.Each) else spec.keys[part]
    return spec


def rows():
    """(key path, type, meaning) of every key but the lookup's, in the schema's order."""
    found = []
    for path in schema.key_paths():
        if ":lookup:" in path:
            continue
        meaning = schema.DOCS[path].replace("``", "`").replace("|", "\\|")
        found.append((path, _type(_spec_of(path)), meaning))
    return found


def markdown():
    lines = [f"| `{path}` | {kind} | {meaning} |" for path, kind, meaning in rows()]
    lookup = ", ".join(f"`{key}`" for key in platform.DEFAULTS)
    return (
        HEAD
        + "\n".join(lines)
        + "\n\n`sendmail:lookup` takes these keys (`salt '*' sendmail.lookup` shows their values): "
        + f"{lookup}.\n"
    )


def write(app):
    target = pathlib.Path(app.srcdir) / "ref" / "pillar.md"
    text = markdown()
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")


def setup(app):
    app.connect("builder-inited", write)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
