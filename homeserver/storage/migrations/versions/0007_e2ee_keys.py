"""end-to-end encryption: device and cross-signing keys, to-device messages,
device-list changes, key backup

Revision ID: 0007_e2ee
Revises: 0005
Create Date: 2026-12-07 05:40:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_e2ee"
down_revision = "0005"
branch_labels = None
depends_on = None


def _ids(*names: str) -> list[sa.Column[str]]:
    return [sa.Column(name, sa.String(length=255), nullable=False) for name in names]


def upgrade() -> None:
    op.create_table(
        "e2e_device_keys",
        *_ids("user_id", "device_id"),
        sa.Column("key_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "device_id", name=op.f("pk_e2e_device_keys")),
    )
    op.create_table(
        "e2e_one_time_keys",
        *_ids("user_id", "device_id"),
        sa.Column("algorithm", sa.String(length=128), nullable=False),
        sa.Column("key_id", sa.String(length=255), nullable=False),
        sa.Column("key_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint(
            "user_id", "device_id", "algorithm", "key_id", name=op.f("pk_e2e_one_time_keys")
        ),
    )
    op.create_table(
        "e2e_fallback_keys",
        *_ids("user_id", "device_id"),
        sa.Column("algorithm", sa.String(length=128), nullable=False),
        sa.Column("key_id", sa.String(length=255), nullable=False),
        sa.Column("key_json", sa.Text(), nullable=False),
        sa.Column("used", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint(
            "user_id", "device_id", "algorithm", name=op.f("pk_e2e_fallback_keys")
        ),
    )
    op.create_table(
        "e2e_cross_signing_keys",
        *_ids("user_id"),
        sa.Column("key_type", sa.String(length=32), nullable=False),
        sa.Column("public_key", sa.String(length=255), nullable=False),
        sa.Column("key_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "key_type", name=op.f("pk_e2e_cross_signing_keys")),
    )
    op.create_table(
        "e2e_key_signatures",
        *_ids("user_id", "key_id", "signer_user_id", "signer_key_id"),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint(
            "user_id",
            "key_id",
            "signer_user_id",
            "signer_key_id",
            name=op.f("pk_e2e_key_signatures"),
        ),
    )
    op.create_table(
        "device_list_changes",
        *_ids("user_id"),
        sa.Column("stream_ordering", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_device_list_changes")),
    )
    op.create_index(
        op.f("ix_device_list_changes_stream_ordering"),
        "device_list_changes",
        ["stream_ordering"],
        unique=False,
    )
    op.create_table(
        "to_device_messages",
        *_ids("user_id", "device_id"),
        sa.Column("stream_ordering", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("sender", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=255), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint(
            "user_id", "device_id", "stream_ordering", name=op.f("pk_to_device_messages")
        ),
    )
    op.create_table(
        "to_device_txns",
        *_ids("user_id", "device_id", "txn_id"),
        sa.Column("created_ts", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "device_id", "txn_id", name=op.f("pk_to_device_txns")),
    )
    op.create_table(
        "stream_heads",
        sa.Column("stream", sa.String(length=64), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("stream", name=op.f("pk_stream_heads")),
    )
    op.create_table(
        "room_key_backup_versions",
        *_ids("user_id"),
        sa.Column("version", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("algorithm", sa.String(length=255), nullable=False),
        sa.Column("auth_data", sa.Text(), nullable=False),
        sa.Column("etag", sa.BigInteger(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "version", name=op.f("pk_room_key_backup_versions")),
    )
    op.create_table(
        "room_key_backup_keys",
        *_ids("user_id"),
        sa.Column("version", sa.BigInteger(), autoincrement=False, nullable=False),
        *_ids("room_id", "session_id"),
        sa.Column("first_message_index", sa.BigInteger(), nullable=False),
        sa.Column("forwarded_count", sa.BigInteger(), nullable=False),
        sa.Column("is_verified", sa.Boolean(), nullable=False),
        sa.Column("session_data", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint(
            "user_id", "version", "room_id", "session_id", name=op.f("pk_room_key_backup_keys")
        ),
    )


def downgrade() -> None:
    op.drop_table("room_key_backup_keys")
    op.drop_table("room_key_backup_versions")
    op.drop_table("stream_heads")
    op.drop_table("to_device_txns")
    op.drop_table("to_device_messages")
    op.drop_index(op.f("ix_device_list_changes_stream_ordering"), table_name="device_list_changes")
    op.drop_table("device_list_changes")
    op.drop_table("e2e_key_signatures")
    op.drop_table("e2e_cross_signing_keys")
    op.drop_table("e2e_fallback_keys")
    op.drop_table("e2e_one_time_keys")
    op.drop_table("e2e_device_keys")
