"""channel-neutral processed deliveries (was Telegram's processed_updates); the web channel

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelled out, not taken from the code: a revision must keep meaning what it meant when it was written.
CHANNELS_0002 = "channel IN ('telegram', 'console')"
CHANNELS_0003 = "channel IN ('telegram', 'console', 'web')"

# Children first: SQLite only cascades with foreign keys on, which Alembic's connection does not turn on.
DROP_WEB = (
    "DELETE FROM retrievals WHERE message_id IN (SELECT id FROM messages WHERE conversation_id IN "
    "(SELECT id FROM conversations WHERE channel = 'web'))",
    "DELETE FROM feedback WHERE message_id IN (SELECT id FROM messages WHERE conversation_id IN "
    "(SELECT id FROM conversations WHERE channel = 'web'))",
    "DELETE FROM corrections WHERE message_id IN (SELECT id FROM messages WHERE conversation_id IN "
    "(SELECT id FROM conversations WHERE channel = 'web'))",
    "UPDATE messages SET reply_to_id = NULL WHERE reply_to_id IN (SELECT id FROM messages WHERE "
    "conversation_id IN (SELECT id FROM conversations WHERE channel = 'web'))",
    "DELETE FROM messages WHERE conversation_id IN (SELECT id FROM conversations WHERE channel = 'web')",
    "DELETE FROM conversations WHERE channel = 'web'",
    "DELETE FROM users WHERE channel = 'web'",
)
COPY_BACK_POSTGRES = (
    "INSERT INTO processed_updates (update_id, processed_at) "
    "SELECT CAST(delivery_id AS BIGINT), processed_at FROM processed_deliveries "
    "WHERE channel = 'telegram' AND length(delivery_id) BETWEEN 1 AND 18 AND delivery_id ~ '^[0-9]+$'"
)
COPY_BACK_SQLITE = (
    "INSERT INTO processed_updates (update_id, processed_at) "
    "SELECT CAST(delivery_id AS BIGINT), processed_at FROM processed_deliveries "
    "WHERE channel = 'telegram' AND length(delivery_id) BETWEEN 1 AND 18 AND delivery_id NOT GLOB '*[^0-9]*'"
)


def _set_channel_check(check: str) -> None:
    # Batch mode: SQLite rebuilds the table (rows copied) with the new check; elsewhere plain ALTERs.
    with op.batch_alter_table("conversations") as batch_op:
        batch_op.drop_constraint(op.f("ck_conversations_channel"), type_="check")
        batch_op.create_check_constraint(op.f("ck_conversations_channel"), check)


def upgrade() -> None:
    op.create_table(
        "processed_deliveries",
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("delivery_id", sa.String(length=128), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", "delivery_id", name=op.f("pk_processed_deliveries")),
    )
    with op.batch_alter_table("processed_deliveries") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_processed_deliveries_processed_at"), ["processed_at"], unique=False
        )
    # Every id claimed so far was a Telegram update id; keeping them keeps redeliveries dropped.
    op.execute(
        "INSERT INTO processed_deliveries (channel, delivery_id, processed_at) "
        "SELECT 'telegram', CAST(update_id AS VARCHAR(128)), processed_at FROM processed_updates"
    )
    op.drop_table("processed_updates")
    _set_channel_check(CHANNELS_0003)


def downgrade() -> None:
    # 0002 has no web channel: its conversations go, like the data of any removed column or table.
    for statement in DROP_WEB:
        op.execute(statement)
    _set_channel_check(CHANNELS_0002)

    op.create_table(
        "processed_updates",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_processed_updates")),
    )
    with op.batch_alter_table("processed_updates") as batch_op:
        batch_op.create_index(batch_op.f("ix_processed_updates_processed_at"), ["processed_at"], unique=False)
    # Only Telegram ids fit the old table (a bigint of at most 18 digits); other channels' claims go.
    op.execute(COPY_BACK_POSTGRES if op.get_bind().dialect.name == "postgresql" else COPY_BACK_SQLITE)
    op.drop_table("processed_deliveries")
