"""durable push queue: push_queue, push_progress

Revision ID: 0011_ops
Revises: 0005
Create Date: 2026-12-07 06:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_ops"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "push_queue",
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("pushkey", sa.String(length=512), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("stream_ordering", sa.BigInteger(), nullable=False),
        sa.Column("notification", sa.Text(), nullable=False),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint(
            "user_id", "app_id", "pushkey", "event_id", name=op.f("pk_push_queue")
        ),
    )
    with op.batch_alter_table("push_queue", schema=None) as batch_op:
        batch_op.create_index("ix_push_queue_stream_ordering", ["stream_ordering"], unique=False)
    op.create_table(
        "push_progress",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("stream_ordering", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_push_progress")),
    )


def downgrade() -> None:
    op.drop_table("push_progress")
    with op.batch_alter_table("push_queue", schema=None) as batch_op:
        batch_op.drop_index("ix_push_queue_stream_ordering")
    op.drop_table("push_queue")
