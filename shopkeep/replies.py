"""The local brain's words: every customer-facing sentence it writes, kept as data in ``data/replies/*.yaml``.

A product team changes the wording there without touching code. Each file holds one group of replies (its stem is
the group's name, usually an agent's) and a version number, raised with each change of wording so analytics and
evals can tell which words a conversation saw::

    version: 2
    replies:
      not_allowed: "Order {order_id} is {status}, so it can't be {action}. {@base.anything_else}"

A template names the values its caller fills in as ``{field}`` and includes another reply as ``{@group.key}``
(rendered with the same values). Templates are checked when loaded: no unknown includes, no include cycles, no
format specs; a caller that names an unknown reply or leaves a field unfilled gets a ``ReplyError``, never a reply
with a hole in it. ``{{`` and ``}}`` write literal braces.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from shopkeep.settings import PROJECT_ROOT

REPLIES_DIR = PROJECT_ROOT / "data" / "replies"
_INCLUDE = "@"
_FORMATTER = string.Formatter()


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
            content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
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

    def _render(self, key: str, fields: Mapping[str, object]) -> str:
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
