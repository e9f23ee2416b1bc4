"""Benchmarks: printed figures, never assertions. Run them with ``make bench``."""
