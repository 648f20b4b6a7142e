"""Alembic environment: always run with a live connection handed over by `toolhub.store.migrate`."""

from alembic import context

from toolhub.store.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
