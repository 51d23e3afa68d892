"""[connect] the event feed's position, activities from outside, subscriptions, CRM write-back, and
closed leads by email for returning contacts.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from leadpool.storage.tables import Xid8

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)
Json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
TxId = sa.BigInteger().with_variant(Xid8(), "postgresql")


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    # On PostgreSQL every event records its transaction (see storage.tables). Events written before
    # this migration all get the migration's own id: older than anything to come, in id order.
    default = sa.text("pg_current_xact_id()") if postgres else None
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("txid", TxId, nullable=True, server_default=default))
        batch_op.create_index("ix_events_position", ["txid", "id"], unique=False)
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.create_index(
            "ix_leads_returning",
            ["email"],
            unique=False,
            sqlite_where=sa.text("email_key IS NULL"),
            postgresql_where=sa.text("email_key IS NULL"),
        )
    op.create_table(
        "activities",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("lead_id", Id, nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("stage", sa.String(length=100), nullable=True),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.Column("happened_at", When, nullable=False),
        sa.Column("recorded_at", When, nullable=False),
        sa.Column("actor_id", Id, nullable=True),
        sa.Column("effect", sa.String(length=20), nullable=False),
        sa.Column("details", Json, nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_activities_actor_id_users")),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], name=op.f("fk_activities_lead_id_leads")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activities")),
    )
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_activities_lead_id"), ["lead_id"], unique=False)
        batch_op.create_index(
            "uq_activities_external",
            ["source", "external_id"],
            unique=True,
            sqlite_where=sa.text("external_id IS NOT NULL"),
            postgresql_where=sa.text("external_id IS NOT NULL"),
        )
    op.create_table(
        "subscription_cursors",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("position", sa.String(length=60), nullable=False),
        sa.Column("failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", When, nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("delivered_at", When, nullable=True),
        sa.Column("updated_at", When, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_subscription_cursors")),
    )
    op.create_table(
        "crm_writes",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("connection", sa.String(length=100), nullable=False),
        sa.Column("lead_id", Id, nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=100), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", When, nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("written_owner", sa.String(length=100), nullable=True),
        sa.Column("updated_at", When, nullable=False),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], name=op.f("fk_crm_writes_lead_id_leads")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_writes")),
        sa.UniqueConstraint("connection", "lead_id", name=op.f("uq_crm_writes_connection")),
    )
    with op.batch_alter_table("crm_writes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_crm_writes_due",
            ["next_attempt_at"],
            unique=False,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )


def downgrade() -> None:
    op.drop_table("crm_writes")
    op.drop_table("subscription_cursors")
    op.drop_table("activities")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index("ix_leads_returning")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_position")
        batch_op.drop_column("txid")
