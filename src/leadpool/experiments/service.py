"""Experiments over the database: what each arm's leads did, compared arm against control with
intervals that stay valid however often someone looks, and the decision that ends a split."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from leadpool.clock import as_utc
from leadpool.errors import Conflict, InvalidInput, NotFound, Problem
from leadpool.events.model import EventType
from leadpool.events.service import append
from leadpool.experiments import stats
from leadpool.health.gates import day_of
from leadpool.identity.access import Person
from leadpool.metrics.buckets import SLA_KEPT, SLA_NONE
from leadpool.metrics.conversion import sla_result
from leadpool.org.service import CurrentOrg, current
from leadpool.orgfile.schema import Arm, Experiment, ExperimentMetric
from leadpool.push.fairness import gini
from leadpool.rules.split import arm_named, running
from leadpool.storage.db import Database
from leadpool.storage.tables import experiment_decisions, experiment_leads, leads, users

ALPHA = 0.05


@dataclass(frozen=True)
class ArmFigures:
    """One arm's leads and what became of them (shares as fractions, times in minutes)."""

    arm: str
    share: float
    pool: str
    push: str  # how its leads are distributed, in words
    leads: int
    contacted: int
    first_contact_minutes_p50: float | None
    sla_due: int  # leads whose first-response SLA has come due or been met
    sla_kept: float | None
    opportunity: float | None
    won: float | None
    revenue: float
    revenue_per_lead: float | None
    reps: int
    gini: float | None  # of leads per rep among the arm's holders: 0 even, towards 1 one rep


@dataclass(frozen=True)
class Observed:
    """One split lead as the report reads it (instants in UTC whatever the database returns)."""

    created_at: datetime
    first_contact_at: datetime | None
    sla: int  # metrics.buckets.SLA_KEPT, SLA_MISSED or SLA_NONE (none, or not due yet)
    outcome: str | None
    amount: Decimal | None
    owner_id: int | None

    @classmethod
    def of(cls, row: Any) -> Observed:
        def utc(value: datetime | None) -> datetime | None:
            return as_utc(value) if value is not None else None

        return cls(
            as_utc(row.created_at),
            utc(row.first_contact_at),
            int(row.sla),
            row.outcome,
            row.amount,
            row.owner_id,
        )


@dataclass(frozen=True)
class Decision:
    winner: str
    at: datetime
    by: str | None
    note: str | None


@dataclass
class Report:
    name: str
    rule: str
    metric: str
    detect: float
    start: str
    end: str | None
    status: str  # scheduled | running | ended | decided
    days: float
    decision: Decision | None
    arms: list[ArmFigures]
    # By metric: each arm against the first (the control).
    comparisons: dict[str, list[stats.Comparison]] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        """The decisive metric's comparisons in plain words, one per arm after the control."""
        return "; ".join(c.message for c in self.comparisons.get(self.metric, [])) or "no arms to compare"


def experiment(org: CurrentOrg, name: str) -> Experiment:
    found = next((e for e in org.loaded.org.experiments if e.name == name), None)
    if found is None:
        known = ", ".join(e.name for e in org.loaded.org.experiments) or "none"
        raise NotFound(f"no experiment named '{name}'", hint=f"experiments in the org file: {known}")
    return found


def report(db: Database, name: str) -> Report:
    org = current(db)
    exp = experiment(org, name)
    now = db.clock.now()
    with db.engine.connect() as conn:
        decided = _decision(conn, name)
        rows = conn.execute(
            sa.select(
                experiment_leads.c.arm,
                leads.c.created_at,
                leads.c.first_contact_at,
                sla_result(db, org, now).label("sla"),
                leads.c.outcome,
                leads.c.amount,
                leads.c.owner_id,
            )
            .select_from(experiment_leads.join(leads, leads.c.id == experiment_leads.c.lead_id))
            .where(experiment_leads.c.experiment == name)
        ).all()
    by_arm: dict[str, list[Observed]] = {a.name: [] for a in exp.arms}
    for row in rows:
        by_arm.setdefault(row.arm, []).append(Observed.of(row))
    rule_pool = next((r.pool for r in org.loaded.org.rules if r.name == exp.rule), "")
    figures = [_figures(arm, by_arm.get(arm.name, []), rule_pool) for arm in exp.arms]
    days = _days(org, exp, decided, now)
    out = Report(
        exp.name,
        exp.rule,
        exp.metric.value,
        exp.detect,
        exp.start.isoformat(),
        exp.end.isoformat() if exp.end else None,
        _status(org, exp, decided, now),
        round(days, 2),
        decided,
        figures,
    )
    samples = {a.name: _samples(by_arm.get(a.name, [])) for a in exp.arms}
    for metric, spec in _specs(exp, samples[exp.arms[0].name]).items():
        arms = [(a.name, samples[a.name][metric]) for a in exp.arms]
        out.comparisons[metric] = stats.compare(arms, spec, alpha=ALPHA, days_so_far=max(days, 1 / 24))
    return out


def decide(db: Database, name: str, winner: str, actor: Person | None, note: str | None = None) -> Decision:
    """End the split: from now on every lead of the segment goes to `winner` (in every process
    within seconds: the org is re-read with its decisions). The report keeps the split's leads."""
    org = current(db)
    exp = experiment(org, name)
    if arm_named(exp, winner) is None:
        arms = ", ".join(a.name for a in exp.arms)
        raise InvalidInput([Problem("winner", f"'{winner}' is not an arm of '{name}' (arms: {arms})")])
    now = db.clock.now()
    try:
        with db.transaction() as conn:
            earlier = _decision(conn, name)
            if earlier is None:
                _record(conn, exp, winner, actor, note, now)
    except IntegrityError:  # another request decided it between this one's read and its insert
        with db.engine.connect() as conn:
            earlier = _decision(conn, name)
    if earlier is not None:
        raise Conflict(
            f"experiment '{name}' was decided for '{earlier.winner}' at {earlier.at:%Y-%m-%d %H:%M}",
            hint="a decision stands; start a new experiment (a new name) to test again",
        )
    db.org_cache = None  # this process routes by the decision at once; others within seconds
    return Decision(winner, now, actor.email if actor else None, note)


def _record(
    conn: sa.Connection, exp: Experiment, winner: str, actor: Person | None, note: str | None, now: datetime
) -> None:
    """The decision and its event; the experiment's key refuses a second decision."""
    actor_id = actor.id if actor else None
    conn.execute(
        sa.insert(experiment_decisions).values(
            experiment=exp.name, winner=winner, decided_at=now, decided_by=actor_id, note=note
        )
    )
    append(
        conn,
        EventType.experiment_decided,
        now,
        reason=f"experiment '{exp.name}': every lead of rule '{exp.rule}' now goes to arm '{winner}'",
        details={"experiment": exp.name, "rule": exp.rule, "winner": winner, "note": note},
        actor_id=actor_id,
    )


def listing(db: Database) -> list[dict[str, Any]]:
    """Every experiment in the org file, with its state and how many leads each arm has."""
    org = current(db)
    now = db.clock.now()
    with db.engine.connect() as conn:
        counts = {
            (e, a): n
            for e, a, n in conn.execute(
                sa.select(experiment_leads.c.experiment, experiment_leads.c.arm, sa.func.count()).group_by(
                    experiment_leads.c.experiment, experiment_leads.c.arm
                )
            )
        }
        decisions = {e.name: _decision(conn, e.name) for e in org.loaded.org.experiments}
    return [
        {
            "name": e.name,
            "rule": e.rule,
            "status": _status(org, e, decisions[e.name], now),
            "start": e.start.isoformat(),
            "end": e.end.isoformat() if e.end else None,
            "metric": e.metric.value,
            "winner": _winner(e, decisions[e.name]),
            "arms": [
                {"name": a.name, "share": a.share, "leads": counts.get((e.name, a.name), 0)} for a in e.arms
            ],
        }
        for e in org.loaded.org.experiments
    ]


def _winner(exp: Experiment, decided: Decision | None) -> str | None:
    return decided.winner if decided is not None else exp.winner


def _decision(conn: sa.Connection, name: str) -> Decision | None:
    row = conn.execute(
        sa.select(experiment_decisions, users.c.email)
        .select_from(experiment_decisions.outerjoin(users, users.c.id == experiment_decisions.c.decided_by))
        .where(experiment_decisions.c.experiment == name)
    ).first()
    return Decision(row.winner, as_utc(row.decided_at), row.email, row.note) if row else None


def _status(org: CurrentOrg, exp: Experiment, decided: Decision | None, now: datetime) -> str:
    if decided is not None or exp.winner is not None:
        return "decided"
    day = day_of(org, now)
    if day < exp.start:
        return "scheduled"
    return "running" if running(exp, day) else "ended"


def _days(org: CurrentOrg, exp: Experiment, decided: Decision | None, now: datetime) -> float:
    """Days the split has run: from the start of its first day to now, its end, or its decision."""
    tz = ZoneInfo(org.loaded.org.timezone)
    began = datetime.combine(exp.start, datetime.min.time(), tz)
    stop = now
    if exp.end is not None:
        stop = min(stop, datetime.combine(exp.end + timedelta(days=1), datetime.min.time(), tz))
    if decided is not None:
        stop = min(stop, decided.at)
    return max(0.0, (stop - began).total_seconds() / 86400)


def _describe(arm: Arm) -> str:
    if arm.assign == "none":
        return "left in the pool to claim"
    if arm.assign is None:
        return "as the rule says"
    how = ", ".join(s.value for s in arm.assign.strategy)
    return f"pushed: {how}" + (f" ({arm.assign.share:g}%)" if arm.assign.share < 100 else "")


def _figures(arm: Arm, rows: list[Observed], rule_pool: str) -> ArmFigures:
    n = len(rows)
    minutes = [(r.first_contact_at - r.created_at).total_seconds() / 60 for r in rows if r.first_contact_at]
    due = _sla_due(rows)
    kept = sum(1 for r in due if _kept(r))
    opp = sum(1 for r in rows if r.outcome in ("opportunity", "won"))
    won = [r for r in rows if r.outcome == "won"]
    revenue = float(sum((r.amount or Decimal(0) for r in won), Decimal(0)))
    per_rep = Counter(r.owner_id for r in rows if r.owner_id is not None)
    return ArmFigures(
        arm.name,
        arm.share,
        arm.pool or rule_pool,
        _describe(arm),
        n,
        len(minutes),
        round(statistics.median(minutes), 1) if minutes else None,
        len(due),
        round(kept / len(due), 4) if due else None,
        round(opp / n, 4) if n else None,
        round(len(won) / n, 4) if n else None,
        round(revenue, 2),
        round(revenue / n, 2) if n else None,
        len(per_rep),
        round(gini(list(per_rep.values())), 3) if per_rep else None,
    )


def _sla_due(rows: list[Observed]) -> list[Observed]:
    """The leads whose first-response SLA has a result: met, or missed."""
    return [r for r in rows if r.sla != SLA_NONE]


def _kept(row: Observed) -> bool:
    return row.sla == SLA_KEPT


def _samples(rows: list[Observed]) -> dict[str, stats.Sample]:
    n = len(rows)
    due = _sla_due(rows)
    minutes = [(r.first_contact_at - r.created_at).total_seconds() / 60 for r in rows if r.first_contact_at]
    revenue = [float(r.amount or 0) if r.outcome == "won" else 0.0 for r in rows]
    return {
        ExperimentMetric.opportunity.value: stats.Sample.of_counts(
            sum(1 for r in rows if r.outcome in ("opportunity", "won")), n
        ),
        ExperimentMetric.won.value: stats.Sample.of_counts(sum(1 for r in rows if r.outcome == "won"), n),
        ExperimentMetric.sla_kept.value: stats.Sample.of_counts(sum(1 for r in due if _kept(r)), len(due)),
        ExperimentMetric.first_contact_minutes.value: stats.Sample.of(minutes),
        "revenue_per_lead": stats.Sample.of(revenue),
    }


def _specs(exp: Experiment, control: dict[str, stats.Sample]) -> dict[str, stats.MetricSpec]:
    """How each metric is judged. The experiment's own metric uses its `detect`; the others the
    differences a sales team would act on (3 points, 10 minutes, a tenth of the control's revenue)."""
    rate = exp.detect / 100 if exp.metric is not ExperimentMetric.first_contact_minutes else 0.03
    minutes = exp.detect if exp.metric is ExperimentMetric.first_contact_minutes else 10.0

    def tau(metric: ExperimentMetric, default: float) -> float:
        return rate if exp.metric is metric else default

    revenue = control["revenue_per_lead"]
    return {
        "opportunity": stats.MetricSpec(
            "opportunity", "points", tau(ExperimentMetric.opportunity, 0.03), 100,
            better_word="converts better", worse_word="converts worse",
        ),
        "won": stats.MetricSpec(
            "won", "points", tau(ExperimentMetric.won, 0.03), 100,
            better_word="wins more", worse_word="wins less",
        ),
        "sla_kept": stats.MetricSpec(
            "sla_kept", "points", tau(ExperimentMetric.sla_kept, 0.03), 100,
            better_word="keeps the SLA more often", worse_word="keeps the SLA less often",
        ),
        "first_contact_minutes": stats.MetricSpec(
            "first_contact_minutes", "min", minutes, higher_is_better=False,
            better_word="is faster to first contact", worse_word="is slower to first contact",
        ),
        "revenue_per_lead": stats.MetricSpec(
            "revenue_per_lead", "per lead", max(1.0, abs(revenue.mean) / 10), decimals=0,
            better_word="earns more", worse_word="earns less",
        ),
    }  # fmt: skip


def as_dict(found: Report) -> dict[str, Any]:
    """The report as the API gives it: figures, each comparison, and the verdict in words."""
    return {
        "name": found.name,
        "rule": found.rule,
        "metric": found.metric,
        "detect": found.detect,
        "start": found.start,
        "end": found.end,
        "status": found.status,
        "days": found.days,
        "decision": asdict(found.decision) if found.decision else None,
        "verdict": found.verdict,
        "arms": [asdict(a) for a in found.arms],
        "comparisons": {m: [asdict(c) for c in cs] for m, cs in found.comparisons.items()},
    }


def csv_rows(found: Report) -> list[dict[str, Any]]:
    """One row per arm: its figures, then against the control on the decisive metric."""
    against = {c.arm: c for c in found.comparisons.get(found.metric, [])}
    rows = []
    for arm in found.arms:
        c = against.get(arm.arm)
        rows.append(
            {
                "experiment": found.name,
                **asdict(arm),
                "metric": found.metric,
                "difference": c.interval.estimate if c and c.interval else None,
                "interval_low": c.interval.low if c and c.interval else None,
                "interval_high": c.interval.high if c and c.interval else None,
                "verdict": c.verdict if c else "control",
                "message": c.message if c else "",
            }
        )
    return rows
