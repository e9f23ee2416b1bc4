"""Input-rail cost per turn (p50/p95 ms), the screen's precision/recall on the held-out examples, and the cost of PII
redaction per log event.

The turns are every customer message of the scenario suite (real conversations) plus the held-out guardrail
examples. The full chain embeds each message once (the screen's memo is emptied before every message), so the
figures include the MiniLM call a turn pays; the embedding model and the classifier are loaded before timing. One
bare embedding per message is timed too: the screen's cost is that call (the rest is sub-millisecond), so on a busy
machine both rows move together.
"""

from __future__ import annotations

import time
from pathlib import Path

import yaml
from rich.console import Console
from rich.table import Table

from bench._util import percentiles, time_ms
from shopkeep.guardrails.abuse import AbuseRail
from shopkeep.guardrails.injection import PromptInjectionRail
from shopkeep.guardrails.rails import INPUT_RAILS, input_rails, run_rails
from shopkeep.guardrails.redaction import redact
from shopkeep.guardrails.screen import ScreenClassifier, load_examples
from shopkeep.settings import get_settings

ROOT = Path(__file__).resolve().parents[1]


def _scenario_messages() -> list[str]:
    messages = []
    for path in sorted((ROOT / "tests" / "scenarios").rglob("*.yaml")):
        for turn in yaml.safe_load(path.read_text()).get("turns", []):
            if isinstance(turn.get("user"), str):
                messages.append(turn["user"])
    return messages


def _precision_recall(predicted: list[bool], actual: list[bool]) -> tuple[float, float]:
    hits = sum(p and a for p, a in zip(predicted, actual, strict=True))
    return hits / max(sum(predicted), 1), hits / max(sum(actual), 1)


def run(console: Console) -> None:
    from shopkeep.retrieval.embedders.local import LocalEmbedder

    settings = get_settings()
    data = settings.data_dir
    screen = ScreenClassifier.build(
        LocalEmbedder(),
        data / "guardrails" / "train.yaml",
        data / "nlu" / "intents.yaml",
        cache_dir=settings.var_dir / "guardrails",
    )
    screen.scores("warm up")
    held_out = load_examples(data / "guardrails" / "heldout.yaml")
    messages = _scenario_messages() + [text for text, _ in held_out]
    chain = input_rails(screen)

    def full(text: str) -> list[float]:
        samples = []
        for _ in range(3):
            screen._memo.clear()  # every turn pays its own embedding
            started = time.perf_counter()
            run_rails(chain, text)
            samples.append((time.perf_counter() - started) * 1000)
        return samples

    table = Table(title=f"Input rails per turn, ms ({len(messages)} messages)")
    for column in ("chain", "p50", "p95"):
        table.add_column(column, justify="right" if column != "chain" else "left")
    patterns = [s for text in messages for s in time_ms(lambda t=text: run_rails(INPUT_RAILS, t), 5)]
    with_screen = [s for text in messages for s in full(text)]
    embedder = LocalEmbedder()
    embedding = [s for text in messages for s in time_ms(lambda t=text: embedder.embed_query(t), 3)]
    rows = (("patterns only", patterns), ("patterns + screen", with_screen), ("(one MiniLM embedding)", embedding))
    for name, samples in rows:
        p50, p95 = percentiles(samples)
        table.add_row(name, f"{p50:.2f}", f"{p95:.2f}")
    console.print(table)

    quality = Table(title=f"Input screen on the held-out examples ({len(held_out)})")
    for column in ("rail", "precision", "recall"):
        quality.add_column(column, justify="right" if column != "rail" else "left")
    injection, abuse = PromptInjectionRail(screen), AbuseRail(screen)
    precision, recall = _precision_recall(
        [injection(text).tripped for text, _ in held_out], [label == "injection" for _, label in held_out]
    )
    quality.add_row("prompt_injection", f"{precision:.3f}", f"{recall:.3f}")
    not_injection = [(text, label) for text, label in held_out if label != "injection"]
    precision, recall = _precision_recall(
        [abuse(text).tripped for text, _ in not_injection], [label == "abuse" for _, label in not_injection]
    )
    quality.add_row("abuse", f"{precision:.3f}", f"{recall:.3f}")
    console.print(quality)

    redact("warm up: a@b.example.com")  # the Presidio import
    redaction = Table(title="PII redaction per log value, ms")
    for column in ("value", "p50", "p95"):
        redaction.add_column(column, justify="right" if column != "value" else "left")
    for name, value in (
        ("no PII (pre-check only)", "rail_tripped conversation 3f2a rail=abuse blocked=True"),
        ("email + phone + address", "at 10 Oak Street, Apt 5, Boston; sam@example.com; phone 555-123-4567"),
    ):
        p50, p95 = percentiles(time_ms(lambda v=value: redact(v), 500))
        redaction.add_row(name, f"{p50:.3f}", f"{p95:.3f}")
    console.print(redaction)


if __name__ == "__main__":
    run(Console(width=120))
