"""[ui] Indexes for the metrics over a time range.

- ix_claims_claimed_at: every pool's claims in a range (pool_metrics, rep_metrics, the Prometheus
  scrape over the last 24 hours). ix_claims_pool_time and ix_claims_rep_time lead with the pool or
  the rep, so a range over all of them read the whole index.
- ix_leads_created_at: leads taken in over a range, by source (response time and first-response
  SLA share).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.create_index("ix_claims_claimed_at", ["claimed_at"], unique=False)
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.create_index("ix_leads_created_at", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index("ix_leads_created_at")
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.drop_index("ix_claims_claimed_at")
