"""Join the branches developed side by side after 0005: E2EE keys (0007),
search (0008), federation (0009) and operations (0011).

Revision ID: 0013_merge
Revises: 0007_e2ee, 0008_search, 0009_federation, 0011_ops
"""

revision = "0013_merge"
down_revision = ("0007_e2ee", "0008_search", "0009_federation", "0011_ops")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
