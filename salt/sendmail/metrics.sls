{#- This host's Prometheus metrics for node_exporter's textfile collector, as sendmail:metrics in
    pillar asks: with it, sendmail.prom is written and the sendmail_metrics beacon keeps it fresh;
    without it, both are removed. Target it with the role (top file: - sendmail.metrics). -#}
sendmail-metrics:
  sendmail.metrics:
    - name: sendmail_metrics
