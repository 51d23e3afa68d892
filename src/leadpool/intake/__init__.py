"""Intake: leads taken in one by one, in batches or from files, checked, deduplicated, routed and
pushed, each with an answer that says what became of it."""
