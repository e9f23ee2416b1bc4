"""Settings: the one place configuration is read (environment variables prefixed ``SHOPKEEP_``, nested with ``__``).

Everything else receives a ``Settings`` object (or a value taken from it); nothing reads ``os.environ`` directly.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def default_store_url(var_dir: Path) -> str:
    """The embedded default: one SQLite file under ``var/``."""
    return f"sqlite:///{var_dir / 'shopkeep.db'}"


class RetrievalSettings(BaseModel):
    """Catalog and knowledge search: which embedder, its endpoint, and the vector index (``SHOPKEEP_RETRIEVAL__X``)."""

    embedder: Literal["local", "oci", "openai"] = "local"
    model: str = Field(default="", description="Embedding model id; empty means the embedder's default")
    dimensions: int | None = Field(default=None, ge=1, description="Vector size, for models Shopkeep does not know")
    batch_size: int = Field(default=64, ge=1, le=2048)
    base_url: str = Field(default="https://api.openai.com/v1", description="OpenAI-compatible API root (openai)")
    api_key: SecretStr | None = None
    timeout_s: float = Field(default=30.0, gt=0)
    max_retries: int = Field(default=4, ge=0, le=10)
    oci_compartment_id: str = ""
    oci_service_endpoint: str = "https://inference.generativeai.us-chicago-1.oci.oraclecloud.com"
    oci_auth_type: Literal["API_KEY", "SECURITY_TOKEN", "INSTANCE_PRINCIPAL", "RESOURCE_PRINCIPAL"] = "API_KEY"
    oci_auth_profile: str = "DEFAULT"
    oci_config_file: str = "~/.oci/config"
    index_on_start: bool = Field(default=True, description="`shopkeep serve` indexes new or changed documents")


class PaymentsSettings(BaseModel):
    """The payment gateway, the card vault and checkout money rules (``SHOPKEEP_PAYMENTS__X``)."""

    gateway: Literal["sandbox"] = Field(default="sandbox", description="The embedded test-mode processor")
    merchant_id: str = "shopkeep-demo"
    sandbox_latency_s: float = Field(
        default=0.0, ge=0, le=60, description="Seconds the sandbox takes to answer each call it has processed (drills)"
    )
    timeout_s: float = Field(default=10.0, gt=0, description="Per gateway call")
    max_retries: int = Field(default=2, ge=0, le=10, description="Retries of a timed-out or failed gateway call")
    retry_wait_s: float = Field(default=0.2, ge=0, description="First back-off between retries (exponential)")
    vault: Literal["memory", "redis"] = "memory"
    redis_url: SecretStr | None = Field(default=None, description="Redis for the card vault (vault=redis)")
    vault_ttl_s: int = Field(default=900, ge=1, description="How long a card typed in chat stays redeemable")
    allowance_ttl_s: int = Field(default=900, ge=1, description="Lifetime of a checkout's delegated payment token")
    tax_rates_file: str = Field(
        default="", description="YAML of sales tax by state; default data/catalog/tax_rates.yaml"
    )


class AgentLLMSettings(BaseModel):
    """Per-agent overrides of the model settings (``SHOPKEEP_LLM__AGENTS__ROUTER__MODEL``); unset fields inherit."""

    provider: Literal["local", "openai", "oci"] | None = None
    model: str | None = None
    base_url: str | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    context_tokens: int | None = Field(default=None, ge=256, description="History budget for this agent")


class LLMSettings(BaseModel):
    """The brains behind the agents (``SHOPKEEP_LLM__X``): the offline local brain, or an LLM per agent.

    ``agents`` overrides any field per agent (a small model for the router, a larger one for orders).
    """

    provider: Literal["local", "openai", "oci"] = "local"
    model: str = Field(default="", description="Model name (openai) or model OCID / id (oci)")
    base_url: str = Field(default="", description="OpenAI-compatible API root; empty means api.openai.com")
    api_key: SecretStr | None = Field(default=None, description="Optional: self-hosted servers often need none")
    timeout_s: float = Field(default=30.0, gt=0, description="Per request")
    max_retries: int = Field(default=2, ge=0, le=10, description="Retries with back-off before falling back")
    temperature: float = Field(default=0.0, ge=0, le=2)
    max_output_tokens: int = Field(default=1024, ge=16)
    fallback_to_local: bool = Field(default=True, description="Answer with the local brain when the model is down")
    router: Literal["local", "llm"] = Field(
        default="local", description="Route with the offline intent classifier, or ask the model (router prompt)"
    )
    context_tokens: int = Field(default=3000, ge=256, description="Default history budget per agent, in tokens")
    encoding: Literal["cl100k_base", "o200k_base"] = "o200k_base"
    oci_compartment_id: str = ""
    oci_service_endpoint: str = Field(default="", description="Default: the region's inference endpoint")
    oci_region: str = "us-chicago-1"
    oci_auth_type: Literal["API_KEY", "SECURITY_TOKEN", "INSTANCE_PRINCIPAL", "RESOURCE_PRINCIPAL"] = "API_KEY"
    oci_auth_profile: str = "DEFAULT"
    oci_config_file: str = "~/.oci/config"
    oci_provider: str = Field(default="", description="Model family (meta, cohere, generic); default from the id")
    agents: dict[str, AgentLLMSettings] = Field(default_factory=dict)


class ExperimentSettings(BaseModel):
    """A prompt experiment (``SHOPKEEP_EXPERIMENT__X``): each conversation gets one variant by a stable hash.

    ``variants`` maps a variant name to the prompt versions it pins (``{"control": {}, "terse": {"orders": 2}}``);
    ``weights`` split the traffic (equal when empty). No name means no experiment.
    """

    name: str = ""
    variants: dict[str, dict[str, int]] = Field(default_factory=dict)
    weights: dict[str, float] = Field(default_factory=dict)


class LimitSettings(BaseModel):
    """Amount, quantity and rate limits the tool-call rails and the API enforce (``SHOPKEEP_LIMITS__X``).

    Rates are per minute; 0 turns that rate limit off. Rate limits are shared through Redis when
    ``SHOPKEEP_REDIS_URL`` is set, per process otherwise.
    """

    max_line_quantity: int = Field(default=10, ge=1, description="Most units of one item on a cart line")
    max_order_items: int = Field(default=20, ge=1, description="Most units in one cart or order")
    max_order_amount: Decimal = Field(default=Decimal("10000.00"), gt=0, description="Most an order's items may cost")
    max_refund_amount: Decimal = Field(default=Decimal("10000.00"), gt=0, description="Largest refund a tool may make")
    tool_calls_per_conversation: int = Field(default=60, ge=0)
    tool_calls_per_customer: int = Field(default=120, ge=0)
    messages_per_conversation: int = Field(default=20, ge=0)
    messages_per_customer: int = Field(default=60, ge=0)


class ValidatorSettings(BaseModel):
    """A guardrails-ai validator run as a rail: ``validator`` is its class as ``module:Class``
    (``guardrails_ai.regex_match:RegexMatch``), ``args`` what it is built with."""

    name: str = Field(min_length=1, max_length=64, description="The rail's name in events and metrics")
    validator: str = Field(min_length=3)
    stage: Literal["input", "output"]
    args: dict[str, Any] = Field(default_factory=dict)
    on_fail: Literal["block", "fix"] = Field(
        default="block", description="block: refuse (input) or re-ask (output); fix: use the validator's fix"
    )
    message: str = Field(
        default="I'm sorry, I can't help with that message. Could you put it another way?",
        description="What the customer is told when an input rail blocks their message",
    )


class GuardrailsSettings(BaseModel):
    """A shop's own guardrails-ai validators (``SHOPKEEP_GUARDRAILS__VALIDATORS``, a JSON list); none by default."""

    validators: list[ValidatorSettings] = Field(default_factory=list)


class RetentionSettings(BaseModel):
    """How long conversations are kept (``SHOPKEEP_RETENTION__X``); orders are kept regardless."""

    conversation_days: int = Field(
        default=0, ge=0, description="Delete conversations idle for longer than this many days; 0 keeps them"
    )
    sweep_interval_s: float = Field(default=3600.0, gt=0, description="How often `shopkeep serve` sweeps them")


class EscalationSettings(BaseModel):
    """Human agents' notifications (``SHOPKEEP_ESCALATION__X``): a signed webhook on each new, claimed and resolved
    escalation when ``webhook_url`` is set (then ``webhook_secret`` signs the bodies and is required)."""

    webhook_url: str = Field(default="", description="Where escalation events are POSTed; empty sends none")
    webhook_secret: SecretStr | None = Field(default=None, description="HMAC-SHA256 key of X-Shopkeep-Signature")
    webhook_attempts: int = Field(default=5, ge=1, le=20, description="Deliveries tried before giving up")
    webhook_wait_s: float = Field(default=0.5, ge=0, description="First back-off between attempts (exponential)")
    webhook_timeout_s: float = Field(default=5.0, gt=0, description="Per attempt")


class Settings(BaseSettings):
    """All of Shopkeep's configuration. Field ``x`` is set by ``SHOPKEEP_X``; nested ``a.b`` by ``SHOPKEEP_A__B``."""

    model_config = SettingsConfigDict(
        env_prefix="SHOPKEEP_", env_nested_delimiter="__", env_file=".env", extra="ignore", populate_by_name=True
    )

    store_url: str = Field(default="", description="SQLAlchemy URL of the commerce store; default var/shopkeep.db")
    data_dir: Path = PROJECT_ROOT / "data"
    var_dir: Path = PROJECT_ROOT / "var"
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    log_format: Literal["console", "json"] = "console"
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    payments: PaymentsSettings = Field(default_factory=PaymentsSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    experiment: ExperimentSettings = Field(default_factory=ExperimentSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    guardrails: GuardrailsSettings = Field(default_factory=GuardrailsSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    escalation: EscalationSettings = Field(default_factory=EscalationSettings)
    redis_url: SecretStr | None = Field(
        default=None,
        description="Redis shared by every worker (rate limits, live events); unset means in-process",
    )

    checkpoint_url: str = Field(default="", description="Where conversations are checkpointed; default var/")
    migrate_on_start: bool = Field(
        default=True,
        description="Commands migrate the store's schema when they open it; false for deploys that run "
        "`shopkeep migrate` as a step of their own (then a store that is not at the newest revision is an error)",
    )

    # OpenTelemetry's own variables (no SHOPKEEP_ prefix): they switch tracing on (``shopkeep.tracing``).
    otel_sdk_disabled: bool = Field(default=False, validation_alias="OTEL_SDK_DISABLED")
    otel_traces_exporter: str = Field(default="", validation_alias="OTEL_TRACES_EXPORTER")
    otel_exporter_otlp_endpoint: str = Field(
        default="", validation_alias=AliasChoices("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
    )
    otel_exporter_otlp_protocol: str = Field(
        default="", validation_alias=AliasChoices("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
    )

    def resolved_checkpoint_url(self) -> str:
        """The checkpointer URL, defaulting to a SQLite file next to the store."""
        return self.checkpoint_url or f"sqlite:///{self.var_dir / 'checkpoints.db'}"

    def resolved_store_url(self) -> str:
        """The store URL, defaulting to the SQLite file under ``var_dir``."""
        return self.store_url or default_store_url(self.var_dir)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
