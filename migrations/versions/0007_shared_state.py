"""state webhook workers share: the update ledger (claim, chat order, leases) and flood windows

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "update_ledger",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("chat_key", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("worker", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.Float(), nullable=False),
        sa.Column("done_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_update_ledger")),
    )
    with op.batch_alter_table("update_ledger") as batch_op:
        batch_op.create_index("ix_update_ledger_chat_key_update_id", ["chat_key", "update_id"], unique=False)
        batch_op.create_index("ix_update_ledger_done_lease", ["done_at", "lease_until"], unique=False)
    op.create_table(
        "flood_windows",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("times", sa.Text(), nullable=False),
        sa.Column("noticed", sa.Boolean(), nullable=False),
        sa.Column("seen_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_flood_windows")),
    )
    with op.batch_alter_table("flood_windows") as batch_op:
        batch_op.create_index(batch_op.f("ix_flood_windows_seen_at"), ["seen_at"], unique=False)


def downgrade() -> None:
    # Both are short-lived coordination state: updates in flight finish on their worker, windows restart.
    op.drop_table("flood_windows")
    op.drop_table("update_ledger")
