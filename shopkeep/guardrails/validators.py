"""A shop's own guardrails-ai validators, run as input or output rails through one adapter on our rail seam.

Since the Guardrails Hub closed, validators are ordinary PyPI packages (``guardrails-ai-regex-match``,
``guardrails-ai-competitor-check``, ...) or a shop's own ``@register_validator`` classes. Each configured one
(``SHOPKEEP_GUARDRAILS__VALIDATORS``, see ``ValidatorSettings``) becomes a ``ValidatorRail``: it runs the validator in
a ``Guard`` and answers with our ``RailResult``, so its trips are recorded, counted and acted on exactly like our own
rails (an input trip answers with the configured message and withholds the message; an output trip is fixed, or
blocked and re-asked). guardrails-ai is an optional extra, imported only when a validator is configured, with its
telemetry and remote inference switched off in code, whatever the machine's ``.guardrailsrc`` says.
"""

from __future__ import annotations

import importlib
import threading
import warnings
from pathlib import Path
from typing import Any

from shopkeep.guardrails.base import RailResult, Stage
from shopkeep.guardrails.facts import Facts
from shopkeep.settings import Settings, ValidatorSettings

INSTALL = "pip install 'shopkeep[guardrails]' (guardrails-ai) and the validator's own package"
_lock = threading.Lock()


def _offline_guardrails(var_dir: Path) -> Any:
    """Import guardrails with nothing reaching the network: its import looks for NLTK's sentence-splitter data and
    downloads it when missing (no validator Shopkeep runs splits sentences), so an empty placeholder is put first on
    NLTK's path; metrics, tracing and remote inference are switched off."""
    try:
        import nltk
    except ImportError:
        nltk = None
    if nltk is not None:
        placeholder = var_dir / "nltk"
        (placeholder / "tokenizers" / "punkt").mkdir(parents=True, exist_ok=True)
        if str(placeholder) not in nltk.data.path:
            nltk.data.path.insert(0, str(placeholder))
    try:
        with warnings.catch_warnings():
            # its command-line module, imported with the package, warns about options of newer Typer releases
            warnings.simplefilter("ignore", DeprecationWarning)
            import guardrails
    except ImportError as exc:
        raise ImportError(f"a guardrails-ai validator is configured but guardrails-ai is missing: {INSTALL}") from exc
    if getattr(guardrails, "__file__", None) is None:
        # a bare directory named guardrails on sys.path imports as an empty namespace package
        raise ImportError(f"a guardrails-ai validator is configured but guardrails-ai is missing: {INSTALL}")
    _telemetry_off()
    return guardrails


def _telemetry_off() -> None:
    """No metrics, tracing or remote inference. Validators read this when built, and ``Guard.configure`` reloads
    ``~/.guardrailsrc``, so it is set before the first and after the second."""
    from guardrails.settings import settings

    settings.rc.enable_metrics = False
    settings.rc.use_remote_inferencing = False
    settings.disable_tracing = True
    settings.use_server = False


def _validator_class(path: str) -> Any:
    """``"guardrails_ai.regex_match:RegexMatch"`` (or with a dot before the class name)."""
    module_name, _, class_name = path.partition(":") if ":" in path else path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ImportError(f"validator {path!r}: cannot import {module_name!r} ({exc}); {INSTALL}") from exc
    found = getattr(module, class_name, None)
    if found is None:
        raise ImportError(f"validator {path!r}: {module_name!r} has no {class_name!r}")
    return found


class ValidatorRail:
    """One configured validator as a rail: callable as an input rail ``(text)`` and as an output rail
    ``(text, facts)`` (the validator sees only the text)."""

    def __init__(self, config: ValidatorSettings, guard: Any) -> None:
        self.config = config
        self.name = config.name
        self.stage = Stage(config.stage)
        self._guard = guard

    def __call__(self, text: str, facts: Facts | None = None) -> RailResult:
        with _lock:  # a Guard keeps per-call history: one call at a time
            outcome = self._guard.validate(text)
        failures = outcome.validation_summaries or []
        # A fixed value counts as passed: the failures it fixed are what says the rail acted.
        if outcome.validation_passed and not failures:
            return RailResult(name=self.name, stage=self.stage, tripped=False, text=text)
        detail = "; ".join(f"{summary.validator_name}: {summary.failure_reason}" for summary in failures)
        fixed = outcome.validated_output
        if self.config.on_fail == "fix" and isinstance(fixed, str) and fixed.strip():
            return RailResult(name=self.name, stage=self.stage, tripped=True, text=fixed, detail=detail)
        return RailResult(
            name=self.name,
            stage=self.stage,
            tripped=True,
            blocked=True,
            text=text,
            reason=self.config.message,
            detail=detail,
        )


def validator_rails(settings: Settings) -> tuple[list[ValidatorRail], list[ValidatorRail]]:
    """The configured validators as (input rails, output rails); none configured imports nothing."""
    configured = settings.guardrails.validators
    if not configured:
        return [], []
    guardrails = _offline_guardrails(settings.var_dir)
    rails = []
    for config in configured:
        validator = _validator_class(config.validator)(
            **config.args, on_fail="fix" if config.on_fail == "fix" else "noop"
        )
        guard = guardrails.Guard(name=f"shopkeep-{config.name}").use(validator)
        guard.configure(allow_metrics_collection=False)
        _telemetry_off()
        rails.append(ValidatorRail(config, guard))
    return [r for r in rails if r.stage is Stage.INPUT], [r for r in rails if r.stage is Stage.OUTPUT]
