"""Conversion where it is made: a cohort of leads split by how it was distributed, the routing rule,
the experiment arm, the rep, the source, the time it waited in the queue and how fast it was first
contacted (the speed-to-lead curve from the org's own data).

The base is every lead taken in over [start, end) (by leads.created_at) that entered a pool: it
has a pool arrival time or a routing event. Duplicates and other leads that only ever sat in the
review queue are left out. Each lead counts once, in one group, with what has become of it by now.

One query: a row per lead (its group and the few times that decide it, the first claim, push or
offer read from the events by index on the lead) folded by the database into counts per group,
whole minute to first contact, SLA result and outcome; metrics.buckets turns those into rows."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadpool.events.model import EventType
from leadpool.metrics import buckets as b
from leadpool.metrics.buckets import ConversionRow, Dimension, Tally
from leadpool.metrics.reading import _check_range, _reading, _seconds, _whole
from leadpool.org.service import CurrentOrg, current
from leadpool.storage.db import Database
from leadpool.storage.tables import events, experiment_leads, leads, teams, users

E = EventType
FIRST_TAKEN = (E.claimed.value, E.assigned.value)  # the lead's first holder: claimed or pushed
REACHED = (*FIRST_TAKEN, E.offered.value)  # … or first offered in the hot lane


def conversion(
    db: Database,
    start: datetime,
    end: datetime,
    by: Dimension,
    *,
    fold_except: str | None = None,
    fold: bool = False,
) -> list[ConversionRow]:
    """The cohort's conversion per group of `by`: time buckets in their order (every bucket, the
    empty ones too), other groups by leads, most first. By rep with `fold`, leads held by anyone
    outside team `fold_except` come as one summed row, 'other teams', last (a manager's view)."""
    found, people = tallies(db, start, end, by)
    return _rows(by, found, people, fold_except if fold else None, fold)


People = dict[int, tuple[str, str, str | None]]  # user id -> email, name, team


def tallies(
    db: Database, start: datetime, end: datetime, by: Dimension
) -> tuple[dict[tuple[Any, ...], Tally], People]:
    """The cohort's tallies per group key of `by` before they become rows (by first_contact the key
    is the whole minute), and by rep everyone who may hold a lead: for a caller that folds them its
    own way (metrics.executive sums them into teams and the whole cohort)."""
    _check_range(start, end)
    org = current(db)
    now = db.clock.now()
    d = db.reports
    keys, joined = _keys(by)
    sla = sla_result(db, org, now)
    klass = sa.case(
        (leads.c.outcome == "won", b.WON), (leads.c.outcome == "opportunity", b.OPPORTUNITY), else_=b.OPEN
    )
    routed = sa.exists().where(events.c.lead_id == leads.c.id, events.c.type == E.routed.value)
    per_lead = (
        sa.select(
            *keys,
            leads.c.created_at,
            leads.c.first_contact_at,
            sla.label("sla"),
            klass.label("klass"),
            leads.c.amount,
        )
        .select_from(joined)
        .where(
            leads.c.created_at >= start,
            leads.c.created_at < end,
            leads.c.entered_pool_at.is_not(None) | routed,
        )
        .subquery("cohort")
    )
    c = per_lead.c
    delay = _seconds(c.first_contact_at, c.created_at, d)
    contact = sa.case(
        (c.first_contact_at.is_(None), None), (delay < 0, 0), else_=_whole(delay / 60, d)
    ).label("contact")
    group = [_bucket_of(c, d)] if by == "queue_time" else [c[k.name] for k in keys]
    query = sa.select(*group, contact, c.sla, c.klass, sa.func.count(), sa.func.sum(c.amount)).group_by(
        *group, contact, c.sla, c.klass
    )
    found: dict[tuple[Any, ...], Tally] = defaultdict(Tally)
    with _reading(db) as conn:
        for *key, mins, sla_, klass_, n, amount in conn.execute(query):
            mins = None if mins is None else int(mins)
            group_of = (mins,) if by == "first_contact" else tuple(key)  # the minute is the group
            found[group_of].add(int(n), mins, int(sla_), int(klass_), amount)
        people = _people(conn) if by == "rep" else {}
    return found, people


def sla_result(db: Database, org: CurrentOrg, now: datetime) -> Any:
    """Per lead, its first-response SLA as of `now`: buckets.SLA_MISSED, SLA_KEPT, or SLA_NONE (its
    source has none, or it is not contacted and not yet due). Contact clears the deadline a lead
    carries, so this is the one place that works out what happened to it."""
    return sa.case(
        (_missed(db, org, now), b.SLA_MISSED),
        (leads.c.first_contact_at.is_not(None) & _watched(org), b.SLA_KEPT),
        else_=b.SLA_NONE,
    )


def _watched(org: CurrentOrg) -> Any:
    """Whether the lead's source has a first-response SLA."""
    minutes = [k for k, v in org.loaded.org.slas.first_response_minutes.items() if v]
    return leads.c.source.in_(minutes) if minutes else sa.false()


def _missed(db: Database, org: CurrentOrg, now: datetime) -> Any:
    """The lead's first-response SLA was missed: the SLA job said so; or nobody has contacted it and
    its deadline has passed. Contact clears the deadline the lead carried, so in calendar time a
    late first contact is also measured here, in case it came before the job noticed; in working
    time the job's word (within its minute) is what there is."""
    said = sa.exists().where(events.c.lead_id == leads.c.id, events.c.type == E.first_response_missed.value)
    missed = said | (leads.c.first_contact_at.is_(None) & (leads.c.first_response_due_at <= now))
    o = org.loaded.org
    limits = {k: v * 60 for k, v in o.slas.first_response_minutes.items() if v}
    if limits and (not o.slas.first_response_working_time or o.push.working_hours is None):
        delay = _seconds(leads.c.first_contact_at, leads.c.created_at, db.reports)
        missed = missed | (delay > sa.case(limits, value=leads.c.source, else_=None))
    return missed


def _keys(by: Dimension) -> tuple[list[Any], Any]:
    """The per-lead columns that name the lead's group, and what they are read from."""
    if by == "method":
        kind = sa.case(
            (events.c.type == E.claimed.value, sa.literal(b.POOL_CLAIM)),
            (events.c.type == E.offered.value, sa.literal(b.HOT_LANE)),
            (events.c.details["how"].as_string() == "offer accepted", sa.literal(b.HOT_LANE)),
            else_=sa.func.coalesce(events.c.details["strategy"].as_string(), ""),
        )
        first = _first(kind, REACHED, events.c.at, events.c.id)
        return [first.label("k")], leads
    if by == "rule":
        rule = sa.func.coalesce(events.c.details["rule"].as_string(), "")
        return [_first(rule, (E.routed.value,), events.c.id).label("k")], leads
    if by == "arm":
        joined = leads.outerjoin(experiment_leads, experiment_leads.c.lead_id == leads.c.id)
        return [experiment_leads.c.experiment.label("k"), experiment_leads.c.arm.label("k2")], joined
    if by == "rep":
        return [leads.c.owner_id.label("k")], leads
    if by == "source":
        return [leads.c.source.label("k")], leads
    if by == "first_contact":
        return [], leads
    # queue_time: from the lead's first arrival in a pool to its first claim or push
    arrived = _first(events.c.at, (E.routed.value, E.reviewed.value), events.c.at, pooled=True)
    entered = sa.func.coalesce(arrived, leads.c.entered_pool_at, leads.c.created_at)
    taken = _first(events.c.at, FIRST_TAKEN, events.c.at)
    return [entered.label("entered"), taken.label("taken")], leads


def _first(column: Any, types: tuple[str, ...], *order: Any, pooled: bool = False) -> Any:
    """`column` of the lead's first event of `types` (by `order`), read through the lead's index."""
    query = sa.select(column).where(events.c.lead_id == leads.c.id, events.c.type.in_(types))
    if pooled:
        query = query.where(events.c.pool_id.is_not(None))
    return query.order_by(*order).limit(1).scalar_subquery()


def _bucket_of(c: Any, d: Any) -> Any:
    """The queue-time bucket's index (-1: never claimed) from the cohort's arrival and first take."""
    wait = _seconds(c.taken, c.entered, d)
    edges = [(wait < edge * 60, i) for i, edge in enumerate(b.QUEUE_TIME.edges)]
    return sa.case((c.taken.is_(None), -1), *edges, else_=len(b.QUEUE_TIME.edges)).label("bucket")


def _people(conn: Connection) -> dict[int, tuple[str, str, str | None]]:
    """Everyone who may hold a lead, by id: email, name and team."""
    query = sa.select(users.c.id, users.c.email, users.c.name, teams.c.name).select_from(
        users.outerjoin(teams, teams.c.id == users.c.team_id)
    )
    return {int(i): (email, name, team) for i, email, name, team in conn.execute(query)}


def _rows(
    by: Dimension,
    tallies: dict[tuple[Any, ...], Tally],
    people: dict[int, tuple[str, str, str | None]],
    own_team: str | None,
    fold: bool,
) -> list[ConversionRow]:
    """The grouped tallies as rows, labelled and ordered for `by`."""
    if by == "rep":
        return _rep_rows(tallies, people, own_team, fold)
    named: dict[str, Tally] = defaultdict(Tally)
    for key, tally in tallies.items():
        named[_label(by, key)].merge(tally)
    if by in b.BUCKETED:
        return [t.row(label) for label, t in b.in_bucket_order(b.BUCKETED[by], named)]
    return [t.row(label) for label, t in b.ranked(named)]


def _label(by: Dimension, key: tuple[Any, ...]) -> str:
    if by == "method":
        return b.method_label(key[0])
    if by == "rule":
        return b.NO_ROUTING if key[0] is None else key[0] or b.NO_RULE
    if by == "arm":
        return b.NO_EXPERIMENT if key[0] is None else f"{key[0]}/{key[1]}"
    if by == "source":
        return key[0] or b.UNKNOWN_SOURCE
    if by == "queue_time":
        index = int(key[0])
        return b.QUEUE_TIME.missing if index < 0 else b.QUEUE_TIME.labels[index]
    return b.FIRST_CONTACT.of(key[0])  # first_contact: the key is the whole minute


def _rep_rows(
    tallies: dict[tuple[Any, ...], Tally],
    people: dict[int, tuple[str, str, str | None]],
    own_team: str | None,
    fold: bool,
) -> list[ConversionRow]:
    """One row per holder (by email), 'unassigned' for leads nobody holds; folded, every holder
    outside `own_team` summed into 'other teams', last."""
    named: dict[str, Tally] = defaultdict(Tally)
    who: dict[str, tuple[str | None, str | None]] = {b.UNASSIGNED: (None, None)}
    others = Tally()
    for (owner,), tally in tallies.items():
        if owner is None:
            named[b.UNASSIGNED].merge(tally)
            continue
        email, name, team = people.get(int(owner), (f"user {owner}", f"user {owner}", None))
        if fold and (own_team is None or team != own_team):
            others.merge(tally)
            continue
        named[email].merge(tally)
        who[email] = (name, team)
    out = [t.row(label, *who[label]) for label, t in b.ranked(named)]
    if fold and others.leads:
        out.append(others.row(b.OTHER_TEAMS))
    return out
