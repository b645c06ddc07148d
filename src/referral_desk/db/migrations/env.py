"""Alembic environment: always driven from referral_desk.db.migrate with a live connection."""

from __future__ import annotations

from alembic import context

from referral_desk.db.models import CASE_SEARCH_TABLE, Base


def include_name(name: str | None, type_: str, _parent: object) -> bool:
    # The FTS5 virtual table and its shadow tables are managed by hand in the migrations.
    return not (type_ == "table" and name is not None and name.startswith(CASE_SEARCH_TABLE))


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
