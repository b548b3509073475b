"""What operators see of the running service, one module per concern:

- `logs`: request ids, the request's context on every record, redaction, formatters;
- `metrics`: Prometheus counters and histograms, and the /metrics view;
- `health`: the liveness and readiness probes.
"""
