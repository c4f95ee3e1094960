"""The metadata store: SQLAlchemy 2 over SQLite (default) or PostgreSQL.

One module per aggregate (``audit``, ``settings``, ...) defines its tables and a small
store class; ``engine`` owns connections and transactions; ``migrate`` applies the
Alembic migrations that are the only way the schema changes.
"""
