"""The human agents' side of Shopkeep: accounts and tokens, the escalation workflow (claim, reply, note, resolve,
hand back), live events and webhooks. The HTTP routes live in ``api/escalations.py``; the console in ``api/static``.
"""
