"""Indexes that keep the time-driven jobs flat as history grows (found by the strategy lab).

- ix_leads_held: the held, not yet contacted leads. The claim-to-contact SLA runs every tick; it
  used to read every open claim ever made (claims stay open once a lead is worked), so its cost
  grew with history.
- ix_claims_pool_time: a pool's claims in a window, for the hourly performance check.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.create_index(
            "ix_leads_held",
            ["owner_id"],
            unique=False,
            sqlite_where=sa.text("status = 'claimed'"),
            postgresql_where=sa.text("status = 'claimed'"),
        )
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.create_index("ix_claims_pool_time", ["pool_id", "claimed_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.drop_index("ix_claims_pool_time")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index("ix_leads_held")
