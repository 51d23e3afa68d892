"""The schema, as SQLAlchemy Core tables. Alembic migrations create it; tests check they agree."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql.base import ischema_names as pg_ischema_names

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(JSONB(), "postgresql")
When = sa.DateTime(timezone=True)


class Xid8(sa.types.UserDefinedType[int]):
    """PostgreSQL's 64-bit transaction id (xid8), which does not wrap around."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "XID8"


TxId = sa.BigInteger().with_variant(Xid8(), "postgresql")
# Reflection (the migrations-match-the-tables check) knows the type by this name.
pg_ischema_names.setdefault("xid8", Xid8)

org_versions = sa.Table(
    "org_versions",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("applied_at", When, nullable=False),
    sa.Column("checksum", sa.String(64), nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("summary", Json, nullable=False),
)

teams = sa.Table(
    "teams",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("title", sa.String(100)),
    sa.Column("team_id", Id, sa.ForeignKey("teams.id")),
    sa.Column("tier", sa.String(50)),
    sa.Column("territories", Json, nullable=False, default=list),
    sa.Column("skills", Json, nullable=False, default=list),
    sa.Column("timezone", sa.String(64), nullable=False, default="UTC"),
    sa.Column("weight", sa.Float, nullable=False, default=1.0),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("created_at", When, nullable=False),
    # Push availability: the rep's own online/offline toggle, kept apart from the org file.
    sa.Column("online", sa.Boolean, nullable=False, default=True, server_default=sa.true()),
    sa.Column("offline_reason", sa.String(300)),
    # Web login: an argon2 hash; None means the person has no password and cannot log in.
    sa.Column("password_hash", sa.String(200)),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("user_id", Id, sa.ForeignKey("users.id"), nullable=False, index=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", When, nullable=False),
    sa.Column("revoked_at", When),
    # A token may be given an end; one that has passed it is refused like a revoked one.
    sa.Column("expires_at", When),
    # When the token last authenticated a request, so admins can find and revoke unused ones.
    sa.Column("last_used_at", When),
)

pools = sa.Table(
    "pools",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("kind", sa.String(30), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("created_at", When, nullable=False),
)


def fixed(word: str) -> Any:
    """One of leadpool's own words (a status, a kind) written into the SQL instead of bound.

    SQLite lets a bound value that a partial index depends on shape the plan, and then prepares
    the statement again every time it is bound (6 to 40 µs each); PostgreSQL can only use a partial
    index with a generic plan when the value is in the text. A literal keeps one plan on both."""
    assert word.isidentifier(), word  # never user input: nothing to quote
    return sa.literal_column(f"'{word}'")


leads = sa.Table(
    "leads",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("external_id", sa.String(200)),
    sa.Column("idempotency_key", sa.String(200)),
    # A digest of the request that carried the idempotency key: the same key with another body is a
    # different request, refused rather than answered with the first one's lead.
    sa.Column("request_digest", sa.String(64)),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("pool_id", Id, sa.ForeignKey("pools.id")),
    sa.Column("owner_id", Id, sa.ForeignKey("users.id")),
    sa.Column("priority", sa.Float, nullable=False, default=0.0),
    sa.Column("score", sa.Float),
    sa.Column("source", sa.String(100)),
    sa.Column("email", sa.String(320)),
    sa.Column("company", sa.String(300)),
    sa.Column("data", Json, nullable=False),
    # Duplicate keys, set only while the lead is live: unique, so no second live lead can exist.
    sa.Column("email_key", sa.String(320)),
    sa.Column("person_key", sa.String(600)),
    sa.Column("duplicate_of", Id, sa.ForeignKey("leads.id")),
    sa.Column("review_reason", sa.String(40)),
    sa.Column("channel", sa.String(20), nullable=False),
    sa.Column("return_count", sa.Integer, nullable=False, default=0),
    sa.Column("created_at", When, nullable=False),
    sa.Column("entered_pool_at", When),
    sa.Column("claimed_at", When),
    sa.Column("first_contact_at", When),
    sa.Column("closed_at", When),
    sa.Column("outcome", sa.String(20)),
    sa.Column("amount", sa.Numeric(14, 2)),
    # [clock]: how many aging brackets have fired since the lead entered its pool, a manager-review
    # flag they may set, and when the first-response SLA for the lead's source falls due.
    sa.Column("aging_step", sa.SmallInteger, nullable=False, default=0, server_default="0"),
    sa.Column("flag", sa.String(200)),
    sa.Column("first_response_due_at", When),
    sa.CheckConstraint(
        "(status IN ('claimed','contacted','opportunity','won','lost')) = (owner_id IS NOT NULL)"
        " OR status IN ('disqualified','archived')",
        name="owner_matches_status",
    ),
)
# Claim-next reads exactly this order, so it is one index range scan.
sa.Index(
    "ix_leads_claimable",
    leads.c.pool_id,
    leads.c.priority.desc(),
    leads.c.entered_pool_at,
    leads.c.id,
    sqlite_where=leads.c.status == "available",
    postgresql_where=leads.c.status == "available",
)
sa.Index("ix_leads_owner_status", leads.c.owner_id, leads.c.status)
sa.Index("ix_leads_created_at", leads.c.created_at)  # metrics: leads taken in over a range, by source
# Held and not yet contacted: what the claim-to-contact SLA watches every tick.
sa.Index(
    "ix_leads_held",
    leads.c.owner_id,
    sqlite_where=leads.c.status == "claimed",
    postgresql_where=leads.c.status == "claimed",
)
HELD = leads.c.status == fixed("claimed")
AVAILABLE = leads.c.status == fixed("available")
# Aging reads, per pool and bracket, the available leads at each earlier step that are old enough.
sa.Index(
    "ix_leads_aging",
    leads.c.pool_id,
    leads.c.aging_step,
    leads.c.entered_pool_at,
    sqlite_where=leads.c.status == "available",
    postgresql_where=leads.c.status == "available",
)
sa.Index(
    "ix_leads_first_response",
    leads.c.first_response_due_at,
    sqlite_where=leads.c.first_response_due_at.is_not(None),
    postgresql_where=leads.c.first_response_due_at.is_not(None),
)
# Unique where set: most of these are empty on most leads, and a claim (which rewrites the row)
# then adds no entry to them.
for _column in (leads.c.external_id, leads.c.idempotency_key, leads.c.email_key, leads.c.person_key):
    sa.Index(
        f"uq_leads_{_column.name}",
        _column,
        unique=True,
        sqlite_where=_column.is_not(None),
        postgresql_where=_column.is_not(None),
    )
# Closed leads by email, for returning contacts (push.sticky). A live lead holds its email_key and is
# not in it, so intake's inserts never touch this index: a lead enters it when it closes.
sa.Index(
    "ix_leads_returning",
    leads.c.email,
    sqlite_where=leads.c.email_key.is_(None),
    postgresql_where=leads.c.email_key.is_(None),
)
sa.Index(
    "ix_leads_review",
    leads.c.review_reason,
    sqlite_where=leads.c.status == "review",
    postgresql_where=leads.c.status == "review",
)

claims = sa.Table(
    "claims",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("lead_id", Id, sa.ForeignKey("leads.id"), nullable=False),
    sa.Column("rep_id", Id, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("pool_id", Id, sa.ForeignKey("pools.id"), nullable=False),
    sa.Column("kind", sa.String(10), nullable=False, default="claim"),  # claim | assign (push)
    sa.Column("action", sa.String(32), nullable=False),  # one per claim request: a batch is one action
    sa.Column("claimed_at", When, nullable=False),
    sa.Column("released_at", When),
    sa.Column("release_reason", sa.String(300)),
    # Claim-to-contact SLA: how many steps of the breach ladder have fired for this claim.
    sa.Column("sla_step", sa.SmallInteger, nullable=False, default=0, server_default="0"),
)
# The invariant of the product: at most one rep holds a lead, whatever the application does.
sa.Index(
    "uq_claims_one_holder",
    claims.c.lead_id,
    unique=True,
    sqlite_where=claims.c.released_at.is_(None),
    postgresql_where=claims.c.released_at.is_(None),
)
sa.Index("ix_claims_rep_time", claims.c.rep_id, claims.c.claimed_at)
sa.Index("ix_claims_pool_time", claims.c.pool_id, claims.c.claimed_at)  # hourly pool performance
sa.Index("ix_claims_claimed_at", claims.c.claimed_at)  # metrics: every pool's claims in a range
# The SLA job reads, per ladder step, the open claims old enough for it.
sa.Index(
    "ix_claims_sla",
    claims.c.sla_step,
    claims.c.claimed_at,
    sqlite_where=claims.c.released_at.is_(None),
    postgresql_where=claims.c.released_at.is_(None),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("lead_id", Id, sa.ForeignKey("leads.id")),
    sa.Column("type", sa.String(40), nullable=False),
    sa.Column("at", When, nullable=False),
    sa.Column("actor_id", Id, sa.ForeignKey("users.id")),
    sa.Column("pool_id", Id, sa.ForeignKey("pools.id")),
    sa.Column("rep_id", Id, sa.ForeignKey("users.id")),
    sa.Column("reason", sa.String(300)),
    sa.Column("details", Json, nullable=False),
    # The writing transaction's id on PostgreSQL (pg_current_xact_id(), set by the column's
    # default), NULL on SQLite. Ids are taken from the sequence before commit, so on PostgreSQL a
    # later id can commit first; the event feed reads in (txid, id) order and only below the oldest
    # running transaction, so a follower's cursor never passes an event still to commit.
    sa.Column("txid", TxId),
)
sa.Index("ix_events_lead", events.c.lead_id, events.c.id)
sa.Index("ix_events_position", events.c.txid, events.c.id)
sa.Index("ix_events_type_at", events.c.type, events.c.at)

# PTO and out-of-office periods: a rep is skipped by push while one covers the moment.
absences = sa.Table(
    "absences",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("user_id", Id, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("starts_at", When, nullable=False),
    sa.Column("ends_at", When, nullable=False),
    sa.Column("reason", sa.String(300), nullable=False),
    sa.Column("created_at", When, nullable=False),
    sa.Column("created_by", Id, sa.ForeignKey("users.id")),
)
sa.Index("ix_absences_user_ends", absences.c.user_id, absences.c.ends_at)

# Known accounts and their owners (account ownership): a lead from one goes to its owner.
accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("external_id", sa.String(200)),
    sa.Column("name", sa.String(300), nullable=False),
    sa.Column("name_key", sa.String(300), nullable=False),
    sa.Column("domain", sa.String(300)),
    sa.Column("website", sa.String(300)),
    sa.Column("owner_id", Id, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("updated_at", When, nullable=False),
)
for _column in (accounts.c.external_id, accounts.c.domain):
    sa.Index(
        f"uq_accounts_{_column.name}",
        _column,
        unique=True,
        sqlite_where=_column.is_not(None),
        postgresql_where=_column.is_not(None),
    )
sa.Index("ix_accounts_name_key", accounts.c.name_key)
sa.Index("ix_accounts_website", accounts.c.website)

# The rotation state of each push segment: whose turn it is, persisted so every worker agrees.
push_cursors = sa.Table(
    "push_cursors",
    metadata,
    sa.Column("key", sa.String(300), primary_key=True),
    sa.Column("state", Json, nullable=False),
    sa.Column("updated_at", When, nullable=False),
)

# Hot-lane offers: one lead offered to several reps at once; the first to accept gets it.
offers = sa.Table(
    "offers",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("lead_id", Id, sa.ForeignKey("leads.id"), nullable=False),
    sa.Column("rep_id", Id, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("round", sa.Integer, nullable=False),
    sa.Column("offered_at", When, nullable=False),
    sa.Column("expires_at", When, nullable=False),
    sa.Column("answer", sa.String(20)),  # accepted | declined | taken | expired
    sa.Column("answered_at", When),
    sa.UniqueConstraint("lead_id", "rep_id"),
)
sa.Index(
    "ix_offers_pending",
    offers.c.expires_at,
    sqlite_where=offers.c.answer.is_(None),
    postgresql_where=offers.c.answer.is_(None),
)
sa.Index("ix_offers_rep", offers.c.rep_id, offers.c.answer)

# A rep who declined a lead is never offered or given it again.
declines = sa.Table(
    "declines",
    metadata,
    sa.Column("lead_id", Id, sa.ForeignKey("leads.id"), primary_key=True),
    sa.Column("rep_id", Id, sa.ForeignKey("users.id"), primary_key=True),
    sa.Column("at", When, nullable=False),
    sa.Column("reason", sa.String(300), nullable=False),
)

# One row per job and tick: the unique key is what makes a tick run exactly once,
# whichever scheduler gets there first; finished_at stays empty if a run was cut short.
job_runs = sa.Table(
    "job_runs",
    metadata,
    sa.Column("job", sa.String(60), primary_key=True),
    sa.Column("tick", When, primary_key=True),
    sa.Column("started_at", When, nullable=False),
    sa.Column("finished_at", When),
    sa.Column("result", Json),
    sa.Column("runner", sa.String(100), nullable=False),
)

# Repeat SLA offenders: a reduced claim quota or suspended pool access for a while, visible to
# the rep and lifted early by a manager.
penalties = sa.Table(
    "penalties",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("rep_id", Id, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),  # reduced_quota | suspended
    sa.Column("factor", sa.Float),  # reduced_quota: daily claims are multiplied by this
    sa.Column("starts_at", When, nullable=False),
    sa.Column("ends_at", When, nullable=False),
    sa.Column("reason", sa.String(300), nullable=False),
    sa.Column("lifted_at", When),
    sa.Column("lifted_by", Id, sa.ForeignKey("users.id")),
)
sa.Index("ix_penalties_rep", penalties.c.rep_id, penalties.c.ends_at)

# Transfers between pools: requested with a reason, approved or rejected by ops, or automatic
# when a score change sends a lead to another tier.
transfers = sa.Table(
    "transfers",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("lead_id", Id, sa.ForeignKey("leads.id"), nullable=False),
    sa.Column("from_pool_id", Id, sa.ForeignKey("pools.id"), nullable=False),
    sa.Column("to_pool_id", Id, sa.ForeignKey("pools.id"), nullable=False),
    sa.Column("reason", sa.String(300), nullable=False),
    sa.Column("requested_by", Id, sa.ForeignKey("users.id")),  # None: automatic
    sa.Column("requested_at", When, nullable=False),
    sa.Column("status", sa.String(10), nullable=False),  # pending | approved | rejected
    sa.Column("decided_by", Id, sa.ForeignKey("users.id")),
    sa.Column("decided_at", When),
    sa.Column("note", sa.String(300)),
)
sa.Index(
    "uq_transfers_one_pending",
    transfers.c.lead_id,
    unique=True,
    sqlite_where=transfers.c.status == "pending",
    postgresql_where=transfers.c.status == "pending",
)
sa.Index("ix_transfers_from_time", transfers.c.from_pool_id, transfers.c.decided_at)

# What pool-health automation has changed about a pool: paused, capped, in overflow, its
# dynamic threshold, paused sources, and the day counters behind dynamic sizing. `pinned_until`:
# an admin's undo holds until then, and automation leaves the pool alone.
pool_states = sa.Table(
    "pool_states",
    metadata,
    sa.Column("pool_id", Id, sa.ForeignKey("pools.id"), primary_key=True),
    sa.Column("state", Json, nullable=False),
    sa.Column("pinned_until", When),
    sa.Column("updated_at", When, nullable=False),
)

# Web sessions: the cookie holds a random token, stored here only as its digest (like API tokens).
# A session ends at `expires_at`, after `idle` without a request (settings), or at logout; the CSRF
# token every form posts back is bound to it.
web_sessions = sa.Table(
    "web_sessions",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("user_id", Id, sa.ForeignKey("users.id"), nullable=False, index=True),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("created_at", When, nullable=False),
    sa.Column("last_seen_at", When, nullable=False),
    sa.Column("expires_at", When, nullable=False),
    sa.Column("ended_at", When),
)

# Action links: what a notice by email or SMS links to, for the one person it was sent to. The link
# acts once, for one action on one lead, until it expires or is revoked; only a digest of its
# token is kept, as for API tokens and web sessions.
action_links = sa.Table(
    "action_links",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("user_id", Id, sa.ForeignKey("users.id"), nullable=False, index=True),
    sa.Column("lead_id", Id, sa.ForeignKey("leads.id"), nullable=False),
    sa.Column("action", sa.String(20), nullable=False),  # accept (an offer) | contact (a pushed lead)
    sa.Column("created_at", When, nullable=False),
    sa.Column("expires_at", When, nullable=False),
    sa.Column("used_at", When),
    sa.Column("revoked_at", When),
)

# Health alerts as episodes: opened when a check first fails, updated while it keeps failing
# (the level may rise or fall), closed once when it passes again. At most one open episode per check
# and subject, so a failing check raises one alert, not one per tick (no storms).
alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("check", sa.String(40), nullable=False),  # depth, age, depletion, conversion, contact, …
    sa.Column("subject", sa.String(200), nullable=False),  # what failed it: a pool's name, or 'org'
    sa.Column("pool_id", Id, sa.ForeignKey("pools.id")),
    sa.Column("level", sa.String(20), nullable=False),  # yellow | red | critical
    sa.Column("message", sa.String(500), nullable=False),
    sa.Column("details", Json, nullable=False),
    sa.Column("recipients", Json, nullable=False),  # emails it was routed to, by role
    sa.Column("opened_at", When, nullable=False),
    sa.Column("updated_at", When, nullable=False),
    sa.Column("closed_at", When),
    sa.Column("acknowledged_at", When),
    sa.Column("acknowledged_by", Id, sa.ForeignKey("users.id")),
)
sa.Index(
    "uq_alerts_one_open",
    alerts.c.check,
    alerts.c.subject,
    unique=True,
    sqlite_where=alerts.c.closed_at.is_(None),
    postgresql_where=alerts.c.closed_at.is_(None),
)
sa.Index("ix_alerts_opened", alerts.c.opened_at)

# Notifications as an outbox: written in the transaction that raised them, sent after commit
# and retried with backoff by the scheduler, so a failing channel never blocks routing or claiming.
deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("channel", sa.String(100), nullable=False),  # a channel's name in the org file
    sa.Column("kind", sa.String(60), nullable=False),  # what is told: sla.breach, alert.depth, …
    sa.Column("alert_id", Id, sa.ForeignKey("alerts.id")),
    sa.Column("lead_id", Id, sa.ForeignKey("leads.id")),
    sa.Column("recipients", Json, nullable=False),
    sa.Column("payload", Json, nullable=False),
    sa.Column("status", sa.String(10), nullable=False),  # pending | sent | failed (gave up)
    sa.Column("attempts", sa.Integer, nullable=False, default=0, server_default="0"),
    sa.Column("created_at", When, nullable=False),
    sa.Column("next_attempt_at", When),
    sa.Column("sent_at", When),
    sa.Column("last_error", sa.String(500)),
    # What makes it once only: e.g. 'event:<id>:<channel>' for a rep notice made from an event.
    sa.Column("dedupe", sa.String(200)),
    sa.UniqueConstraint("dedupe"),
)
sa.Index(
    "ix_deliveries_due",
    deliveries.c.next_attempt_at,
    sqlite_where=deliveries.c.status == "pending",
    postgresql_where=deliveries.c.status == "pending",
)

# Every attempt to send a delivery, kept: what the channel answered, or why it failed.
delivery_attempts = sa.Table(
    "delivery_attempts",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("delivery_id", Id, sa.ForeignKey("deliveries.id"), nullable=False, index=True),
    sa.Column("at", When, nullable=False),
    sa.Column("ok", sa.Boolean, nullable=False),
    sa.Column("status_code", sa.Integer),
    sa.Column("error", sa.String(500)),
    sa.Column("duration_ms", sa.Float, nullable=False),
)

# Activities from outside (a CRM, a dialer): a call, an email, a meeting or a stage change on a
# lead. The first one of a kind the org file counts as contact ends the first-response SLA, a stage
# the org maps to an outcome records it. (source, external_id) makes a redelivered one a no-op.
activities = sa.Table(
    "activities",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("lead_id", Id, sa.ForeignKey("leads.id"), nullable=False, index=True),
    sa.Column("kind", sa.String(50), nullable=False),  # call | email | meeting | stage | …
    sa.Column("stage", sa.String(100)),  # for a stage change: the CRM's stage
    sa.Column("source", sa.String(100), nullable=False),  # api | hubspot | salesforce | …
    sa.Column("external_id", sa.String(200)),
    sa.Column("happened_at", When, nullable=False),
    sa.Column("recorded_at", When, nullable=False),
    sa.Column("actor_id", Id, sa.ForeignKey("users.id")),
    sa.Column("effect", sa.String(20), nullable=False),  # contact | outcome | none
    sa.Column("details", Json, nullable=False),
)
sa.Index(
    "uq_activities_external",
    activities.c.source,
    activities.c.external_id,
    unique=True,
    sqlite_where=activities.c.external_id.is_not(None),
    postgresql_where=activities.c.external_id.is_not(None),
)

# Webhook subscriptions' progress through the event feed: the position of the last event each one
# delivered, and while its receiver fails, when to try again. One row per subscription name.
subscription_cursors = sa.Table(
    "subscription_cursors",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("position", sa.String(60), nullable=False),
    sa.Column("failures", sa.Integer, nullable=False, default=0, server_default="0"),
    sa.Column("next_attempt_at", When),
    sa.Column("last_error", sa.String(500)),
    sa.Column("delivered_at", When),
    sa.Column("updated_at", When, nullable=False),
)

# The CRM owner write-back as an outbox: one row per CRM connection and lead, made pending in the
# transaction that changed the lead's holder. The sender writes the lead's holder as it is when it
# sends, so changes that pile up while a CRM is down end in one write of the latest owner, and
# retries cannot land out of order. `dead` rows gave up and wait for someone to retry them.
crm_writes = sa.Table(
    "crm_writes",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("connection", sa.String(100), nullable=False),
    sa.Column("lead_id", Id, sa.ForeignKey("leads.id"), nullable=False),
    sa.Column("status", sa.String(10), nullable=False),  # pending | done | dead
    sa.Column("reason", sa.String(100), nullable=False),  # the event that asked for it
    sa.Column("attempts", sa.Integer, nullable=False, default=0, server_default="0"),
    sa.Column("next_attempt_at", When),
    sa.Column("last_error", sa.String(500)),
    sa.Column("written_owner", sa.String(100)),  # the CRM owner id last written
    sa.Column("updated_at", When, nullable=False),
    sa.UniqueConstraint("connection", "lead_id"),
)
sa.Index(
    "ix_crm_writes_due",
    crm_writes.c.next_attempt_at,
    sqlite_where=crm_writes.c.status == "pending",
    postgresql_where=crm_writes.c.status == "pending",
)

# Live experiments (leadpool.experiments): the arm each split lead was given when it came in — the
# report counts every lead in that arm whatever happens to it later (intention to treat) — and
# the decisions that end a split, sending every later lead of the segment to the winner.
experiment_leads = sa.Table(
    "experiment_leads",
    metadata,
    sa.Column("lead_id", Id, sa.ForeignKey("leads.id"), primary_key=True),
    sa.Column("experiment", sa.String(100), nullable=False),
    sa.Column("arm", sa.String(60), nullable=False),
    sa.Column("at", When, nullable=False),
)
sa.Index("ix_experiment_leads_arm", experiment_leads.c.experiment, experiment_leads.c.arm)
experiment_decisions = sa.Table(
    "experiment_decisions",
    metadata,
    sa.Column("experiment", sa.String(100), primary_key=True),
    sa.Column("winner", sa.String(60), nullable=False),
    sa.Column("decided_at", When, nullable=False),
    sa.Column("decided_by", Id, sa.ForeignKey("users.id")),
    sa.Column("note", sa.String(500)),
)
# Reps' obligations over time (leadpool.obligations): each finished period judged once per rep —
# a day's quota, a week's minimum, a day's acceptance share — so a miss is named exactly once and
# the next run skips what is settled.
obligation_results = sa.Table(
    "obligation_results",
    metadata,
    sa.Column("rep_id", Id, sa.ForeignKey("users.id"), primary_key=True),
    sa.Column("obligation", sa.String(30), primary_key=True),
    sa.Column("period", sa.Date, primary_key=True),  # the day, or the week's Monday, in the rep's zone
    sa.Column("met", sa.Boolean, nullable=False),
    sa.Column("current", sa.Float, nullable=False),
    sa.Column("target", sa.Float, nullable=False),
    sa.Column("judged_at", When, nullable=False),
)
# Performance tiers that follow performance (leadpool.tiers). A review is made once per period
# (the unique period key lets two schedulers race harmlessly), shown to managers as a preview and
# applied at `applies_at`; `verdicts` keeps each rep's numbers and why, so an applied change can
# always be explained.
tier_reviews = sa.Table(
    "tier_reviews",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("period", sa.String(20), nullable=False, unique=True),  # '2026-W49', '2026-12', 'manual-…'
    sa.Column("made_at", When, nullable=False),
    sa.Column("window_start", When, nullable=False),
    sa.Column("window_end", When, nullable=False),
    sa.Column("applies_at", When, nullable=False),
    sa.Column("applied_at", When),
    # True while the review waits, NULL once applied: unique, so two processes (or two ops) can
    # never leave two reviews waiting to apply over each other.
    sa.Column("waiting", sa.Boolean, unique=True),
    sa.Column("made_by", Id, sa.ForeignKey("users.id")),  # None: the scheduler
    sa.Column("verdicts", Json, nullable=False),
    sa.Column("outcome", Json),  # once applied: who changed tier, and who kept theirs and why
)
# A rep's tier as reviews and pins have set it, over the org file's `tier:` (which is where they
# start). Kept beside users.tier, which the hot paths read, so the org file applied again does not
# undo a review.
rep_tiers = sa.Table(
    "rep_tiers",
    metadata,
    sa.Column("user_id", Id, sa.ForeignKey("users.id"), primary_key=True),
    sa.Column("tier", sa.String(50), nullable=False),
    sa.Column("changed_at", When, nullable=False),
    sa.Column("review_id", Id, sa.ForeignKey("tier_reviews.id")),  # None: set by a pin
    sa.Column("pinned", sa.Boolean, nullable=False, default=False),
    sa.Column("pinned_by", Id, sa.ForeignKey("users.id")),
    sa.Column("note", sa.String(500)),
)
# Monthly revenue quotas imported from a file (`leadpool tiers quotas`), over users[].quota.
rep_quotas = sa.Table(
    "rep_quotas",
    metadata,
    sa.Column("user_id", Id, sa.ForeignKey("users.id"), primary_key=True),
    sa.Column("monthly", sa.Numeric(14, 2), nullable=False),
    sa.Column("imported_at", When, nullable=False),
)
