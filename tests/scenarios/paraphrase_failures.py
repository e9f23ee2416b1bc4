"""Run the paraphrase set on the local brain, print the pass rate per goal and rewrite ``known_failures.txt``.

    python -m tests.scenarios.paraphrase_failures [--write] [--only ID...] [--shard K/N]

Each conversation runs on a fresh copy of the indexed demo store, as in ``test_paraphrases.py``. With ``--write`` the
failing ids replace ``evals/paraphrases/known_failures.txt`` (the list the test suite expects to fail). ``--shard K/N``
runs every N-th conversation from the K-th (1-based), for parallel processes; it never writes.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import Counter
from pathlib import Path

from shopkeep.evals.paraphrases import PARAPHRASES_DIR, load_paraphrase, paraphrase_files, run_paraphrase
from shopkeep.evals.suites import EvalContext
from shopkeep.settings import get_settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help="rewrite known_failures.txt with today's failures")
    parser.add_argument("--only", nargs="*", default=None, help="run only these ids (and never --write)")
    parser.add_argument("--verbose", "-v", action="store_true", help="print the transcript of every failure")
    parser.add_argument("--shard", default=None, help="K/N: every N-th conversation from the K-th (never writes)")
    args = parser.parse_args()
    cases = {path.stem: load_paraphrase(path) for path in paraphrase_files()}
    if args.only:
        cases = {stem: case for stem, case in cases.items() if case.id in set(args.only) or stem in set(args.only)}
    if args.shard:
        k, n = (int(part) for part in args.shard.split("/"))
        cases = {stem: case for i, (stem, case) in enumerate(cases.items()) if i % n == k - 1}
    ctx = EvalContext(get_settings(), Path(tempfile.mkdtemp(prefix="shopkeep-paraphrases-")), log=lambda _: None)
    passed: Counter[str] = Counter()
    total: Counter[str] = Counter()
    failing: list[str] = []
    demo_db = json.loads(json.dumps(ctx.demo_db))
    for stem, case in cases.items():
        with ctx.service() as (service, store):
            run = run_paraphrase(case, service, store, demo_db)
        total[case.goal] += 1
        if run.passed:
            passed[case.goal] += 1
            continue
        failing.append(stem)
        print(f"FAIL {stem}: {'; '.join(run.failures)}")
        if args.verbose:
            for user, result, _ in run.turns:
                print(f"   > {user}\n   < {result.reply}")
    print(f"\n{sum(passed.values())}/{len(cases)} passed")
    for goal in total:
        print(f"  {goal:16} {passed[goal]:3}/{total[goal]}")
    if args.write and not args.only and not args.shard:
        lines = [f"{stem}  # {cases[stem].task}" for stem in failing]
        (PARAPHRASES_DIR / "known_failures.txt").write_text(
            "# Paraphrase conversations the local brain fails today (rewritten by "
            "tests/scenarios/paraphrase_failures.py --write)\n" + "\n".join(lines) + "\n",
            encoding="utf-8",
        )


if __name__ == "__main__":
    main()
