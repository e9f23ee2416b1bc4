"""Guardrails: input, tool-call and output rails; each is data (name, stage, typed result) and is tested."""
