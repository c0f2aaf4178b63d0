"""Join the OAuth (0003) and push (0004) branches, developed side by side.

Revision ID: 0005
Revises: 0003, 0004
"""

revision = "0005"
down_revision = ("0003", "0004")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
