"""federation: other servers' signing keys

Revision ID: 0009_federation
Revises: 0005
Create Date: 2026-12-07 06:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_federation"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "server_keys",
        sa.Column("server_name", sa.String(length=255), nullable=False),
        sa.Column("key_id", sa.String(length=255), nullable=False),
        sa.Column("verify_key", sa.String(length=64), nullable=False),
        sa.Column("valid_until_ts", sa.BigInteger(), nullable=False),
        sa.Column("expired_ts", sa.BigInteger(), nullable=True),
        sa.Column("fetched_ts", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("server_name", "key_id", name=op.f("pk_server_keys")),
    )
    op.create_table(
        "server_key_responses",
        sa.Column("server_name", sa.String(length=255), nullable=False),
        sa.Column("response_json", sa.Text(), nullable=False),
        sa.Column("valid_until_ts", sa.BigInteger(), nullable=False),
        sa.Column("fetched_ts", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("server_name", name=op.f("pk_server_key_responses")),
    )


def downgrade() -> None:
    op.drop_table("server_key_responses")
    op.drop_table("server_keys")
