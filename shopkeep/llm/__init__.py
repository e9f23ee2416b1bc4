"""The brains behind the agents (the offline local brain, LLM providers) and the prompt registry."""
