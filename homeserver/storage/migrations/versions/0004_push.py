"""push rules, pushers

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-25 10:00:00.000000

A branch beside 0003 (developed at the same time); the server applies every head.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "push_rules",
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("rules", sa.Text(), nullable=False),
        sa.Column("updated_ts", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_push_rules")),
    )
    op.create_table(
        "pushers",
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("pushkey", sa.String(length=512), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("device_id", sa.String(length=255), nullable=True),
        sa.Column("app_display_name", sa.Text(), nullable=False),
        sa.Column("device_display_name", sa.Text(), nullable=False),
        sa.Column("profile_tag", sa.Text(), nullable=True),
        sa.Column("lang", sa.String(length=64), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("pushkey_ts", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "app_id", "pushkey", name=op.f("pk_pushers")),
    )
    with op.batch_alter_table("pushers", schema=None) as batch_op:
        batch_op.create_index("ix_pushers_app_id_pushkey", ["app_id", "pushkey"], unique=False)
    with op.batch_alter_table("event_push_actions", schema=None) as batch_op:
        batch_op.create_index("ix_event_push_actions_event_id", ["event_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("event_push_actions", schema=None) as batch_op:
        batch_op.drop_index("ix_event_push_actions_event_id")
    with op.batch_alter_table("pushers", schema=None) as batch_op:
        batch_op.drop_index("ix_pushers_app_id_pushkey")
    op.drop_table("pushers")
    op.drop_table("push_rules")
