"""The mc submodule through its public names (saltext.sendmail.shared.mc)."""

from saltext.sendmail.shared import mc, platform


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


def test_masquerading_comes_before_the_msp_and_after_the_nullclient():
    msp = mc.render("msp", ["[relay.example.com]"], masquerade_as="example.test").splitlines()
    assert msp.index("MASQUERADE_AS(`example.test')dnl") < msp.index(
        "FEATURE(`msp', `[relay.example.com]')dnl"
    )
    assert "FEATURE(`masquerade_envelope')dnl" in msp and "FEATURE(`allmasquerade')dnl" in msp
    null = mc.render("nullclient", ["[relay.example.com]"], masquerade_as="example.test").splitlines()
    assert null.index("MASQUERADE_AS(`example.test')dnl") > null.index(
        "FEATURE(`nullclient', `[relay.example.com]')dnl"
    )
    server = mc.render(
        "server", [], masquerade_as="example.test", virtuser_map="/etc/mail/salt-virtusers"
    )
    assert "VIRTUSER_DOMAIN(`example.test')dnl" in server
    assert "FEATURE(`virtusertable', `hash -o /etc/mail/salt-virtusers')dnl" in server
    assert "MASQUERADE_AS" not in mc.render("msp", ["[relay.example.com]"])
