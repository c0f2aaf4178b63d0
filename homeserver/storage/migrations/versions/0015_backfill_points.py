"""federation_backfill_points: where a room's history held here stops short

Revision ID: 0015_backfill_points
Revises: 0015_remote_media
Create Date: 2026-12-07 14:40:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_backfill_points"
down_revision = "0015_remote_media"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "federation_backfill_points",
        sa.Column("room_id", sa.String(length=255), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("depth", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("room_id", "event_id", name=op.f("pk_federation_backfill_points")),
    )


def downgrade() -> None:
    op.drop_table("federation_backfill_points")
