"""[insight] live experiments (the arm each split lead was given, the decisions that end a split) and
reps' obligations over time (each period's result, judged once).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "experiment_leads",
        sa.Column("lead_id", Id, nullable=False),
        sa.Column("experiment", sa.String(length=100), nullable=False),
        sa.Column("arm", sa.String(length=60), nullable=False),
        sa.Column("at", When, nullable=False),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], name=op.f("fk_experiment_leads_lead_id_leads")),
        sa.PrimaryKeyConstraint("lead_id", name=op.f("pk_experiment_leads")),
    )
    op.create_index("ix_experiment_leads_arm", "experiment_leads", ["experiment", "arm"], unique=False)
    op.create_table(
        "experiment_decisions",
        sa.Column("experiment", sa.String(length=100), nullable=False),
        sa.Column("winner", sa.String(length=60), nullable=False),
        sa.Column("decided_at", When, nullable=False),
        sa.Column("decided_by", Id, nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["users.id"], name=op.f("fk_experiment_decisions_decided_by_users")
        ),
        sa.PrimaryKeyConstraint("experiment", name=op.f("pk_experiment_decisions")),
    )
    op.create_table(
        "obligation_results",
        sa.Column("rep_id", Id, nullable=False),
        sa.Column("obligation", sa.String(length=30), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("met", sa.Boolean(), nullable=False),
        sa.Column("current", sa.Float(), nullable=False),
        sa.Column("target", sa.Float(), nullable=False),
        sa.Column("judged_at", When, nullable=False),
        sa.ForeignKeyConstraint(["rep_id"], ["users.id"], name=op.f("fk_obligation_results_rep_id_users")),
        sa.PrimaryKeyConstraint("rep_id", "obligation", "period", name=op.f("pk_obligation_results")),
    )


def downgrade() -> None:
    op.drop_table("obligation_results")
    op.drop_table("experiment_decisions")
    op.drop_index("ix_experiment_leads_arm", table_name="experiment_leads")
    op.drop_table("experiment_leads")
