"""media repository: uploaded media and their thumbnails

Revision ID: 0006_media
Revises: 0013_merge
Create Date: 2026-12-07 06:40:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_media"
down_revision = "0013_merge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "media",
        sa.Column("media_id", sa.String(length=64), nullable=False),
        sa.Column("uploader", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.Text(), nullable=True),
        sa.Column("upload_name", sa.Text(), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("created_ts", sa.BigInteger(), nullable=False),
        sa.Column("expires_ts", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("media_id", name=op.f("pk_media")),
    )
    op.create_index(op.f("ix_media_uploader"), "media", ["uploader"], unique=False)
    op.create_index(op.f("ix_media_sha256"), "media", ["sha256"], unique=False)
    op.create_table(
        "media_thumbnails",
        sa.Column("media_id", sa.String(length=64), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_ts", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "media_id", "width", "height", "method", name=op.f("pk_media_thumbnails")
        ),
    )
    op.create_index(
        op.f("ix_media_thumbnails_sha256"), "media_thumbnails", ["sha256"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_media_thumbnails_sha256"), table_name="media_thumbnails")
    op.drop_table("media_thumbnails")
    op.drop_index(op.f("ix_media_sha256"), table_name="media")
    op.drop_index(op.f("ix_media_uploader"), table_name="media")
    op.drop_table("media")
