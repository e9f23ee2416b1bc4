"""The local brain's NLU: start-up (cold: embed and train; warm: load the cache) and per-message latency.

``python -m bench.nlu`` prints the figures. Start-up is timed in fresh processes, so it includes importing torch
and loading the embedding model, as ``make run`` pays them.
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


def run(console: Console, *, messages: int = 300) -> None:
    with tempfile.TemporaryDirectory(prefix="shopkeep-nlu-bench-") as tmp:
        cold = _start_up(Path(tmp))
        warm = _start_up(Path(tmp))
    from shopkeep.llm.local.nlu import NLU

    nlu = NLU.load(Settings())
    nlu.warm_up()
    lines = (PROJECT_ROOT / "evals" / "nlu" / "test.jsonl").read_text(encoding="utf-8").splitlines()
    texts = [json.loads(line)["text"] for line in lines if line.strip()][:messages]
    analyze: list[float] = []
    extract: list[float] = []
    for text in texts:
        started = time.perf_counter()
        nlu.analyze(text)
        analyze.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        nlu.extractor.extract(text)
        extract.append((time.perf_counter() - started) * 1000)
    table = Table("NLU", "figure", title="Local brain NLU", title_justify="left")
    table.add_row("start-up, cold (embed 2.5k examples + train): wall / CPU", f"{cold[0]:.1f} / {cold[1]:.1f} s")
    table.add_row("start-up, warm (cached model): wall / CPU", f"{warm[0]:.1f} / {warm[1]:.1f} s")
    for name, samples in (("analyze one message", analyze), ("entities only", extract)):
        p50, p95 = percentiles(samples)
        table.add_row(f"{name}: p50 / p95 over {len(samples)}", f"{p50:.1f} / {p95:.1f} ms")
    console.print(table)


if __name__ == "__main__":
    run(Console(width=120))
