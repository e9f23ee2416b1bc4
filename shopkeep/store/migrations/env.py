"""Alembic environment: runs on the connection ``shopkeep.store.migrate`` passes in."""

from alembic import context

from shopkeep.retrieval.schema import metadata as retrieval_metadata
from shopkeep.store.schema import metadata

# Created outside the table metadata (by migration 0002's dialect DDL or by a VectorIndex backend at run time):
# autogenerate must not propose dropping them.
UNMODELLED = ("retrieval_fts", "retrieval_vec", "search_tsv")


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    return not (reflected and compare_to is None and (name or "").startswith(UNMODELLED))


connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=[metadata, retrieval_metadata],
    render_as_batch=True,
    include_object=include_object,
)
with context.begin_transaction():
    context.run_migrations()
