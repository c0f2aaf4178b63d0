"""federation rooms: received transactions, event outcomes, outbound queue

Revision ID: 0012_federation_rooms
Revises: 0009_federation
Create Date: 2026-12-07 06:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_federation_rooms"
down_revision = "0009_federation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "federation_received_transactions",
        sa.Column("origin", sa.String(length=255), nullable=False),
        sa.Column("txn_id", sa.String(length=255), nullable=False),
        sa.Column("response_json", sa.Text(), nullable=False),
        sa.Column("received_ts", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "origin", "txn_id", name=op.f("pk_federation_received_transactions")
        ),
    )
    op.create_table(
        "federation_event_outcomes",
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("room_id", sa.String(length=255), nullable=False),
        sa.Column("origin", sa.String(length=255), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("json", sa.Text(), nullable=False),
        sa.Column("received_ts", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_federation_event_outcomes")),
    )
    op.create_index(
        "ix_federation_event_outcomes_room_id", "federation_event_outcomes", ["room_id"]
    )
    op.create_table(
        "federation_outbound_queue",
        sa.Column(
            "queue_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("destination", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("json", sa.Text(), nullable=False),
        sa.Column("created_ts", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("queue_id", name=op.f("pk_federation_outbound_queue")),
    )
    op.create_index(
        "ix_federation_outbound_queue_destination_queue_id",
        "federation_outbound_queue",
        ["destination", "queue_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_federation_outbound_queue_destination_queue_id", "federation_outbound_queue")
    op.drop_table("federation_outbound_queue")
    op.drop_index("ix_federation_event_outcomes_room_id", "federation_event_outcomes")
    op.drop_table("federation_event_outcomes")
    op.drop_table("federation_received_transactions")
