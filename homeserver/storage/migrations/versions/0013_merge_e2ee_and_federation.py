"""Join the E2EE (0007) and federation (0009) branches, developed side by side.

Revision ID: 0013_merge
Revises: 0007_e2ee, 0009_federation
"""

revision = "0013_merge"
down_revision = ("0007_e2ee", "0009_federation")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
