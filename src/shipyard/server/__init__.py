"""The REST server: the management API under /api/v1 over the same services."""
