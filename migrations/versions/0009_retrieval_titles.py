"""the title of each passage's document (retrievals.title), which the widget shows a cited source by

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: passages logged before this revision kept no title (their sources are shown by file path).
    with op.batch_alter_table("retrievals") as batch_op:
        batch_op.add_column(sa.Column("title", sa.Text(), nullable=True))


def downgrade() -> None:
    # Drops only the titles: passages, answers and their sources are kept (shown by file path again).
    with op.batch_alter_table("retrievals") as batch_op:
        batch_op.drop_column("title")
