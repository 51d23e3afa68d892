"""[guard] Token expiry and last use; the digest of an idempotent request.

- api_tokens.expires_at: an optional end, after which the token is refused like a revoked one.
- api_tokens.last_used_at: when the token last authenticated a request (for `leadpool token list`).
- leads.request_digest: a digest of the request that carried an idempotency key, so the same key
  sent with a different body is refused instead of silently answered with the first lead.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

When = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", When, nullable=True))
        batch_op.add_column(sa.Column("last_used_at", When, nullable=True))
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request_digest", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_column("request_digest")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("expires_at")
