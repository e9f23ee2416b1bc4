"""Human agents' accounts and their API tokens.

A token is ``ska_<id>.<secret>``: the id (16 hex digits) is public and finds the account with one indexed read; the
secret (256 random bits) is stored only as an Argon2id hash (argon2-cffi) and shown once, when the account is made.
The parameters are OWASP's minimum for Argon2id (19 MiB, 2 passes): the secret is random, not a password people
choose, so the hash is there against a leaked table, not against guessing. A process remembers, per stored hash,
the SHA-256 of the secret it last verified, so an agent's console does not pay for Argon2 on every call; the
account row is still read every time, so a removed agent is refused at once.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from shopkeep.domain import AgentRole, HumanAgent
from shopkeep.errors import NotAuthenticatedError, NotFoundError, RuleViolationError, StoreIntegrityError
from shopkeep.store.base import CommerceStore
from shopkeep.store.inbox import inbox_records

TOKEN_PREFIX = "ska_"
_TOKEN = re.compile(r"^ska_([0-9a-f]{16})\.([A-Za-z0-9_-]{43})$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,62}[A-Za-z0-9]$|^[A-Za-z0-9]$")
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_VERIFIED_LIMIT = 1024


@dataclass(frozen=True)
class IssuedAgent:
    """A new account and its token: the only time the token exists outside its holder's hands."""

    agent: HumanAgent
    token: str

    def as_dict(self) -> dict[str, str]:
        return {"name": self.agent.name, "role": self.agent.role.value, "token": self.token}


class AgentAccounts:
    """Adds, lists, removes human agents and tells who a bearer token belongs to."""

    def __init__(self, store: CommerceStore) -> None:
        self._store = store
        self._verified: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def add(self, name: str, role: AgentRole = AgentRole.AGENT) -> IssuedAgent:
        if not _NAME.match(name):
            raise RuleViolationError(
                "An agent name is 1 to 64 letters, digits, spaces, dots, dashes or underscores, "
                "starting and ending with a letter or digit"
            )
        token_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
        agent = HumanAgent(name=name, role=role, created_at=datetime.now(UTC))
        try:
            with self._store.session(write=True) as session:
                records = inbox_records(session)
                if records.get_agent(name) is not None:
                    raise RuleViolationError(f"An agent named {name!r} already exists")
                records.add_agent(agent, token_id=token_id, token_hash=_HASHER.hash(secret))
        except StoreIntegrityError as exc:  # a concurrent add of the same name
            raise RuleViolationError(f"An agent named {name!r} already exists") from exc
        return IssuedAgent(agent=agent, token=f"{TOKEN_PREFIX}{token_id}.{secret}")

    def list(self) -> list[HumanAgent]:
        with self._store.session() as session:
            return inbox_records(session).list_agents()

    def get(self, name: str) -> HumanAgent:
        with self._store.session() as session:
            agent = inbox_records(session).get_agent(name)
        if agent is None:
            raise NotFoundError("Agent", name, f"No agent named {name!r}")
        return agent

    def remove(self, name: str) -> None:
        with self._store.session(write=True) as session:
            removed = inbox_records(session).remove_agent(name)
        if not removed:
            raise NotFoundError("Agent", name, f"No agent named {name!r}")

    def authenticate(self, token: str) -> HumanAgent:
        """The agent holding ``token``; ``NotAuthenticatedError`` for anything else."""
        match = _TOKEN.match(token.strip())
        if match is None:
            raise NotAuthenticatedError()
        token_id, secret = match.groups()
        with self._store.session() as session:
            found = inbox_records(session).agent_by_token_id(token_id)
        if found is None:
            raise NotAuthenticatedError()
        agent, stored = found
        if not self._verify(stored, secret):
            raise NotAuthenticatedError()
        return agent

    def _verify(self, stored: str, secret: str) -> bool:
        digest = hashlib.sha256(secret.encode()).digest()
        with self._lock:
            known = self._verified.get(stored)
        if known is not None:
            return hmac.compare_digest(known, digest)
        try:
            _HASHER.verify(stored, secret)
        except (VerificationError, InvalidHashError):
            return False
        with self._lock:
            if len(self._verified) >= _VERIFIED_LIMIT:
                self._verified.clear()
            self._verified[stored] = digest
        return True
