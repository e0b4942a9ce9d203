{#- Applies the role that pillar gives this minion (sendmail:role), with its site's relays from pillar. -#}
{%- from "sendmail/map.jinja" import sendmail with context %}

include:
  - sendmail.package

sendmail-init-sendmail-role:
  sendmail.role:
    - name: sendmail
{%- if sendmail.pkgs %}
    - require:
      - pkg: sendmail-package-pkg-installed
{%- endif %}
