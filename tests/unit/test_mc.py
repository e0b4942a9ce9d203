"""The mc submodule through its public names (_modules/sendmail/mc.py)."""

from sendmail import mc, platform


def test_render_msp_mc_with_failover_and_port():
    text = mc.render("msp", ["[mx1.example.com]", "esmtp:[mx2.example.com]"], 587, ostype="debian")
    assert "FEATURE(`msp', `[mx1.example.com]:[mx2.example.com]')dnl" in text
    assert "define(`RELAY_MAILER_ARGS', `TCP $h 587')dnl" in text
    # esyscmd/syscmd are gone right after cf.m4 is included.
    lines = text.splitlines()
    assert (
        lines.index("undefine(`esyscmd')undefine(`syscmd')dnl")
        == lines.index(f"include(`{platform.DEFAULT_CF_M4}')dnl") + 1
    )
