"""Eval suites: datasets of named cases, the simulated users that play them, evaluators and reports."""
