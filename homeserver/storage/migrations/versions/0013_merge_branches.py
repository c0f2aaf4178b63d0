"""Join the branches developed side by side after 0005: E2EE keys (0007),
search (0008), operations (0011) and federation (0009, 0012).

Revision ID: 0013_merge
Revises: 0007_e2ee, 0008_search, 0011_ops, 0012_federation_rooms
"""

revision = "0013_merge"
down_revision = ("0007_e2ee", "0008_search", "0011_ops", "0012_federation_rooms")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
