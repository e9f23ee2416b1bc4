"""Settings alone choose the provider: env names, per-agent overrides, and a missing extra named in the error."""

from __future__ import annotations

import builtins
import importlib
import sys
from pathlib import Path
from typing import Any

import pytest

from shopkeep.llm.config import ModelConfig
from shopkeep.llm.providers import get_chat_model
from shopkeep.llm.remote import RemoteBrain
from shopkeep.settings import Settings
from tests.support.scripted_model import ScriptedChatModel


def test_the_documented_environment_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env = {
        "SHOPKEEP_LLM__PROVIDER": "openai",
        "SHOPKEEP_LLM__MODEL": "qwen2.5-7b-instruct",
        "SHOPKEEP_LLM__BASE_URL": "http://127.0.0.1:8080/v1",
        "SHOPKEEP_LLM__API_KEY": "sk-local",
        "SHOPKEEP_LLM__AGENTS__ORDERS__MODEL": "qwen2.5-32b-instruct",
        "SHOPKEEP_LLM__AGENTS__ROUTER__PROVIDER": "local",
        "SHOPKEEP_EXPERIMENT__NAME": "prompts-v2",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = Settings(var_dir=tmp_path)
    llm = settings.llm
    assert (llm.provider, llm.model, llm.base_url) == ("openai", "qwen2.5-7b-instruct", "http://127.0.0.1:8080/v1")
    assert llm.api_key is not None and llm.api_key.get_secret_value() == "sk-local"
    assert "sk-local" not in repr(settings)
    assert ModelConfig.for_agent(llm, "orders").model == "qwen2.5-32b-instruct"
    assert ModelConfig.for_agent(llm, "catalog").model == "qwen2.5-7b-instruct"
    assert ModelConfig.for_agent(llm, "router").provider == "local"
    assert settings.experiment.name == "prompts-v2"


def test_the_local_provider_returns_the_local_brain(tmp_path: Path) -> None:
    local = ScriptedChatModel(steps=[])
    assert get_chat_model(Settings(var_dir=tmp_path), "orders", local=local) is local


def test_a_remote_provider_is_wrapped_with_the_local_fallback(tmp_path: Path) -> None:
    local = ScriptedChatModel(steps=[])
    settings = Settings(var_dir=tmp_path, llm={"provider": "openai", "model": "m", "context_tokens": 2048})  # type: ignore[arg-type]
    brain = get_chat_model(settings, "orders", local=local)
    assert isinstance(brain, RemoteBrain)
    assert (
        brain.fallback is local and brain.context_tokens == 2048 and brain.tool_kwargs == {"parallel_tool_calls": False}
    )
    no_fallback = Settings(var_dir=tmp_path, llm={"provider": "openai", "model": "m", "fallback_to_local": False})  # type: ignore[arg-type]
    assert get_chat_model(no_fallback, "orders", local=local).fallback is None  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("llm", "message"),
    [
        ({"provider": "openai"}, "SHOPKEEP_LLM__MODEL"),
        ({"provider": "oci", "model": "meta.llama-3.3-70b-instruct"}, "SHOPKEEP_LLM__OCI_COMPARTMENT_ID"),
    ],
)
def test_missing_settings_are_named(tmp_path: Path, llm: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        get_chat_model(Settings(var_dir=tmp_path, llm=llm), "orders", local=ScriptedChatModel(steps=[]))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("module", "vendor", "extra"), [("openai", "langchain_openai", "openai"), ("oci", "langchain_oci", "oci")]
)
def test_a_missing_extra_is_named(monkeypatch: pytest.MonkeyPatch, module: str, vendor: str, extra: str) -> None:
    real_import = builtins.__import__

    def without_vendor(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == vendor or name.startswith(f"{vendor}."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_vendor)
    monkeypatch.delitem(sys.modules, f"shopkeep.llm.{module}", raising=False)
    with pytest.raises(ImportError, match=rf"shopkeep\[{extra}\]"):
        importlib.import_module(f"shopkeep.llm.{module}")
