"""scale-out: stream_writers, and (PostgreSQL) the sequence positions come from

Revision ID: 0014_stream_writers
Revises: 0014_to_device_txns_age
Create Date: 2026-12-07 12:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_stream_writers"
down_revision = "0014_to_device_txns_age"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stream_writers",
        sa.Column("instance", sa.String(length=64), nullable=False),
        sa.Column("backend_pid", sa.Integer(), nullable=False),
        sa.Column("safe_position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("instance", name=op.f("pk_stream_writers")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sa.schema.CreateSequence(sa.Sequence("stream_position_seq", start=1)))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sa.schema.DropSequence(sa.Sequence("stream_position_seq")))
    op.drop_table("stream_writers")
