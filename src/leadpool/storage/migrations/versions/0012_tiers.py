"""[insight] performance tiers that follow performance: the periodic reviews (their preview and when
they apply), each rep's tier as reviews and pins set it, and imported monthly quotas.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)
Json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "tier_reviews",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("period", sa.String(length=20), nullable=False),
        sa.Column("made_at", When, nullable=False),
        sa.Column("window_start", When, nullable=False),
        sa.Column("window_end", When, nullable=False),
        sa.Column("applies_at", When, nullable=False),
        sa.Column("applied_at", When, nullable=True),
        sa.Column("waiting", sa.Boolean(), nullable=True),
        sa.Column("made_by", Id, nullable=True),
        sa.Column("verdicts", Json, nullable=False),
        sa.Column("outcome", Json, nullable=True),
        sa.ForeignKeyConstraint(["made_by"], ["users.id"], name=op.f("fk_tier_reviews_made_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tier_reviews")),
        sa.UniqueConstraint("period", name=op.f("uq_tier_reviews_period")),
        sa.UniqueConstraint("waiting", name=op.f("uq_tier_reviews_waiting")),
    )
    op.create_table(
        "rep_tiers",
        sa.Column("user_id", Id, nullable=False),
        sa.Column("tier", sa.String(length=50), nullable=False),
        sa.Column("changed_at", When, nullable=False),
        sa.Column("review_id", Id, nullable=True),
        sa.Column("pinned", sa.Boolean(), nullable=False),
        sa.Column("pinned_by", Id, nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_rep_tiers_user_id_users")),
        sa.ForeignKeyConstraint(
            ["review_id"], ["tier_reviews.id"], name=op.f("fk_rep_tiers_review_id_tier_reviews")
        ),
        sa.ForeignKeyConstraint(["pinned_by"], ["users.id"], name=op.f("fk_rep_tiers_pinned_by_users")),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_rep_tiers")),
    )
    op.create_table(
        "rep_quotas",
        sa.Column("user_id", Id, nullable=False),
        sa.Column("monthly", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("imported_at", When, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_rep_quotas_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_rep_quotas")),
    )


def downgrade() -> None:
    op.drop_table("rep_quotas")
    op.drop_table("rep_tiers")
    op.drop_table("tier_reviews")
