"""The local brain's NLU: start-up (cold: embed and train; warm: load the cache) and per-message latency.

``python -m bench.nlu`` prints the figures (``--messages-only``: without the start-up, which trains twice). Start-up
is timed in fresh processes, so it includes importing torch and loading the embedding model, as ``make run`` pays
them.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench._util import percentiles
from shopkeep.settings import PROJECT_ROOT, Settings

_START = """
import sys, time
from pathlib import Path
started = time.perf_counter()
from shopkeep.llm.local.nlu import NLU
root = Path(sys.argv[1])
NLU(root / "data/nlu/intents.yaml", root / "data/tau2_retail/db.json", Path(sys.argv[2])).warm_up()
print(time.perf_counter() - started)
"""


def _start_up(cache_dir: Path) -> tuple[float, float]:
    """Wall-clock and CPU seconds (the CPU figure does not grow when other work shares the machine)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        [sys.executable, "-c", _START, str(PROJECT_ROOT), str(cache_dir)],
        check=True,
        capture_output=True,
        text=True,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return float(done.stdout.strip().splitlines()[-1]), cpu


def run(console: Console, *, messages: int = 300, start_up: bool = True) -> None:
    table = Table("NLU", "figure", title="Local brain NLU", title_justify="left")
    if start_up:
        with tempfile.TemporaryDirectory(prefix="shopkeep-nlu-bench-") as tmp:
            cold = _start_up(Path(tmp))
            warm = _start_up(Path(tmp))
        table.add_row("start-up, cold (embed the examples + train): wall / CPU", f"{cold[0]:.1f} / {cold[1]:.1f} s")
        table.add_row("start-up, warm (cached model): wall / CPU", f"{warm[0]:.1f} / {warm[1]:.1f} s")
    from shopkeep.llm.local.nlu import NLU

    nlu = NLU.load(Settings())
    nlu.warm_up()
    lines = (PROJECT_ROOT / "evals" / "nlu" / "test.jsonl").read_text(encoding="utf-8").splitlines()
    texts = [json.loads(line)["text"] for line in lines if line.strip()][:messages]
    analyze: list[float] = []
    analyze_cpu: list[float] = []
    extract: list[float] = []
    for text in texts:
        started, started_cpu = time.perf_counter(), time.process_time()
        nlu.analyze(text)
        analyze.append((time.perf_counter() - started) * 1000)
        analyze_cpu.append((time.process_time() - started_cpu) * 1000)
        started = time.perf_counter()
        nlu.extractor.extract(text)
        extract.append((time.perf_counter() - started) * 1000)
    table.add_row("training examples (+ noisy copies)", _examples(nlu.classifier.training_stats))
    # CPU time (all threads of the process) is the cost of a message; wall time grows when others share the machine
    for name, samples, unit in (
        ("analyze one message", analyze, "ms"),
        ("analyze one message, CPU", analyze_cpu, "ms CPU"),
        ("entities only", extract, "ms"),
    ):
        p50, p95 = percentiles(samples)
        table.add_row(f"{name}: p50 / p95 over {len(samples)}", f"{p50:.1f} / {p95:.1f} {unit}")
    console.print(table)


def _examples(stats: dict[str, float]) -> str:
    copies = stats.get("noisy_copies", 0.0)
    return f"{stats.get('examples', 0.0):.0f}" + (f" (+ {copies:.0f})" if copies else "")


if __name__ == "__main__":
    run(Console(width=120), start_up="--messages-only" not in sys.argv[1:])
