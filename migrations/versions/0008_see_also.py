"""the sections listed under an answer besides its sources (messages.see_also)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: answers logged before this revision listed sections that were not kept (read as none).
    with op.batch_alter_table("messages") as batch_op:
        batch_op.add_column(sa.Column("see_also", sa.Text(), nullable=True))


def downgrade() -> None:
    # Drops what was listed under every answer since 0008 (`db downgrade` asks first); answers, their sources
    # and passages are kept.
    with op.batch_alter_table("messages") as batch_op:
        batch_op.drop_column("see_also")
