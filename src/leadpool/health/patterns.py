"""Queue targets and recurring bottlenecks, pure: given a pool's finished days (what came in and
what was claimed, hour by hour, in the org's time zone) name the backlogs that come back — one
weekday, one hour of the morning, the end of the month — each with what to do about it; and judge a
pool's queue figures against its targets. No SQL here: health.bottlenecks reads the series.

Every threshold is a constant below with the reason for its value; docs/bottlenecks.md says the
same to the people who read the report."""

from __future__ import annotations

import calendar
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from statistics import mean, median
from typing import Any

from leadpool.orgfile.schema import QueueTargets

# -- thresholds -----------------------------------------------------------------------------------

# Weekdays and hours are judged on the last four weeks: long enough for every weekday to come back
# four times, short enough that a pattern the team has since fixed drops out within a month.
PATTERN_DAYS = 28
# Month-ends need months: three of them are read, so two or three month-ends are always complete.
MONTH_END_DAYS = 92
# A pattern is named only after it was seen this many times (three Mondays, three mornings, and for
# month-end two months): once or twice is a bad week, not a habit.
MIN_OCCURRENCES = 3
MONTH_END_MIN_MONTHS = 2
# ... and on this share of the chances it had: "consistently" means three Mondays in four, not
# three in twelve.
CONSISTENT_SHARE = 0.75
# A day builds a backlog when more leads come in than are claimed by at least this many leads, and
# by at least half the pool's typical day: five leads is noise in a pool taking a hundred a day,
# and half a day's inflow left over is what a team feels the next morning.
BACKLOG_MIN_LEADS = 5
BACKLOG_SHARE_OF_DAY = 0.5
# An hour spikes when its arrivals are at least 2.5 times those of the pool's average other working
# hour: a busy hour is 1.5x, a hour that needs its own staffing plan is well past 2x.
SPIKE_RATIO = 2.5
# ... and brings at least this many leads: three leads at nine against one an hour is a ratio of
# three, and nothing anyone needs to staff for.
SPIKE_MIN_LEADS = 3
# The hours a pool works are those with arrivals on at least a quarter of its days: a lead at 3 am
# once a week does not make 3 am a working hour that drags the average hour down.
WORKING_HOUR_SHARE = 0.25
# Claims lag in the spike hour when they cover less than three quarters of its arrivals: the rest
# wait into the day, and that is the backlog the hour builds.
SPIKE_CLAIMED_SHARE = 0.75
# ... on at least half the days with arrivals: a morning spike on weekdays only is still a pattern.
SPIKE_DAY_SHARE = 0.5
# Month-end: its last three working days (Monday to Friday) against the rest of the month.
MONTH_END_WORKING_DAYS = 3
WORKING_WEEKDAYS = frozenset(range(5))
# Time to claim is markedly worse at 1.5 times the rest of the month and at least an hour longer:
# half as long again is what reps and leads notice, and 6 minutes against 4 is neither.
MONTH_END_WAIT_RATIO = 1.5
MONTH_END_MIN_EXTRA_HOURS = 1.0
# A month's "rest" needs this many working days in the history to compare against.
MONTH_END_MIN_REST_DAYS = 5

DAY_NAMES = tuple(calendar.day_name)  # Monday .. Sunday


# -- the series -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DayFlow:
    """One finished day of a pool in the org's time zone: leads that entered it and claims made,
    per local hour (0-23; on the day clocks go back the repeated hour counts twice), and the mean
    time to claim, in hours, of the day's claims (None without claims)."""

    day: date
    added: tuple[int, ...] = (0,) * 24
    claimed: tuple[int, ...] = (0,) * 24
    wait_hours: float | None = None

    @property
    def additions(self) -> int:
        return sum(self.added)

    @property
    def claims(self) -> int:
        return sum(self.claimed)

    @property
    def net(self) -> int:
        """What the day added to the backlog: leads in minus leads claimed."""
        return self.additions - self.claims


def day_flow(
    day: date,
    added: dict[int, int] | None = None,
    claimed: dict[int, int] | None = None,
    wait_hours: float | None = None,
) -> DayFlow:
    """A DayFlow from {hour: count} (hours not named: none)."""
    a, c = added or {}, claimed or {}
    return DayFlow(
        day, tuple(a.get(h, 0) for h in range(24)), tuple(c.get(h, 0) for h in range(24)), wait_hours
    )


@dataclass(frozen=True)
class Finding:
    """One recurring bottleneck: its kind, a plain sentence with the numbers, what to do."""

    kind: str  # weekday_backlog | morning_spike | month_end
    what: str
    suggestion: str
    figures: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "what": self.what, "suggestion": self.suggestion, "figures": self.figures}


def _number(n: float) -> str:
    return f"{n:g}" if float(n).is_integer() else f"{n:.1f}"


def _more(n: float) -> str:
    """'6 more leads', '1 more lead'."""
    return f"{_number(n)} more {'lead' if n == 1 else 'leads'}"


def _floor(days: Sequence[DayFlow]) -> float:
    """How much a day must add to the backlog to count: BACKLOG_MIN_LEADS, or half a typical day."""
    typical = median(d.additions for d in days) if days else 0
    return max(BACKLOG_MIN_LEADS, BACKLOG_SHARE_OF_DAY * typical)


def _enough(hits: int, chances: int, least: int = MIN_OCCURRENCES, share: float = CONSISTENT_SHARE) -> bool:
    return chances >= least and hits >= least and hits >= math.ceil(share * chances)


def detect(days: Sequence[DayFlow]) -> list[Finding]:
    """Every recurring bottleneck in a pool's finished days (oldest first, one per day): weekday
    backlogs and morning spikes over the last PATTERN_DAYS, month-ends over all of them."""
    ordered = sorted(days, key=lambda d: d.day)
    recent = ordered[-PATTERN_DAYS:]
    return [*weekday_backlog(recent), *morning_spike(recent), *month_end(ordered)]


# -- a weekday's backlog --------------------------------------------------------------------------


def weekday_backlog(days: Sequence[DayFlow]) -> list[Finding]:
    """A weekday that, week after week, adds to the backlog well beyond the other days of its
    week: in at least CONSISTENT_SHARE of its weeks (and MIN_OCCURRENCES of them) that day took in
    at least the floor more leads than were claimed, and the floor more than the median day of its
    week. Weeks are the 7-day blocks counted back from the newest day, so each holds every weekday
    once; a block with fewer than 5 days (the oldest) is left out."""
    ordered = sorted(days, key=lambda d: d.day)
    if not ordered:
        return []
    floor = _floor(ordered)
    newest = ordered[-1].day
    weeks: dict[int, list[DayFlow]] = {}
    for d in ordered:
        weeks.setdefault((newest - d.day).days // 7, []).append(d)
    hits: dict[int, list[tuple[int, float]]] = {w: [] for w in range(7)}
    chances = dict.fromkeys(range(7), 0)
    for week in weeks.values():
        if len(week) < 5:
            continue
        for d in week:
            others = median(o.net for o in week if o is not d)
            chances[d.day.weekday()] += 1
            if d.net >= floor and d.net - others >= floor:
                hits[d.day.weekday()].append((d.net, others))
    out = []
    for weekday in range(7):
        seen = hits[weekday]
        if not _enough(len(seen), chances[weekday]):
            continue
        name = DAY_NAMES[weekday]
        net, others = median(n for n, _ in seen), median(o for _, o in seen)
        what = (
            f"{name}s build a backlog: {_more(net)} came in than were claimed (median; on"
            f" {len(seen)} of the last {chances[weekday]} {name}s), against {_number(others)} on the"
            " other days of those weeks."
        )
        if weekday >= 5:
            suggestion = (
                f"Leads wait over the weekend: put reps on weekend on-call (claim_hours.weekends: on_call)"
                f" for {name}s, or push the {name} arrivals first thing Monday morning."
            )
        else:
            suggestion = (
                f"Plan for {name}s: a release window or a push on {name} mornings, or more reps"
                f" claiming on {name}s"
                + (
                    " (if it is the weekend's inflow landing on Monday, weekend on-call helps too)."
                    if weekday == 0
                    else "."
                )
            )
        figures = {
            "weekday": name.lower()[:3],
            "net_median": net,
            "others_median": others,
            "seen": len(seen),
            "of": chances[weekday],
        }
        out.append(Finding("weekday_backlog", what, suggestion, figures))
    return out


# -- an hour's spike ------------------------------------------------------------------------------


def morning_spike(days: Sequence[DayFlow]) -> list[Finding]:
    """An hour of the day whose arrivals are SPIKE_RATIO times the average other working hour,
    while the claims made in it cover less than SPIKE_CLAIMED_SHARE of them; the spike must show on
    at least MIN_OCCURRENCES days and SPIKE_DAY_SHARE of the days with arrivals. (Named for the
    usual 09:00, it finds any hour.)"""
    active = [d for d in days if d.additions > 0]
    if len(active) < MIN_OCCURRENCES:
        return []
    present = [sum(1 for d in active if d.added[h] > 0) for h in range(24)]
    working = [h for h in range(24) if present[h] >= WORKING_HOUR_SHARE * len(active)]
    if len(working) < 2:
        return []  # one hour of arrivals: nothing to compare it with
    per_hour = {h: mean(d.added[h] for d in active) for h in range(24)}
    claimed = {h: mean(d.claimed[h] for d in active) for h in range(24)}
    out = []
    for h in working:
        rest = [w for w in working if w != h]
        usual = mean(per_hour[w] for w in rest)
        arrivals = per_hour[h]
        if arrivals < SPIKE_RATIO * usual or arrivals < SPIKE_MIN_LEADS:
            continue
        if claimed[h] >= SPIKE_CLAIMED_SHARE * arrivals:
            continue  # the hour is busy, and its claims keep up
        spiked = sum(
            1
            for d in active
            if d.added[h] >= SPIKE_MIN_LEADS and d.added[h] >= SPIKE_RATIO * mean(d.added[w] for w in rest)
        )
        if not _enough(spiked, len(active), share=SPIKE_DAY_SHARE):
            continue
        hour = f"{h:02d}:00"
        what = (
            f"{hour}-{(h + 1) % 24:02d}:00 brings {arrivals:.1f} new leads a day, {arrivals / usual:.1f}x"
            f" the average working hour ({usual:.1f}), and only {claimed[h]:.1f} a day are claimed in"
            f" that hour (a spike on {spiked} of {len(active)} days with arrivals)."
        )
        suggestion = (
            f"Staff {hour}: more reps claiming in that hour, a push for the leads arriving then, or"
            f" overflow so the {hour} surge goes to auto-assign or a wider audience."
        )
        figures = {
            "hour": h,
            "arrivals_per_day": round(arrivals, 2),
            "average_hour": round(usual, 2),
            "ratio": round(arrivals / usual, 2) if usual else None,
            "claimed_per_day": round(claimed[h], 2),
            "seen": spiked,
            "of": len(active),
        }
        out.append(Finding("morning_spike", what, suggestion, figures))
    return out


# -- month-end ------------------------------------------------------------------------------------


def last_working_days(year: int, month: int, count: int = MONTH_END_WORKING_DAYS) -> list[date]:
    """The month's last `count` working days (Monday to Friday), oldest first."""
    day = date(year, month, calendar.monthrange(year, month)[1])
    out: list[date] = []
    while len(out) < count:
        if day.weekday() in WORKING_WEEKDAYS:
            out.append(day)
        day -= timedelta(days=1)
    return out[::-1]


def month_end(days: Sequence[DayFlow]) -> list[Finding]:
    """The last MONTH_END_WORKING_DAYS working days of the month worse than the rest of it: the
    median of those days adds the backlog floor more than the median other working day does, or
    their time to claim is MONTH_END_WAIT_RATIO times the rest's and MONTH_END_MIN_EXTRA_HOURS
    longer. Judged on the months whose end and at least MONTH_END_MIN_REST_DAYS other working days
    are in the history; named when at least MONTH_END_MIN_MONTHS of them (and two in three) show it."""
    by_day = {d.day: d for d in days}
    if not by_day:
        return []
    floor = _floor(list(by_day.values()))
    months = sorted({(d.year, d.month) for d in by_day})
    judged, worse = 0, []
    for year, month in months:
        ends = last_working_days(year, month)
        if any(e not in by_day for e in ends):
            continue
        rest = [
            d
            for day, d in by_day.items()
            if (day.year, day.month) == (year, month)
            and day.weekday() in WORKING_WEEKDAYS
            and day not in ends
        ]
        if len(rest) < MONTH_END_MIN_REST_DAYS:
            continue
        judged += 1
        end_net, rest_net = median(by_day[e].net for e in ends), median(d.net for d in rest)
        end_waits = [w for e in ends if (w := by_day[e].wait_hours) is not None]
        rest_waits = [w for d in rest if (w := d.wait_hours) is not None]
        end_wait = median(end_waits) if end_waits else None
        rest_wait = median(rest_waits) if rest_waits else None
        deeper = end_net >= floor and end_net - rest_net >= floor
        slower = (
            end_wait is not None
            and rest_wait is not None
            and end_wait >= MONTH_END_WAIT_RATIO * rest_wait
            and end_wait - rest_wait >= MONTH_END_MIN_EXTRA_HOURS
        )
        if deeper or slower:
            worse.append((date(year, month, 1), end_net, rest_net, end_wait, rest_wait))
    if not _enough(len(worse), judged, least=MONTH_END_MIN_MONTHS, share=2 / 3):
        return []
    end_net = median(w[1] for w in worse)
    rest_net = median(w[2] for w in worse)
    end_waits = [w[3] for w in worse if w[3] is not None]
    rest_waits = [w[4] for w in worse if w[4] is not None]
    parts = [
        f"{_more(end_net)} a day came in than were claimed (median), against {_number(rest_net)}"
        " on the month's other working days"
    ]
    if end_waits and rest_waits:
        parts.append(f"time to claim {median(end_waits):.1f} h against {median(rest_waits):.1f} h")
    months_named = ", ".join(m[0].strftime("%B %Y") for m in worse)
    what = (
        f"The last {MONTH_END_WORKING_DAYS} working days of the month fall behind: {'; '.join(parts)}"
        f" (in {len(worse)} of {judged} months: {months_named})."
    )
    suggestion = (
        "Plan extra capacity for month-end: more reps claiming in its last working days, or overflow"
        " (auto-assign, a wider audience or a partner team) switched on for them."
    )
    figures = {
        "net_median": end_net,
        "rest_net_median": rest_net,
        "wait_hours": round(median(end_waits), 2) if end_waits else None,
        "rest_wait_hours": round(median(rest_waits), 2) if rest_waits else None,
        "seen": len(worse),
        "of": judged,
    }
    return [Finding("month_end", what, suggestion, figures)]


# -- queue targets --------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueFigures:
    """A pool over a range: the average age of its waiting leads (time-weighted: the mean, over
    every moment of the range, of the age of the leads waiting then; None if none waited), and of
    the leads that entered it early enough to have had the whole claim window by the range's end,
    how many there were and how many were claimed within the window."""

    average_age_hours: float | None
    entered: int
    claimed_within: int


def judge_targets(
    targets: QueueTargets, figures: QueueFigures, start: datetime, end: datetime
) -> dict[str, Any]:
    """A pool's figures against its queue targets, met or not, each with its sentence. A target
    with nothing to judge (no lead waited; no lead had the whole window) reads met: None."""
    age = figures.average_age_hours
    age_met = None if age is None else age <= targets.average_age_hours
    if age is None:
        age_words = "no lead waited in the pool"
    else:
        age_words = (
            f"waiting leads averaged {age:.1f} h,"
            f" {'within' if age_met else 'over'} the {targets.average_age_hours:g} h target"
        )
    share = 100 * figures.claimed_within / figures.entered if figures.entered else None
    share_met = None if share is None else share >= targets.claimed_share_percent
    within = targets.claimed_within_hours
    if share is None:
        share_words = f"no lead entered early enough to have had {within:g} h"
    else:
        share_words = (
            f"{share:.0f}% of leads ({figures.claimed_within} of {figures.entered}) were claimed"
            f" within {within:g} h, {'meeting' if share_met else 'short of'} the"
            f" {targets.claimed_share_percent:g}% target"
        )
    verdicts = [m for m in (age_met, share_met) if m is not None]
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "average_age": {
            "target_hours": targets.average_age_hours,
            "actual_hours": round(age, 2) if age is not None else None,
            "met": age_met,
            "what": age_words,
        },
        "claimed_within": {
            "hours": within,
            "target_percent": targets.claimed_share_percent,
            "actual_percent": round(share, 1) if share is not None else None,
            "entered": figures.entered,
            "claimed": figures.claimed_within,
            "met": share_met,
            "what": share_words,
        },
        "met": all(verdicts) if verdicts else None,
    }
