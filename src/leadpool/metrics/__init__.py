"""Metrics (product rules, Metrics): per pool, per rep, per source, over time; API, CLI and Prometheus."""
