"""One ``shopkeep eval run``: the brain's settings, the run's metadata, the suites in order, results and report.

``brain_settings`` pins the brain a run asked for (``local``: the offline brain whatever is configured; ``llm``:
the configured model, refused when none is). ``run_suites`` writes ``DIR/results.json`` and ``DIR/report.html``.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from shopkeep.evals.results import EvalRun, RunMeta, git_state
from shopkeep.evals.suites import SUITE_RUNNERS, EvalContext
from shopkeep.evals.tau2.reward import StoreTemplate
from shopkeep.llm.local.nlu import NLU
from shopkeep.settings import Settings

Brain = Literal["local", "llm"]


def brain_settings(settings: Settings, brain: Brain) -> Settings:
    """``settings`` with the brain of the run; ValueError for ``llm`` when no model is configured."""
    if brain == "local":
        llm = settings.llm.model_copy(update={"provider": "local", "router": "local", "agents": {}})
        return settings.model_copy(update={"llm": llm})
    if settings.llm.provider == "local" and not any(
        a.provider not in (None, "local") for a in settings.llm.agents.values()
    ):
        raise ValueError("--brain llm needs a model: set SHOPKEEP_LLM__PROVIDER (openai or oci) and its model")
    return settings


def run_meta(ctx: EvalContext, brain: Brain, suites: Sequence[str]) -> RunMeta:
    """Code, configuration, models, prompt and reply versions of the run (secrets left out)."""
    from shopkeep.agents.factory import prompt_registry
    from shopkeep.evals.ragas_metrics import judge_name
    from shopkeep.replies import default_replies
    from shopkeep.shop.profile import FixedProfile, ShopProfiles

    commit, dirty = git_state()
    settings = ctx.settings
    dumped: dict[str, Any] = settings.model_dump(
        mode="json", exclude={"redis_url": True, "llm": {"api_key"}, "retrieval": {"api_key"}}
    )
    with ctx.template.fresh(ctx.workdir, local=True) as store:
        registry = prompt_registry(settings, FixedProfile(ShopProfiles.from_settings(store, settings).current()))
    prompts = {t.agent: registry.template(t.agent).ref for t in registry.templates() if not t.draft}
    models: dict[str, Any] = {
        "brain": brain,
        "llm_provider": settings.llm.provider,
        "llm_model": settings.llm.model or None,
        "router": settings.llm.router,
        "embedder": settings.retrieval.embedder,
        "embedding_model": settings.retrieval.model or None,
        "judge": judge_name(ctx.judge),
    }
    if "nlu" in suites or brain == "local":
        models["nlu_training"] = ctx.nlu.classifier.training_stats
    return RunMeta(
        git_commit=commit,
        git_dirty=dirty,
        brain=brain,
        suites=list(suites),
        limit=ctx.limit,
        settings=dumped,
        models=models,
        prompts=prompts,
        replies={group: default_replies().ref(group) for group in sorted(default_replies().versions)},
    )


def run_suites(
    suites: Sequence[str],
    settings: Settings,
    out: Path,
    *,
    brain: Brain = "local",
    limit: int | None = None,
    log: Callable[[str], object] = print,
    nlu: NLU | None = None,
    template: StoreTemplate | None = None,
    judge: Any = None,
) -> EvalRun:
    """Run ``suites`` in order and write ``out/results.json`` and ``out/report.html`` (``nlu`` and ``template``:
    ones already built, see ``EvalContext``). ``judge``: the chat model of the LLM-judged ragas metrics; by
    default the configured one (``ragas_metrics.judge_model``, from ``settings`` as given, so a ``--brain local``
    run is judged too when a model is configured), none without a model."""
    from shopkeep.evals import ragas_metrics
    from shopkeep.evals.report import write_report

    unknown = [name for name in suites if name not in SUITE_RUNNERS]
    if unknown:
        raise ValueError(f"unknown suite {unknown[0]!r}: choose from {', '.join(SUITE_RUNNERS)}")
    workdir = Path(tempfile.mkdtemp(prefix="shopkeep-eval-run-"))
    try:
        if judge is None and ragas_metrics.available():
            judge = ragas_metrics.judge_model(settings)
        ctx = EvalContext(
            brain_settings(settings, brain),
            workdir,
            limit=limit,
            log=log,
            shared_nlu=nlu,
            shared_template=template,
            judge=judge,
        )
        run = EvalRun(meta=run_meta(ctx, brain, suites))
        for name in suites:
            log(f"suite {name}")
            started = time.perf_counter()
            result = SUITE_RUNNERS[name](ctx)
            result.seconds = round(time.perf_counter() - started, 3)
            run.suites[name] = result
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    run.write(out)
    write_report(run, out / "report.html")
    return run
