{#- Re-applies a minion's sendmail role when its sendmail beacon reports drift. In the master config:
      reactor:
        - 'salt/beacon/*/sendmail/':
          - salt://reactor/sendmail-drift.sls
    (with this repository's salt/ directory in file_roots). Events that report a return to the
    role, or changes that are not drift, do nothing. queue: with two masters (each its own reactor,
    each minion's beacon firing to both) one drift calls several runs at once: Salt would refuse
    all but the first ("state.apply is running as PID ...", a failed job); queued, each waits for
    the one before and finds nothing left to change. -#}
{%- if data.get('drifted') %}
sendmail-drift-reapply-role:
  local.state.apply:
    - tgt: {{ data['id'] }}
    - args:
      - mods: sendmail
      - queue: True
{%- endif %}
