"""Cross-references in a validated org: every team, tier, pool, user and time zone a section names
must exist. Pydantic checks each section alone; these checks need the whole file."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from leadpool.errors import Problem
from leadpool.identity.model import Role
from leadpool.orgfile.connect import problems as connect_problems
from leadpool.orgfile.experiments import problems as experiment_problems
from leadpool.orgfile.fields import field_types
from leadpool.orgfile.forms import problems as form_problems
from leadpool.orgfile.obligations import problems as obligation_problems
from leadpool.orgfile.schema import FieldSpec, Org, Strategy
from leadpool.orgfile.templates import problems as template_problems
from leadpool.orgfile.tiers import problems as tier_problems


def cross_check(org: Org) -> list[Problem]:
    """References between sections: teams, tiers, pools and users named must exist."""
    problems: list[Problem] = []
    teams = {t.name for t in org.teams}
    tiers = set(org.tiers)
    pools = [p.name for p in org.pools]
    emails = [u.email.lower() for u in org.users]
    types = field_types(org.fields)
    for kind, names in (("team", [t.name for t in org.teams]), ("pool", pools), ("user", emails)):
        seen: set[str] = set()
        for i, name in enumerate(names):
            if name in seen:
                section = {"team": "teams", "pool": "pools", "user": "users"}[kind]
                key = "email" if kind == "user" else "name"
                problems.append(Problem(f"{section}[{i}].{key}", f"duplicate {kind} '{name}'"))
            seen.add(name)
    problems += [Problem(where, what) for where, what in template_problems(org.templates, types)]
    known = (set(pools), set(emails))
    problems += [Problem(w, m) for w, m in connect_problems(org.subscriptions, org.crm, *known)]
    problems += [Problem(where, what) for where, what in form_problems(org.forms, types)]
    problems += [Problem(where, what) for where, what in experiment_problems(org)]
    problems += [Problem(where, what) for where, what in obligation_problems(org)]
    problems += [Problem(where, what) for where, what in tier_problems(org)]
    builtin = field_types({})
    for name, declared in org.fields.items():
        if name not in builtin:
            continue
        kind = builtin[name].value
        if not isinstance(declared, FieldSpec) or declared.type.value != kind:
            # Listed only to give a built-in number its range: its type stays the built-in one.
            how = f"; list it only to set its range, as {{type: {kind}, min: …, max: …}}"
            ranged = kind in ("number", "integer")
            problems.append(
                Problem(
                    f"fields.{name}",
                    f"is a built-in {kind} field" + (how if ranged else "; remove it from 'fields:'"),
                )
            )
    for i, user in enumerate(org.users):
        if user.team and user.team not in teams:
            problems.append(Problem(f"users[{i}].team", f"unknown team '{user.team}'"))
        if user.tier and user.tier not in tiers:
            problems.append(
                Problem(f"users[{i}].tier", f"unknown tier '{user.tier}' (known: {sorted(tiers)})")
            )
    for i, pool in enumerate(org.pools):
        if pool.team and pool.team not in teams:
            problems.append(Problem(f"pools[{i}].team", f"unknown team '{pool.team}'"))
        for tier in pool.tier_limits:
            if tier not in tiers:
                problems.append(Problem(f"pools[{i}].tier_limits.{tier}", f"unknown tier '{tier}'"))
        ratios = [("limits", pool.limits)] + [
            (f"tier_limits.{t}", lim) for t, lim in pool.tier_limits.items()
        ]
        for where, limits in ratios:
            if limits.ratio and limits.ratio.pool not in pools:
                problems.append(
                    Problem(f"pools[{i}].{where}.ratio.pool", f"unknown pool '{limits.ratio.pool}'")
                )
            if limits.ratio and limits.ratio.pool == pool.name:
                problems.append(Problem(f"pools[{i}].{where}.ratio.pool", "a pool cannot require itself"))
        for j, name in enumerate(pool.preview_fields):
            if name not in types:
                problems.append(Problem(f"pools[{i}].preview_fields[{j}]", f"unknown field '{name}'"))
        for perm in ("claim", "view", "manage"):
            audience = getattr(pool.access, perm)
            if audience is None:
                continue
            for j, team in enumerate(audience.teams or []):
                if team not in teams:
                    problems.append(Problem(f"pools[{i}].access.{perm}.teams[{j}]", f"unknown team '{team}'"))
            for j, tier in enumerate(audience.tiers or []):
                if tier not in tiers:
                    problems.append(Problem(f"pools[{i}].access.{perm}.tiers[{j}]", f"unknown tier '{tier}'"))
            for j, email in enumerate(audience.users or []):
                if email.lower() not in emails:
                    problems.append(
                        Problem(f"pools[{i}].access.{perm}.users[{j}]", f"unknown user '{email}'")
                    )
    for tier, spec in org.tiers.items():
        if spec.limits.ratio or spec.limits.pool_daily is not None:
            problems.append(Problem(f"tiers.{tier}.limits", "ratio and pool_daily belong on a pool's limits"))
    problems += _push_check(org, teams, tiers, emails)
    problems += _clock_check(org, tiers, emails)
    problems += _health_check(org, teams, tiers)
    return problems


def _health_check(org: Org, teams: set[str], tiers: set[str]) -> list[Problem]:
    """Rebalancing, overflow and seasons name pools and teams that must exist."""
    problems: list[Problem] = []
    pools = {p.name for p in org.pools}
    places = [(f"pools[{i}].health", p.name, p.health) for i, p in enumerate(org.pools)]
    for i, season in enumerate(org.seasons):
        for name, health in season.pools.items():
            if name not in pools:
                problems.append(Problem(f"seasons[{i}].pools.{name}", f"unknown pool '{name}'"))
            places.append((f"seasons[{i}].pools.{name}", name, health))
    for where, name, health in places:
        r = health.rebalance
        targets: list[tuple[str, str | None]] = [(f"rebalance.to[{j}]", t) for j, t in enumerate(r.to)]
        targets += [("rebalance.escalate_to", r.escalate_to), ("rebalance.nurture_to", r.nurture_to)]
        for key, target in targets:
            if target is not None and target not in pools:
                problems.append(Problem(f"{where}.{key}", f"unknown pool '{target}'"))
            elif target == name:
                problems.append(Problem(f"{where}.{key}", "a pool cannot rebalance into itself"))
        if r.nurture_after_days is not None and r.nurture_to is None:
            problems.append(Problem(f"{where}.rebalance.nurture_to", "nurture_after_days needs nurture_to"))
        o = health.overflow
        if o is not None and o.partner_team is not None and o.partner_team not in teams:
            problems.append(Problem(f"{where}.overflow.partner_team", f"unknown team '{o.partner_team}'"))
        for j, tier in enumerate(o.widen_to.tiers or [] if o and o.widen_to else []):
            if tier not in tiers:
                problems.append(Problem(f"{where}.overflow.widen_to.tiers[{j}]", f"unknown tier '{tier}'"))
        for j, team in enumerate(o.widen_to.teams or [] if o and o.widen_to else []):
            if team not in teams:
                problems.append(Problem(f"{where}.overflow.widen_to.teams[{j}]", f"unknown team '{team}'"))
    return problems


def _clock_check(org: Org, tiers: set[str], emails: list[str]) -> list[Problem]:
    """Aging moves leads to named pools; access and release windows name tiers and on-call reps."""
    problems: list[Problem] = []
    for i, pool in enumerate(org.pools):
        for tier in pool.release.tier_offsets if pool.release else {}:
            if tier not in tiers:
                problems.append(Problem(f"pools[{i}].release.tier_offsets.{tier}", f"unknown tier '{tier}'"))
    hours = [("claim_hours", org.claim_hours)] + [
        (f"pools[{i}].claim_hours", p.claim_hours) for i, p in enumerate(org.pools)
    ]
    for where, spec in hours:
        for j, email in enumerate(spec.on_call if spec else []):
            if email.lower() not in emails:
                problems.append(Problem(f"{where}.on_call[{j}]", f"unknown user '{email}'"))
    pools = {p.name for p in org.pools}
    places = [("aging", org.aging)] + [(f"pools[{i}].aging", p.aging) for i, p in enumerate(org.pools)]
    for where, aging in places:
        for key in ("nurture_pool", "recycle_pool"):
            target = getattr(aging, key) if aging else None
            if target is not None and target not in pools:
                problems.append(Problem(f"{where}.{key}", f"unknown pool '{target}'"))
    return problems


def _push_check(org: Org, teams: set[str], tiers: set[str], emails: list[str]) -> list[Problem]:
    """Push settings: every person, team and zone they name must exist."""
    problems: list[Problem] = []
    managers = {u.team for u in org.users if u.role is Role.manager and u.team}
    for team, caps in org.push.team_caps.items():
        if team not in teams:
            problems.append(Problem(f"push.team_caps.{team}", f"unknown team '{team}'"))
        if caps.max_open is not None:
            problems.append(
                Problem(
                    f"push.team_caps.{team}.max_open",
                    "max_open is per rep: set it under push or a user's push_caps",
                )
            )
    zones = [("push.caps.timezone", org.push.caps.timezone)]
    zones += [(f"push.team_caps.{t}.timezone", c.timezone) for t, c in org.push.team_caps.items()]
    zones += [
        (f"users[{i}].push_caps.timezone", u.push_caps.timezone if u.push_caps else None)
        for i, u in enumerate(org.users)
    ]
    for where, zone in zones:
        if zone is not None and not _known_zone(zone):
            problems.append(
                Problem(where, f"unknown time zone '{zone}' (use an IANA name like 'Europe/Berlin')")
            )
    pools = {p.name: p for p in org.pools}
    places = [(f"rules[{i}].assign", r.assign, pools.get(r.pool)) for i, r in enumerate(org.rules)]
    places += [(f"pools[{i}].assign", p.assign, p) for i, p in enumerate(org.pools)]
    rule_pools = {r.name: r.pool for r in org.rules}
    places += [
        (f"experiments[{i}].arms[{j}].assign", a.assign, pools.get(a.pool or rule_pools.get(e.rule, "")))
        for i, e in enumerate(org.experiments)
        for j, a in enumerate(e.arms)
        if a.assign != "none"
    ]
    for where, assign, pool in places:
        if assign is None or isinstance(assign, str):
            continue
        if Strategy.territory in assign.strategy and not assign.territories:
            problems.append(Problem(f"{where}.territories", "strategy 'territory' needs territory entries"))
        if assign.territories and Strategy.territory not in assign.strategy:
            problems.append(Problem(f"{where}.territories", "add 'territory' to strategy, or remove these"))
        for j, entry in enumerate(assign.territories):
            if not entry.keys():
                problems.append(
                    Problem(f"{where}.territories[{j}]", "name a country, region, state or metro")
                )
            target = entry.to
            if target.startswith("team "):
                if target.removeprefix("team ") not in teams:
                    problems.append(Problem(f"{where}.territories[{j}].to", f"unknown team '{target[5:]}'"))
            elif target.lower() not in emails:
                problems.append(
                    Problem(f"{where}.territories[{j}].to", f"unknown user '{target}' (or write 'team NAME')")
                )
        for j, team in enumerate(assign.reps.teams or [] if assign.reps else []):
            if team not in teams:
                problems.append(Problem(f"{where}.reps.teams[{j}]", f"unknown team '{team}'"))
        for j, tier in enumerate(assign.reps.tiers or [] if assign.reps else []):
            if tier not in tiers:
                problems.append(Problem(f"{where}.reps.tiers[{j}]", f"unknown tier '{tier}'"))
        for j, email in enumerate(assign.reps.users or [] if assign.reps else []):
            if email.lower() not in emails:
                problems.append(Problem(f"{where}.reps.users[{j}]", f"unknown user '{email}'"))
        if assign.fallback == "manager":
            if pool is not None and (pool.team is None or pool.team not in managers):
                problems.append(
                    Problem(
                        f"{where}.fallback",
                        f"'manager' means the manager of the pool's team, and {pool.name} has "
                        + ("no team" if pool.team is None else f"no manager in team {pool.team}"),
                    )
                )
        elif assign.fallback != "pool" and assign.fallback.lower() not in emails:
            problems.append(
                Problem(f"{where}.fallback", f"unknown user '{assign.fallback}' (or use 'pool' or 'manager')")
            )
        if assign.offer is not None and assign.after_hours is not None:
            problems.append(Problem(f"{where}.offer", "a time-released pool assigns directly; drop 'offer'"))
    return problems


def _known_zone(zone: str) -> bool:
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
