{#- Applies the client role, whatever sendmail:role says, with its site's relays from pillar. -#}
{%- from "sendmail/map.jinja" import sendmail with context %}

include:
  - sendmail.package

sendmail-client-sendmail-role:
  sendmail.role:
    - name: sendmail
    - role: client
{%- if sendmail.pkgs %}
    - require:
      - pkg: sendmail-package-pkg-installed
{%- endif %}
