"""Alembic environment: runs on the connection ``shopkeep.store.migrate`` passes in."""

from alembic import context

from shopkeep.retrieval.schema import metadata as retrieval_metadata
from shopkeep.store.migrate import include_object
from shopkeep.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=[metadata, retrieval_metadata],
    render_as_batch=True,
    include_object=include_object,
)
with context.begin_transaction():
    context.run_migrations()
