"""Live A/B experiments on distribution: split, report, decide."""
