"""Conversion where it is made, pure: the dimensions a cohort of leads is split by, the time buckets
(time in queue, speed to lead) and what one group's figures mean.

The SQL (metrics.conversion) counts leads per group, per whole minute to first contact, per SLA
result and per outcome; this module turns those counts into rows, so the API and the CSV agree."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, get_args

from leadpool.metrics.model import percentile, ratio

Dimension = Literal["method", "rule", "arm", "rep", "source", "queue_time", "first_contact"]
DIMENSIONS: tuple[str, ...] = get_args(Dimension)


@dataclass(frozen=True)
class Buckets:
    """Time buckets by their upper edges in whole minutes: under the first edge, between each two
    (the lower edge inside), over the last; `missing` for a lead the time never ended for."""

    edges: tuple[int, ...]
    labels: tuple[str, ...]  # one more than the edges
    missing: str

    def of(self, minutes: int | None) -> str:
        if minutes is None:
            return self.missing
        return self.labels[self.index(minutes)]

    def index(self, minutes: float) -> int:
        return next((i for i, edge in enumerate(self.edges) if minutes < edge), len(self.edges))

    @property
    def order(self) -> tuple[str, ...]:
        return (*self.labels, self.missing)


QUEUE_TIME = Buckets(
    (5, 30, 120, 480, 1440, 2880),
    ("under 5 min", "5-30 min", "30 min-2 h", "2-8 h", "8-24 h", "24-48 h", "over 48 h"),
    "never claimed",
)
FIRST_CONTACT = Buckets(
    (5, 15, 30, 60, 240, 1440),
    ("under 5 min", "5-15 min", "15-30 min", "30-60 min", "1-4 h", "4-24 h", "over 24 h"),
    "not contacted",
)
BUCKETED: Mapping[str, Buckets] = {"queue_time": QUEUE_TIME, "first_contact": FIRST_CONTACT}

# What a lead is labelled when the dimension has nothing to say about it.
NOT_WORKED, NO_RULE, NO_ROUTING, NO_EXPERIMENT, UNASSIGNED, UNKNOWN_SOURCE, OTHER_TEAMS = (
    "not yet worked",
    "fallback",
    "from review",
    "no experiment",
    "unassigned",
    "unknown",
    "other teams",
)
POOL_CLAIM, HOT_LANE = "pool claim", "hot lane offer"


def method_label(first: str | None) -> str:
    """How a lead first reached a rep, from what the SQL says of its first claim, push or offer:
    'pool claim', 'hot lane offer', or the push strategy's name."""
    if first is None:
        return NOT_WORKED
    if first in (POOL_CLAIM, HOT_LANE):
        return first
    return f"push: {first or 'unknown'}"


# SLA result of one lead: no first-response SLA applies, or not yet due; kept; missed.
SLA_NONE, SLA_KEPT, SLA_MISSED = 0, 1, 2
# Outcome class of one lead.
OPEN, OPPORTUNITY, WON = 0, 1, 2


@dataclass(frozen=True)
class ConversionRow:
    """One group of the cohort. Shares are fractions of the group's leads (sla_kept: of the leads
    whose first-response SLA has a result); None where there is nothing to divide."""

    group: str
    leads: int
    contacted: float | None  # share with a first contact
    first_contact_p50_minutes: int | None  # intake to first contact, of the contacted leads
    sla_kept: float | None  # contacted within the first-response SLA ÷ leads it was due for
    to_opportunity: float | None  # reached an opportunity or a win
    won: float | None
    revenue: float  # amount of the won leads
    revenue_per_lead: float | None
    name: str | None = None  # by rep: the rep's name and team
    team: str | None = None

    def as_dict(self, by: str) -> dict[str, Any]:
        """The row as the API and the CSV give it, its group named after the dimension."""
        out: dict[str, Any] = {by: self.group}
        if by == "rep":
            out |= {"name": self.name, "team": self.team}
        figures = ("leads", "contacted", "first_contact_p50_minutes", "sla_kept", "to_opportunity", "won")
        out |= {k: getattr(self, k) for k in figures}
        return out | {"revenue": self.revenue, "revenue_per_lead": self.revenue_per_lead}


@dataclass
class Tally:
    """What one group accumulates from the SQL's grouped counts."""

    leads: int = 0
    waits: dict[int, int] = field(default_factory=dict)  # whole minutes to first contact -> leads
    due: int = 0
    kept: int = 0
    opportunities: int = 0  # opportunity or won
    wins: int = 0
    revenue: Decimal = Decimal(0)

    def add(self, n: int, contact_minutes: int | None, sla: int, outcome: int, amount: Any) -> None:
        self.leads += n
        if contact_minutes is not None:
            self.waits[contact_minutes] = self.waits.get(contact_minutes, 0) + n
        if sla != SLA_NONE:
            self.due += n
            self.kept += n if sla == SLA_KEPT else 0
        if outcome != OPEN:
            self.opportunities += n
        if outcome == WON:
            self.wins += n
            self.revenue += Decimal(str(amount)) if amount is not None else Decimal(0)

    def merge(self, other: Tally) -> None:
        self.leads += other.leads
        for minutes, n in other.waits.items():
            self.waits[minutes] = self.waits.get(minutes, 0) + n
        self.due += other.due
        self.kept += other.kept
        self.opportunities += other.opportunities
        self.wins += other.wins
        self.revenue += other.revenue

    def row(self, group: str, name: str | None = None, team: str | None = None) -> ConversionRow:
        revenue = round(float(self.revenue), 2)
        return ConversionRow(
            group=group,
            leads=self.leads,
            contacted=ratio(sum(self.waits.values()), self.leads),
            first_contact_p50_minutes=percentile(self.waits, 50),
            sla_kept=ratio(self.kept, self.due),
            to_opportunity=ratio(self.opportunities, self.leads),
            won=ratio(self.wins, self.leads),
            revenue=revenue,
            revenue_per_lead=round(revenue / self.leads, 2) if self.leads else None,
            name=name,
            team=team,
        )


def ranked(tallies: Mapping[str, Tally]) -> list[tuple[str, Tally]]:
    """Groups by leads, most first (then by name)."""
    return sorted(tallies.items(), key=lambda t: (-t[1].leads, t[0]))


def in_bucket_order(buckets: Buckets, tallies: Mapping[str, Tally]) -> list[tuple[str, Tally]]:
    """Every bucket in its order, the empty ones too, so a curve keeps its axis."""
    return [(label, tallies.get(label, Tally())) for label in buckets.order]
