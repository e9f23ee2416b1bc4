"""One agent's model settings: the global ``SHOPKEEP_LLM__*`` values with that agent's overrides applied."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import SecretStr

from shopkeep.settings import LLMSettings

DEFAULT_OPENAI_URL = "https://api.openai.com/v1"


@dataclass(frozen=True)
class ModelConfig:
    agent: str
    provider: str
    model: str
    base_url: str
    api_key: SecretStr | None
    timeout_s: float
    max_retries: int
    temperature: float
    max_output_tokens: int
    context_tokens: int
    oci_compartment_id: str = ""
    oci_service_endpoint: str = ""
    oci_auth_type: str = "API_KEY"
    oci_auth_profile: str = "DEFAULT"
    oci_config_file: str = "~/.oci/config"
    oci_provider: str = ""

    @classmethod
    def for_agent(cls, llm: LLMSettings, agent: str) -> ModelConfig:
        override = llm.agents.get(agent)
        provider = (override.provider if override else None) or llm.provider
        endpoint = llm.oci_service_endpoint or f"https://inference.generativeai.{llm.oci_region}.oci.oraclecloud.com"
        return cls(
            agent=agent,
            provider=provider,
            model=(override.model if override else None) or llm.model,
            base_url=(override.base_url if override else None) or llm.base_url,
            api_key=llm.api_key,
            timeout_s=llm.timeout_s,
            max_retries=llm.max_retries,
            temperature=override.temperature if override and override.temperature is not None else llm.temperature,
            max_output_tokens=llm.max_output_tokens,
            context_tokens=(override.context_tokens if override else None) or llm.context_tokens,
            oci_compartment_id=llm.oci_compartment_id,
            oci_service_endpoint=endpoint,
            oci_auth_type=llm.oci_auth_type,
            oci_auth_profile=llm.oci_auth_profile,
            oci_config_file=llm.oci_config_file,
            oci_provider=llm.oci_provider,
        )
