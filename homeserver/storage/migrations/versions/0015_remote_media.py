"""remote_media, remote_media_thumbnails: media of other servers cached here

Revision ID: 0015_remote_media
Revises: 0014_stream_writers
Create Date: 2026-12-07 14:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_remote_media"
down_revision = "0014_stream_writers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "remote_media",
        sa.Column("origin", sa.String(length=255), nullable=False),
        sa.Column("media_id", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.Text(), nullable=False),
        sa.Column("upload_name", sa.Text(), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("fetched_ts", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("origin", "media_id", name=op.f("pk_remote_media")),
    )
    op.create_index(op.f("ix_remote_media_sha256"), "remote_media", ["sha256"], unique=False)
    op.create_table(
        "remote_media_thumbnails",
        sa.Column("origin", sa.String(length=255), nullable=False),
        sa.Column("media_id", sa.String(length=255), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("content_type", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("fetched_ts", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "origin",
            "media_id",
            "width",
            "height",
            "method",
            name=op.f("pk_remote_media_thumbnails"),
        ),
    )
    op.create_index(
        op.f("ix_remote_media_thumbnails_sha256"),
        "remote_media_thumbnails",
        ["sha256"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_remote_media_thumbnails_sha256"), table_name="remote_media_thumbnails")
    op.drop_table("remote_media_thumbnails")
    op.drop_index(op.f("ix_remote_media_sha256"), table_name="remote_media")
    op.drop_table("remote_media")
