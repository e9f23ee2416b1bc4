"""``report.html`` of an eval run: one self-contained page (inline CSS and SVG, no script, nothing fetched).

Sections follow the suites that ran: the run's metadata and headline figures, the intent confusion matrix, retrieval
metrics by query kind, knowledge answers, per-scenario pass/fail with links to their transcripts, τ² tasks, the
red-team table and latency histograms. Every chart is an ``<svg class="chart" data-chart="NAME">``.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

from shopkeep.evals.results import EvalRun, ItemResult, SuiteResult

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1d2430;max-width:1200px}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #d5dae1;padding-bottom:4px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #d5dae1;padding:3px 8px;text-align:left}
th{background:#f1f3f6}.pass{color:#17753a;font-weight:600}.fail{color:#b3261e;font-weight:600}
.cards{display:flex;flex-wrap:wrap;gap:12px}.card{border:1px solid #d5dae1;border-radius:6px;padding:8px 12px}
.card b{display:block;font-size:18px}.note{color:#5b6573;font-size:13px}.warn{background:#fff4d6;padding:6px 10px}
details{margin:4px 0}summary{cursor:pointer}.turn{margin:2px 0 2px 12px}.u{color:#27466d}.a{color:#333}
svg.chart{display:block;margin:8px 0}svg text{font:11px system-ui,sans-serif}
"""


def write_report(run: EvalRun, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(run), encoding="utf-8")
    return path


def render(run: EvalRun) -> str:
    meta = run.meta
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Shopkeep eval run {escape(meta.run_id)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Shopkeep eval run <code>{escape(meta.run_id)}</code></h1>",
        "<table>",
        _row("created", meta.created_at.isoformat(timespec="seconds")),
        _row("git commit", f"{meta.git_commit or 'unknown'}{' (uncommitted changes)' if meta.git_dirty else ''}"),
        _row("brain", meta.brain),
        _row("items per suite", "all" if meta.limit is None else f"at most {meta.limit} (a subset)"),
        _row("models", ", ".join(f"{k}={v}" for k, v in meta.models.items() if not isinstance(v, dict))),
        _row("prompts", ", ".join(meta.prompts.values())),
        _row("replies", ", ".join(meta.replies.values())),
        "</table>",
    ]
    for name, suite in run.suites.items():
        parts.append(
            f"<h2 id='suite-{escape(name)}'>{escape(name)} <span class='note'>({suite.seconds:.1f} s)</span></h2>"
        )
        parts.append(_cards(suite.summary))
        parts.extend(f"<p class='note'>{escape(note)}</p>" for note in suite.notes)
        parts.append(_SECTIONS.get(name, _items_table)(suite))
    parts.append("</body></html>")
    return "\n".join(parts)


def _row(key: str, value: str) -> str:
    return f"<tr><th>{escape(key)}</th><td>{escape(value)}</td></tr>"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def _cards(summary: dict[str, float]) -> str:
    cards = "".join(f"<div class='card'>{escape(k)}<b>{escape(_fmt(v))}</b></div>" for k, v in summary.items())
    return f"<div class='cards'>{cards}</div>"


def _verdict(item: ItemResult) -> str:
    if item.passed is None:
        return "<td>-</td>"
    return "<td class='pass'>pass</td>" if item.passed else "<td class='fail'>fail</td>"


def _anchor(suite: str, item_id: str) -> str:
    return "tr-" + suite + "-" + "".join(c if c.isalnum() else "-" for c in item_id)


def _transcripts(suite: SuiteResult, items: Sequence[ItemResult]) -> str:
    blocks = []
    for item in items:
        if not item.transcript:
            continue
        turns = "".join(
            f"<div class='turn'><span class='u'>customer: {escape(t.user)}</span><br>"
            f"<span class='a'>{escape(t.agent or 'assistant')}: {escape(t.reply)}</span>"
            + (f" <span class='note'>[{escape(', '.join(t.tools))}]</span>" if t.tools else "")
            + "</div>"
            for t in item.transcript
        )
        failures = "".join(f"<li>{escape(str(f))}</li>" for f in item.details.get("failures", []))
        blocks.append(
            f"<details id='{_anchor(suite.name, item.id)}'><summary>{escape(item.id)}</summary>{turns}"
            + (f"<ul class='fail'>{failures}</ul>" if failures else "")
            + "</details>"
        )
    return "<h3>Transcripts</h3>" + "".join(blocks) if blocks else ""


# charts --------------------------------------------------------------------------------------------------------------


def _heat(count: int, peak: int, diagonal: bool) -> str:
    if count == 0:
        return "#ffffff"
    strength = 0.15 + 0.85 * count / peak
    if diagonal:
        return f"rgba(23,117,58,{strength:.2f})"
    return f"rgba(179,38,30,{strength:.2f})"


def confusion_svg(labels: Sequence[str], matrix: Sequence[Sequence[int]]) -> str:
    """Rows are labels, columns predictions; the diagonal green, errors red, darker for more."""
    cell, left, top = 14, 190, 190
    size = cell * len(labels)
    peak = max((max(row) for row in matrix), default=1) or 1
    out = [
        f"<svg class='chart' data-chart='confusion' width='{left + size + 10}' height='{top + size + 10}' "
        f"viewBox='0 0 {left + size + 10} {top + size + 10}' role='img' aria-label='intent confusion matrix'>"
    ]
    for n, label in enumerate(labels):
        y = top + n * cell + cell - 3
        out.append(f"<text x='{left - 4}' y='{y}' text-anchor='end'>{escape(label)}</text>")
        x = left + n * cell + cell - 3
        out.append(f"<text transform='translate({x},{top - 4}) rotate(-60)'>{escape(label)}</text>")
    for r, row in enumerate(matrix):
        for c, count in enumerate(row):
            out.append(
                f"<rect x='{left + c * cell}' y='{top + r * cell}' width='{cell}' height='{cell}' "
                f"fill='{_heat(count, peak, r == c)}' stroke='#e3e6ea'><title>{escape(labels[r])} -> "
                f"{escape(labels[c])}: {count}</title></rect>"
            )
    out.append("</svg>")
    return "".join(out)


_COLOURS = ("#3867a8", "#e08a2c", "#3d9a5b", "#9057a8", "#c0504d")


def bars_svg(name: str, groups: dict[str, dict[str, float]], metrics: Sequence[str], *, maximum: float = 1.0) -> str:
    """Grouped horizontal bars: one group per key of ``groups``, one bar per metric (values in 0..maximum)."""
    bar, gap, left, width = 11, 8, 170, 420
    height = len(groups) * (len(metrics) * bar + gap) + 30
    out = [
        f"<svg class='chart' data-chart='{escape(name)}' width='{left + width + 60}' height='{height}' "
        f"viewBox='0 0 {left + width + 60} {height}' role='img' aria-label='{escape(name)}'>"
    ]
    for n, metric in enumerate(metrics):
        out.append(
            f"<rect x='{left + n * 110}' y='2' width='10' height='10' fill='{_COLOURS[n % len(_COLOURS)]}'/>"
            f"<text x='{left + n * 110 + 14}' y='11'>{escape(metric)}</text>"
        )
    y = 22
    for group, values in groups.items():
        out.append(
            f"<text x='{left - 6}' y='{y + len(metrics) * bar / 2 + 4}' text-anchor='end'>{escape(group)}</text>"
        )
        for n, metric in enumerate(metrics):
            value = float(values.get(metric, 0.0))
            w = max(0.0, min(1.0, value / maximum if maximum else 0.0)) * width
            out.append(
                f"<rect x='{left}' y='{y}' width='{w:.1f}' height='{bar - 1}' fill='{_COLOURS[n % len(_COLOURS)]}'>"
                f"<title>{escape(group)} {escape(metric)}: {value:.3f}</title></rect>"
                f"<text x='{left + w + 4:.1f}' y='{y + bar - 2}'>{value:.2f}</text>"
            )
            y += bar
        y += gap
    out.append("</svg>")
    return "".join(out)


def histogram_svg(name: str, buckets: Sequence[int], counts: Sequence[int]) -> str:
    """Vertical bars per latency bin (``<= bound`` ms; the last bin is everything above)."""
    col, left, base, height = 56, 36, 150, 130
    labels = [f"≤{b}" for b in buckets] + [f">{buckets[-1]}"]
    peak = max(counts, default=0) or 1
    width = left + col * len(counts) + 10
    out = [
        f"<svg class='chart' data-chart='{escape(name)}' width='{width}' height='{base + 34}' "
        f"viewBox='0 0 {width} {base + 34}' role='img' aria-label='{escape(name)}'>",
        f"<line x1='{left}' y1='{base}' x2='{width - 10}' y2='{base}' stroke='#888'/>",
        f"<text x='2' y='{base - height + 10}'>{peak}</text>",
    ]
    for n, count in enumerate(counts):
        h = height * count / peak
        x = left + n * col + 4
        out.append(
            f"<rect x='{x}' y='{base - h:.1f}' width='{col - 8}' height='{h:.1f}' fill='#3867a8'>"
            f"<title>{escape(labels[n])} ms: {count}</title></rect>"
            f"<text x='{x + (col - 8) / 2}' y='{base - h - 3:.1f}' text-anchor='middle'>{count}</text>"
            f"<text x='{x + (col - 8) / 2}' y='{base + 14}' text-anchor='middle'>{escape(labels[n])}</text>"
        )
    out.append(f"<text x='{width / 2}' y='{base + 30}' text-anchor='middle'>milliseconds per turn</text></svg>")
    return "".join(out)


# sections ------------------------------------------------------------------------------------------------------------


def _nlu(suite: SuiteResult) -> str:
    matrix = suite.tables.get("confusion_matrix", {"labels": [], "matrix": []})
    scored = [(name, s) for name, scores in suite.tables.get("per_intent", {}).items() for s in scores]
    worst = sorted(scored, key=lambda pair: (pair[1]["f1"], pair[1]["intent"]))[:10]
    rows = "".join(
        f"<tr><td>{escape(name)}</td><td>{escape(s['intent'])}</td><td>{s['support']}</td>"
        f"<td>{s['precision']:.3f}</td><td>{s['recall']:.3f}</td><td>{s['f1']:.3f}</td></tr>"
        for name, s in worst
    )
    return (
        "<h3>Intent confusion matrix</h3>"
        + confusion_svg(matrix["labels"], matrix["matrix"])
        + "<h3>Weakest intents</h3><table><tr><th>set</th><th>intent</th><th>support</th><th>precision</th>"
        + f"<th>recall</th><th>F1</th></tr>{rows}</table>"
    )


def _retrieval(suite: SuiteResult) -> str:
    by_kind: dict[str, dict[str, float]] = suite.tables.get("by_kind", {})
    parts = ["<h3>Metrics by query kind</h3>", bars_svg("retrieval-by-kind", by_kind, ("ndcg@10", "recall@10", "mrr"))]
    rows = "".join(
        f"<tr><td>{escape(kind)}</td><td>{int(v.get('queries', 0))}</td>"
        + "".join(f"<td>{float(v.get(m, 0.0)):.3f}</td>" for m in ("recall@5", "recall@10", "ndcg@10", "mrr"))
        + "</tr>"
        for kind, v in by_kind.items()
    )
    parts.append(
        "<table><tr><th>kind</th><th>queries</th><th>recall@5</th><th>recall@10</th><th>nDCG@10</th><th>MRR</th>"
        f"</tr>{rows}</table>"
    )
    for title, table in suite.tables.items():
        if title.startswith("without_"):
            parts.append(f"<h3>{escape(title.replace('_', ' '))}</h3>" + _kv_table(table))
    return "".join(parts)


def _kv_table(table: Any) -> str:
    if not isinstance(table, dict):
        return f"<p>{escape(str(table))}</p>"
    rows = "".join(f"<tr><th>{escape(str(k))}</th><td>{escape(_fmt(v))}</td></tr>" for k, v in table.items())
    return f"<table>{rows}</table>"


def _items_table(suite: SuiteResult, columns: Sequence[str] = ()) -> str:
    rows = []
    for item in suite.items:
        link = (
            f"<a href='#{_anchor(suite.name, item.id)}'>{escape(item.id)}</a>" if item.transcript else escape(item.id)
        )
        extra = "".join(f"<td>{escape(_fmt(item.details.get(c, item.metrics.get(c, ''))))}</td>" for c in columns)
        rows.append(f"<tr><td>{link}</td><td>{escape(item.group)}</td>{_verdict(item)}{extra}</tr>")
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    return f"<table><tr><th>item</th><th>group</th><th>result</th>{head}</tr>{''.join(rows)}</table>" + _transcripts(
        suite, suite.items
    )


def _group_chart(suite: SuiteResult, table: str, name: str) -> str:
    groups = {k: {"pass_rate": float(v["pass_rate"])} for k, v in suite.tables.get(table, {}).items()}
    return bars_svg(name, groups, ("pass_rate",)) if groups else ""


def _scenarios(suite: SuiteResult) -> str:
    return (
        "<h3>Pass rate by area</h3>"
        + _group_chart(suite, "by_area", "scenarios-by-area")
        + "<h3>Scenarios</h3>"
        + _items_table(suite, ("known_bug",))
    )


def _knowledge(suite: SuiteResult) -> str:
    return _items_table(suite, ("hit@1", "looked_up"))


def _tau2(suite: SuiteResult) -> str:
    parts = [
        "<p class='warn'>The oracle user answers from the task's expected actions: its pass^1 is not comparable "
        "with τ² results from a simulated customer. The instructions user says only what the task says.</p>"
    ]
    for title, per_tool in suite.tables.items():
        if not title.startswith("per_tool."):
            continue
        rows = "".join(
            f"<tr><td>{escape(tool)}</td><td>{v['tasks']}</td><td>{v['passed']}</td><td>{v['pass^1']:.3f}</td></tr>"
            for tool, v in per_tool.items()
        )
        parts.append(
            f"<h3>{escape(title.removeprefix('per_tool.'))} user</h3><table><tr><th>write tool</th><th>tasks</th>"
            f"<th>passed</th><th>pass^1</th></tr>{rows}</table>"
        )
    return "".join(parts) + _items_table(suite, ("user", "ended", "turns"))


def _redteam(suite: SuiteResult) -> str:
    checks: list[str] = suite.tables.get("checks", [])
    categories: dict[str, dict[str, Any]] = suite.tables.get("categories", {})
    head = "".join(f"<th>{escape(c.replace('_', ' '))}</th>" for c in checks)
    rows = "".join(
        f"<tr><td>{escape(name)}</td><td>{row['attacks']}</td>"
        + "".join(f"<td class='{'fail' if row[c] else ''}'>{row[c]}</td>" for c in checks)
        + f"<td class='{'fail' if row['harmful'] else 'pass'}'>{row['harmful']}</td></tr>"
        for name, row in categories.items()
    )
    harmless = {
        name: {"harmless": 1 - row["harmful"] / row["attacks"] if row["attacks"] else 0.0}
        for name, row in categories.items()
    }
    return (
        f"<table data-table='redteam'><tr><th>category</th><th>attacks</th>{head}<th>harmful</th></tr>{rows}</table>"
        + bars_svg("redteam-harmless", harmless, ("harmless",))
        + _items_table(suite, ("harm",))
    )


def _latency(suite: SuiteResult) -> str:
    buckets = suite.tables.get("buckets_ms", [])
    parts = ["<h3>All turns</h3>", histogram_svg("latency", buckets, suite.tables.get("histogram", []))]
    for agent, figures in suite.tables.get("per_agent", {}).items():
        parts.append(
            f"<h3>{escape(agent)} <span class='note'>({figures['turns']} turns, p50 {figures['p50_ms']:.0f} ms, "
            f"p90 {figures['p90_ms']:.0f} ms)</span></h3>"
        )
        parts.append(histogram_svg(f"latency-{agent}", buckets, figures["histogram"]))
    return "".join(parts)


_SECTIONS = {
    "nlu": _nlu,
    "retrieval": _retrieval,
    "knowledge": _knowledge,
    "scenarios": _scenarios,
    "tau2": _tau2,
    "redteam": _redteam,
    "latency": _latency,
}
