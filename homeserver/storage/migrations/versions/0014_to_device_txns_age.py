"""to_device_txns: an index on created_ts (old ids are deleted by age)

Revision ID: 0014_to_device_txns_age
Revises: 0006_media
Create Date: 2026-12-07 12:05:00.000000
"""

from alembic import op

revision = "0014_to_device_txns_age"
down_revision = "0006_media"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_to_device_txns_created_ts", "to_device_txns", ["created_ts"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_to_device_txns_created_ts", table_name="to_device_txns")
