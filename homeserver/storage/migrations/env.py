"""Alembic environment: migrations run on a connection handed in by the homeserver."""

from alembic import context

from homeserver.storage.search_schema import include_object
from homeserver.storage.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `homeserver migrate`, which supplies a connection")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    include_object=include_object,
)
with context.begin_transaction():
    context.run_migrations()
