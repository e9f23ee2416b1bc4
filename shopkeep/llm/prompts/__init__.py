"""Versioned system prompts, one file per agent and version (``orders.v1.md``), and the registry that resolves them.

Each file starts with YAML front matter (``id``, ``version``, ``agent``, ``description``; ``draft: true`` keeps a
version out of the default). The body names the shop as ``{{shop_name}}`` and includes the shop's own policy (its
profile's, see ``shopkeep.shop.profile``) by reference, never by copy: ``{{policy}}`` includes all of it,
``{{policy: Heading; Other heading}}`` only those sections. The demo's policy must have every section a prompt
names; a shop's own policy need not follow the demo's headings, so a prompt whose sections it lacks gets the whole
policy. Prompts are rendered for the profile as it is now: when another process changes the shop, the next
conversation turn uses the new name and policy. An agent's default prompt is its highest non-draft version; an
experiment variant may pin another (see ``shopkeep.llm.experiments``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from langchain_core.messages import SystemMessage

from shopkeep.domain.shop import DEMO_SHOP_NAME, ShopProfile
from shopkeep.errors import StoreUnavailableError
from shopkeep.llm.experiments import Experiment
from shopkeep.shop.profile import FixedProfile, ProfileSource

PROMPTS_DIR = Path(__file__).parent
_FRONT_MATTER = re.compile(r"\A---\n(?P<meta>.*?)\n---\n(?P<body>.*)\Z", re.DOTALL)
_INCLUDE = re.compile(r"\{\{\s*policy\s*(?::(?P<sections>[^}]*))?\}\}")
_SHOP_NAME = re.compile(r"\{\{\s*shop_name\s*\}\}")
_HEADING = re.compile(r"^## +(?P<title>.+?)\s*$", re.MULTILINE)


class PromptError(ValueError):
    """A prompt file is malformed, or names a policy section or a version that does not exist."""


@dataclass(frozen=True)
class PromptTemplate:
    """One prompt file: its identity and its unrendered body."""

    id: str
    version: int
    agent: str
    description: str
    body: str
    path: Path
    draft: bool = False

    @property
    def ref(self) -> str:
        """``id@version``, as events and the CLI name it."""
        return f"{self.id}@{self.version}"

    @classmethod
    def read(cls, path: Path) -> PromptTemplate:
        match = _FRONT_MATTER.match(path.read_text(encoding="utf-8"))
        if match is None:
            raise PromptError(f"{path.name}: no front matter (a '---' block with id, version and agent)")
        meta: Any = yaml.safe_load(match.group("meta"))
        if not isinstance(meta, dict) or not {"id", "version", "agent"} <= meta.keys():
            raise PromptError(f"{path.name}: front matter needs id, version and agent")
        return cls(
            id=str(meta["id"]),
            version=int(meta["version"]),
            agent=str(meta["agent"]),
            description=str(meta.get("description", "")),
            body=match.group("body").strip(),
            path=path,
            draft=bool(meta.get("draft", False)),
        )


@dataclass(frozen=True)
class Policy:
    """The shop's policy text, split into its ``##`` sections. ``strict``: a prompt naming a section the text lacks
    is an error (the demo's policy); otherwise such a prompt gets the whole text (a shop's own policy)."""

    text: str
    strict: bool = True

    @classmethod
    def read(cls, path: Path) -> Policy:
        return cls(path.read_text(encoding="utf-8").strip())

    @classmethod
    def of(cls, profile: ShopProfile) -> Policy:
        return cls(profile.policy.strip(), strict=profile.demo)

    @cached_property
    def sections(self) -> dict[str, str]:
        starts = list(_HEADING.finditer(self.text))
        return {
            m.group("title"): self.text[m.start() : starts[n + 1].start() if n + 1 < len(starts) else None].strip()
            for n, m in enumerate(starts)
        }

    def include(self, sections: str | None) -> str:
        if sections is None or not sections.strip():
            return self.text
        wanted = [s.strip() for s in sections.split(";") if s.strip()]
        missing = [s for s in wanted if s not in self.sections]
        if missing and self.strict:
            raise PromptError(f"no policy section {', '.join(map(repr, missing))}; have {list(self.sections)}")
        if missing:
            return self.text
        return "Store policy (excerpts):\n\n" + "\n\n".join(self.sections[s] for s in wanted)


@dataclass(frozen=True)
class Prompt:
    """A rendered prompt, ready to send, with what it was rendered from."""

    id: str
    version: int
    agent: str
    text: str
    variant: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.id}@{self.version}"

    def system_message(self) -> SystemMessage:
        meta = {"agent": self.agent, "prompt": self.ref, "variant": self.variant}
        return SystemMessage(content=self.text, additional_kwargs=meta)


class PromptRegistry:
    """Every prompt file of a directory; resolves ``agent -> version`` (with an experiment's pins) and renders them
    for the shop's current profile."""

    def __init__(
        self, templates: list[PromptTemplate], shop: ProfileSource, experiment: Experiment | None = None
    ) -> None:
        self._templates = {(t.agent, t.version): t for t in templates}
        if len(self._templates) != len(templates):
            raise PromptError("two prompt files share an agent and a version")
        self.shop = shop
        self.experiment = experiment or Experiment()
        self._rendered: tuple[ShopProfile, dict[tuple[str, int], str]] | None = None

    @classmethod
    def load(
        cls, shop: ProfileSource | Path, directory: Path = PROMPTS_DIR, experiment: Experiment | None = None
    ) -> PromptRegistry:
        """The prompt files of ``directory`` for a shop (``shop``: its profile source, or a policy file of the demo)."""
        if isinstance(shop, Path):
            policy = Policy.read(shop).text
            shop = FixedProfile(ShopProfile(name=DEMO_SHOP_NAME, policy=policy, demo=True))
        templates = [PromptTemplate.read(p) for p in sorted(directory.glob("*.md"))]
        registry = cls(templates, shop, experiment)
        try:
            for template in templates:  # fail at start-up, not on the first conversation that needs the prompt
                registry.render(template)
        except StoreUnavailableError:
            pass  # the store is down: the service starts (and says so); prompts are rendered once it is back
        for variant, pins in registry.experiment.variants.items():
            for agent, version in pins.items():
                if (agent, version) not in registry._templates:
                    raise PromptError(f"experiment variant {variant!r} pins {agent}@{version}, which does not exist")
        return registry

    def agents(self) -> list[str]:
        return sorted({agent for agent, _ in self._templates})

    def versions(self, agent: str) -> list[PromptTemplate]:
        return sorted((t for (a, _), t in self._templates.items() if a == agent), key=lambda t: t.version)

    def templates(self) -> list[PromptTemplate]:
        return sorted(self._templates.values(), key=lambda t: (t.agent, t.version))

    def template(self, agent: str, version: int | None = None) -> PromptTemplate:
        """One version of an agent's prompt; its default (highest non-draft) version when none is named."""
        if version is not None:
            try:
                return self._templates[(agent, version)]
            except KeyError:
                raise PromptError(f"no prompt {agent}@{version}") from None
        candidates = [t for t in self.versions(agent) if not t.draft]
        if not candidates:
            raise PromptError(f"no prompt for agent {agent!r}")
        return candidates[-1]

    @property
    def policy(self) -> Policy:
        """The shop's policy as its profile is now."""
        return Policy.of(self.shop.current())

    def render(self, template: PromptTemplate) -> str:
        profile = self.shop.current()
        if self._rendered is None or self._rendered[0] != profile:
            self._rendered = (profile, {})
        rendered = self._rendered[1]
        key = (template.agent, template.version)
        if key not in rendered:
            policy = Policy.of(profile)
            body = _INCLUDE.sub(lambda m: policy.include(m.group("sections")), template.body)
            rendered[key] = _SHOP_NAME.sub(lambda _: profile.name, body)
        return rendered[key]

    def resolve(self, agent: str, conversation_id: str | None = None, variant: str | None = None) -> Prompt:
        """The prompt an agent uses in a conversation: its variant's pinned version, else the default."""
        if variant is None and conversation_id is not None:
            variant = self.experiment.assign(conversation_id)
        pinned = self.experiment.variants.get(variant or "", {}).get(agent)
        template = self.template(agent, pinned)
        return Prompt(template.id, template.version, agent, self.render(template), variant)

    def system_message(self, agent: str, state: Any) -> SystemMessage:
        """The specialist's system message for this conversation (``state``: the graph state mapping)."""
        return self.resolve(agent, state.get("conversation_id"), state.get("variant")).system_message()


__all__ = ["PROMPTS_DIR", "Policy", "Prompt", "PromptError", "PromptRegistry", "PromptTemplate"]
