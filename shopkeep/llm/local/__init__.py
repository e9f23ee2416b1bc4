"""The local brain: offline NLU (intents and entities), per-agent dialog policies and template replies."""
