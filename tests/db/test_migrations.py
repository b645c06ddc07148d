from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from referral_desk.db import migrate
from referral_desk.db.engine import Database
from referral_desk.db.models import Base
from referral_desk.services.database import open_database_file
from referral_desk.services.errors import DatabaseUnavailableError


def test_an_empty_file_is_upgraded_to_the_current_schema(tmp_path: Path) -> None:
    db = Database(tmp_path / "new.sqlite")
    assert migrate.upgrade(db, tmp_path / "backups") is None  # nothing to copy yet
    assert migrate.current_revision(db) == migrate.head_revision()
    with sqlite3.connect(db.path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {
        "patients",
        "referrers",
        "cases",
        "case_reasons",
        "status_changes",
        "case_search",
    } <= tables


# SQLite cannot reflect expression indexes; test_the_list_order_uses_its_index checks that one.
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression")
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_the_models_match_the_migrations(db: Database) -> None:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_name": migrate.include_name, "compare_type": True}
        )
        assert compare_metadata(context, Base.metadata) == []


def test_a_database_from_a_newer_version_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "newer.sqlite"
    open_database_file(path).dispose()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(DatabaseUnavailableError, match="newer version of Referral Desk"):
        open_database_file(path)
    assert path.read_bytes() == before


def test_existing_data_is_copied_before_an_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "office.sqlite"
    db = open_database_file(path)
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE keep_me (x)")
        conn.execute("INSERT INTO keep_me VALUES ('precious')")
    conn.close()
    config = migrate.alembic_config()
    with db.engine.connect() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")  # an office still on the oldest schema
    db.dispose()

    db = open_database_file(path, tmp_path / "backups")
    copies = list((tmp_path / "backups").glob("before-upgrade-*.sqlite"))
    assert len(copies) == 1
    with sqlite3.connect(copies[0]) as conn:
        assert conn.execute("SELECT x FROM keep_me").fetchone() == ("precious",)
    conn.close()
    db.dispose()


def test_the_migration_is_one_transaction(tmp_path: Path) -> None:
    """SQLAlchemy emits the BEGIN itself, so DDL cannot run half-applied."""
    db = Database(tmp_path / "tx.sqlite")
    statements: list[str] = []
    from sqlalchemy import event

    event.listen(
        db.engine,
        "before_cursor_execute",
        lambda *args: statements.append(args[2].split()[0].upper()),
    )
    migrate.upgrade(db)
    begin_at = next(i for i, s in enumerate(statements) if s == "BEGIN")
    first_ddl = next(i for i, s in enumerate(statements) if s == "CREATE")
    assert begin_at < first_ddl
    with db.engine.connect() as connection:
        assert not connection.connection.dbapi_connection.in_transaction  # committed
    db.dispose()


def test_a_migration_that_fails_halfway_leaves_the_old_schema_whole(tmp_path: Path) -> None:
    scripts = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    head = migrate.head_revision()
    (scripts / "versions" / "9999_breaks.py").write_text(
        '"""A migration that dies after its first statement."""\n'
        "from alembic import op\n"
        "import sqlalchemy as sa\n"
        f"revision = '9999'\ndown_revision = '{head}'\nbranch_labels = None\ndepends_on = None\n"
        "def upgrade():\n"
        "    op.create_table('half_done', sa.Column('id', sa.Integer, primary_key=True))\n"
        "    op.add_column('cases', sa.Column('half_column', sa.Text))\n"
        "    raise RuntimeError('power cut')\n"
        "def downgrade():\n    pass\n",
        encoding="utf-8",
    )
    db = open_database_file(tmp_path / "office.sqlite")
    config = migrate.alembic_config()
    config.set_main_option("script_location", str(scripts))
    with db.engine.connect() as connection, pytest.raises(RuntimeError, match="power cut"):
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    db.dispose()

    with sqlite3.connect(tmp_path / "office.sqlite") as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        columns = {r[1] for r in conn.execute("PRAGMA table_info(cases)")}
        version = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    conn.close()
    assert "half_done" not in tables and "half_column" not in columns
    assert version == (head,)
