"""Metric batch ids: a batch retried after a lost answer is applied once.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run_metric_batches",
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("batch_id", sa.String(64), nullable=False),
        sa.Column("points", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("run_id", "batch_id", name="pk_run_metric_batches"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_run_metric_batches_run_id_runs"),
    )


def downgrade() -> None:
    op.drop_table("run_metric_batches")
