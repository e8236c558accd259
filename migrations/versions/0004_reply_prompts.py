"""reply prompts (👎 comment, ✏️ correction) kept in the log instead of process memory

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reply_prompts",
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("external_chat_id", sa.String(length=64), nullable=False),
        sa.Column("external_message_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("external_user_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('comment', 'correct')", name=op.f("ck_reply_prompts_kind")),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_reply_prompts_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "channel", "external_chat_id", "external_message_id", name=op.f("pk_reply_prompts")
        ),
    )
    with op.batch_alter_table("reply_prompts") as batch_op:
        batch_op.create_index(batch_op.f("ix_reply_prompts_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_reply_prompts_message_id"), ["message_id"], unique=False)


def downgrade() -> None:
    # Prompts are short-lived: a reply to one after the downgrade is read as an ordinary question.
    op.drop_table("reply_prompts")
