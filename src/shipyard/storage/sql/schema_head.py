"""The newest schema revision, in a module of its own so that readers which do without
SQLAlchemy (``shipyard.data.quick_status``) can check it too."""

# The newest migration in migrations/versions; a test keeps this in step with Alembic.
SCHEMA_HEAD = "0008"
