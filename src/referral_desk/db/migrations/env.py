"""Alembic environment: always driven from referral_desk.db.migrate with a live connection."""

from __future__ import annotations

from alembic import context

from referral_desk.db.migrate import include_name
from referral_desk.db.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    include_name=include_name,
    render_as_batch=True,
    transaction_per_migration=False,
)
with context.begin_transaction():
    context.run_migrations()
