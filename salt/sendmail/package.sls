{#- sendmail, its cf.m4 files and m4, which the role states build with; nothing on a host whose
    MTA is not sendmail (postfix, exim: sendmail.packages), which the formula leaves alone. -#}
{%- from "sendmail/map.jinja" import sendmail with context %}

{%- if sendmail.pkgs %}
sendmail-package-pkg-installed:
  pkg.installed:
    - pkgs: {{ sendmail.pkgs | json }}
{%- endif %}
