"""Roles and per-pool permission levels (product rules, Roles and permissions)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    rep = "rep"
    manager = "manager"
    ops = "ops"
    executive = "executive"
    admin = "admin"


class Permission(StrEnum):
    """Pool permission levels, each implying the ones before it except view/claim which are siblings."""

    claim = "claim"
    view = "view"
    manage = "manage"
    admin = "admin"


# Roles that see every pool's contents and every lead, for reporting or oversight.
SEES_ALL = frozenset({Role.manager, Role.ops, Role.executive, Role.admin})
# Roles that may change any pool or lead (transfer, settings); managers only their team's.
MANAGES_ALL = frozenset({Role.ops, Role.admin})
