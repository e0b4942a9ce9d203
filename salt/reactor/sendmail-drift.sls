{#- Re-applies a minion's sendmail role when its sendmail beacon reports drift. In the master config:
      reactor:
        - 'salt/beacon/*/sendmail/':
          - salt://reactor/sendmail-drift.sls
    (with this repository's salt/ directory in file_roots). Events that report a return to the
    role, or changes that are not drift, do nothing. -#}
{%- if data.get('drifted') %}
sendmail-drift-reapply-role:
  local.state.apply:
    - tgt: {{ data['id'] }}
    - args:
      - mods: sendmail
{%- endif %}
