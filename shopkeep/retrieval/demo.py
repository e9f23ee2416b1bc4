"""An indexed copy of the demo store for throw-away runs (``shopkeep chat --script`` without ``--store``).

Seeding the demo and embedding its catalog and help pages takes a minute or more, so the indexed file is built once
under ``var_dir/demo`` with a key of everything it is made of (the demo data, the help pages, the embedder, the
schema's migrations) and every run copies it. Builds from concurrent processes take turns on a file lock.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from filelock import FileLock

from shopkeep.settings import Settings

MIGRATIONS = Path(__file__).resolve().parent.parent / "store" / "migrations"


def demo_cache_key(settings: Settings) -> str:
    """sha256 of the demo's files, the embedder's name and the migrations: any change builds a new copy."""
    from shopkeep.store.seed import demo_db_path

    digest = hashlib.sha256(f"{settings.retrieval.embedder}:{settings.retrieval.model}".encode())
    sources = [demo_db_path(settings.data_dir), settings.data_dir / "policy.md", settings.data_dir / "kb"]
    for root in sources:
        for file in sorted(root.rglob("*")) if root.is_dir() else [root]:
            if file.is_file():
                digest.update(file.name.encode() + b"\0" + file.read_bytes())
    for migration in sorted(MIGRATIONS.rglob("*.py")):
        digest.update(migration.name.encode())
    return digest.hexdigest()[:20]


def indexed_demo(settings: Settings) -> Path:
    """The cached indexed demo store file, built on first use."""
    from shopkeep.retrieval.search import CatalogSearch
    from shopkeep.store import open_store
    from shopkeep.store.seed import seed_demo

    cache = settings.var_dir / "demo"
    cache.mkdir(parents=True, exist_ok=True)
    cached = cache / f"indexed-{demo_cache_key(settings)}.db"
    with FileLock(f"{cached}.lock"):
        if cached.is_file():
            return cached
        for stale in cache.glob("indexed-*.db"):
            stale.unlink()
        building = cached.with_name(f"{cached.stem}.{os.getpid()}.tmp")
        store = open_store(f"sqlite:///{building}")
        try:
            seed_demo(store, settings.data_dir)
            CatalogSearch.from_settings(store, settings).index_documents()
        finally:
            store.close()
        building.replace(cached)
    return cached


def copy_indexed_demo(settings: Settings, target: Path) -> Path:
    """A private, writable copy of the indexed demo store at ``target``."""
    shutil.copy(indexed_demo(settings), target)
    return target
