"""Barcodes: an index by product, for replacing a product's barcodes.

Writing products replaces the barcodes of each product written, found by
account and ExternalNo. The primary key leads with the barcode, so without
this index every such delete scanned all of the account's barcodes: a daily
sync grew slower with every product it had stored.

Revision ID: 0007
"""

from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    """Index product_barcodes by account and ExternalNo."""
    op.create_index(
        "product_barcodes_external_no",
        "product_barcodes",
        ["account_id", "external_no"],
    )


def downgrade() -> None:
    """Drop the index."""
    op.drop_index("product_barcodes_external_no", table_name="product_barcodes")
