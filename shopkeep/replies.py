"""The assistant's own words: every customer-facing sentence that typed code writes (the local brain's replies, the
guardrails' refusals and notices, the graph's fallbacks, the summaries a customer confirms), kept as data in
``data/replies/*.yaml``. An LLM brain's free text is not here; its prompts are (``shopkeep.llm.prompts``).

A product team changes the wording there without touching code. Each file holds one group of replies (its stem is
the group's name: an agent's, ``guardrails``, ``graph``, ``proposals``) and a version number, raised with each change
of wording so analytics and evals can tell which words a conversation saw::

    version: 2
    replies:
      not_allowed: "Order {order_id} is {status}, so it can't be {action}. {@base.anything_else}"

A template names the values its caller fills in as ``{field}`` and includes another reply as ``{@group.key}``
(rendered with the same values). Templates are checked when loaded: no unknown includes, no include cycles, no
format specs; a caller that names an unknown reply or leaves a field unfilled gets a ``ReplyError``, never a reply
with a hole in it. ``{{`` and ``}}`` write literal braces.

Which wording a turn's reply used is recorded the way the prompt's version is: inside ``recording()`` (the
conversation service opens one per turn) every reply rendered adds ``group@version`` to the turn's set, which goes on
the turn's ``assistant`` event (``replies``), so analytics can tell the wordings apart.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from shopkeep.settings import PROJECT_ROOT

REPLIES_DIR = PROJECT_ROOT / "data" / "replies"
CODE_DIR = Path(__file__).parent
_INCLUDE = "@"
_FORMATTER = string.Formatter()
_NAMED_KEY = re.compile(r"""reply\(\s*["'](?P<key>[a-z_]+\.[a-z_]+)["']""")
"""How code names a reply: ``reply`` or ``dialog.reply`` called with the key written out as a string literal."""
_RENDERED: ContextVar[set[str] | None] = ContextVar("shopkeep_replies_rendered", default=None)


class ReplyError(ValueError):
    """A replies file is malformed, or code asked for a reply that does not exist or left one of its fields empty."""


@dataclass(frozen=True)
class Template:
    key: str
    text: str
    pieces: tuple[tuple[str, str | None], ...]
    """(literal text, field name or ``@include`` or None at the end), as ``string.Formatter.parse`` splits it."""

    @classmethod
    def parse(cls, key: str, text: str) -> Template:
        pieces: list[tuple[str, str | None]] = []
        try:
            for literal, name, spec, conversion in _FORMATTER.parse(text):
                if spec or conversion:
                    raise ReplyError(f"reply {key!r}: {{{name}}} has a format spec or conversion; write plain fields")
                if name is not None and not name:
                    raise ReplyError(f"reply {key!r}: an empty {{}} field; name it")
                pieces.append((literal, name))
        except ValueError as error:
            if isinstance(error, ReplyError):
                raise
            raise ReplyError(f"reply {key!r}: {error}") from error
        return cls(key, text, tuple(pieces))

    @property
    def includes(self) -> list[str]:
        return [name[1:] for _, name in self.pieces if name and name.startswith(_INCLUDE)]

    @property
    def own_fields(self) -> list[str]:
        return [name for _, name in self.pieces if name and not name.startswith(_INCLUDE)]


@dataclass(frozen=True)
class Replies:
    """All reply templates of one directory, by ``group.key``, and each group's version."""

    templates: Mapping[str, Template]
    versions: Mapping[str, int]

    @classmethod
    def load(cls, directory: Path = REPLIES_DIR) -> Replies:
        templates: dict[str, Template] = {}
        versions: dict[str, int] = {}
        for path in sorted(directory.glob("*.yaml")):
            group = path.stem
            try:
                content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            except yaml.YAMLError as error:
                raise ReplyError(f"{path}: not valid YAML: {error}") from error
            if not isinstance(content, dict) or not isinstance(content.get("replies"), dict):
                raise ReplyError(f"{path}: expected a mapping with 'version' and 'replies'")
            version = content.get("version")
            if not isinstance(version, int) or version < 1:
                raise ReplyError(f"{path}: 'version' must be a positive integer")
            versions[group] = version
            for key, text in content["replies"].items():
                if not isinstance(text, str) or not text.strip():
                    raise ReplyError(f"{path}: reply {key!r} must be a non-empty string")
                templates[f"{group}.{key}"] = Template.parse(f"{group}.{key}", " ".join(text.split()))
        replies = cls(templates, versions)
        for key in templates:
            replies.fields_of(key)  # unknown includes and cycles fail here, at load time
        return replies

    def fields_of(self, key: str, _seen: tuple[str, ...] = ()) -> frozenset[str]:
        """The fields a caller must fill to render ``key``, its includes' fields included."""
        if key in _seen:
            raise ReplyError(f"replies include each other in a cycle: {' -> '.join((*_seen, key))}")
        template = self._template(key, _seen[-1] if _seen else None)
        fields = set(template.own_fields)
        for included in template.includes:
            fields |= self.fields_of(included, (*_seen, key))
        return frozenset(fields)

    def render(self, key: str, /, **fields: object) -> str:
        missing = self.fields_of(key) - fields.keys()
        if missing:
            raise ReplyError(f"reply {key!r} needs {', '.join(sorted(missing))}")
        return self._render(key, fields)

    def ref(self, group: str) -> str:
        """``group@version``, as events and the CLI name a group's wording."""
        return f"{group}@{self.versions[group]}"

    def _render(self, key: str, fields: Mapping[str, object]) -> str:
        rendered = _RENDERED.get()
        if rendered is not None:
            rendered.add(self.ref(key.partition(".")[0]))
        out: list[str] = []
        for literal, name in self.templates[key].pieces:
            out.append(literal)
            if name is None:
                continue
            out.append(self._render(name[1:], fields) if name.startswith(_INCLUDE) else str(fields[name]))
        return "".join(out)

    def _template(self, key: str, included_by: str | None) -> Template:
        try:
            return self.templates[key]
        except KeyError:
            where = f" (included by {included_by!r})" if included_by else ""
            raise ReplyError(f"no reply {key!r}{where} in {REPLIES_DIR.name}/") from None


@cache
def default_replies() -> Replies:
    return Replies.load()


def reply(key: str, /, **fields: object) -> str:
    """The reply ``group.key`` of ``data/replies``, with ``fields`` filled in."""
    return default_replies().render(key, **fields)


@contextmanager
def recording() -> Iterator[set[str]]:
    """Collects ``group@version`` of every reply rendered inside, in this context and the contexts copied from it
    (the graph runs its nodes in copies of the caller's context)."""
    rendered: set[str] = set()
    token = _RENDERED.set(rendered)
    try:
        yield rendered
    finally:
        _RENDERED.reset(token)


def keys_named_in(directory: Path = CODE_DIR) -> set[str]:
    """The reply keys the code under ``directory`` asks for (see ``_NAMED_KEY``)."""
    return {
        match["key"]
        for path in directory.rglob("*.py")
        for match in _NAMED_KEY.finditer(path.read_text(encoding="utf-8"))
    }
