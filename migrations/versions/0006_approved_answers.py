"""approved answers (admins' corrections served at once) and the approved answer behind each served answer

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "approved_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=True),
        sa.Column("source_hash", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("review_reason", sa.Text(), nullable=True),
        sa.Column("approved_by", sa.String(length=64), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("corrects_message_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status IN ('active', 'needs_review', 'retired', 'candidate')",
            name=op.f("ck_approved_answers_status"),
        ),
        sa.ForeignKeyConstraint(
            ["corrects_message_id"],
            ["messages.id"],
            name=op.f("fk_approved_answers_corrects_message_id_messages"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approved_answers")),
    )
    with op.batch_alter_table("approved_answers") as batch_op:
        batch_op.create_index(batch_op.f("ix_approved_answers_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_approved_answers_corrects_message_id"), ["corrects_message_id"], unique=False
        )
    # Nullable: answers logged before this revision were never approved answers.
    with op.batch_alter_table("messages") as batch_op:
        batch_op.add_column(sa.Column("approved_answer_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    # Approved answers are admin work: a downgrade loses them (their corrections stay in `corrections`).
    with op.batch_alter_table("messages") as batch_op:
        batch_op.drop_column("approved_answer_id")
    op.drop_table("approved_answers")
