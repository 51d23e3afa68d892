"""`leadpool crm check`: try a connection's credentials against the live account and compare what
the org file names with what the CRM has, so a wrong token, a mistyped property or an owner id
from another account is found before the first lead is lost on it."""

from __future__ import annotations

import os
from dataclasses import dataclass

from leadpool.crm.clients import Account, CrmError, client
from leadpool.intake.mapping import Mapping
from leadpool.orgfile.connect import Crm

TIMEOUT = 10.0


@dataclass(frozen=True)
class Finding:
    ok: bool
    where: str  # 'crm hubspot: owners.ana@example.com'
    message: str


def check(crm: Crm) -> list[Finding]:
    where = f"crm {crm.name}"
    found: list[Finding] = []
    for variable, what in ((crm.token_env, "API token"), (crm.secret_env, "webhook secret")):
        if variable and not os.environ.get(variable):
            found.append(
                Finding(False, f"{where}: {variable}", f"the {what} variable is not set in this environment")
            )
    if not found:
        try:
            api = client(crm, TIMEOUT)
            try:
                account = api.account()
            finally:
                api.close()
        except CrmError as exc:
            return [Finding(False, f"{where}: {crm.api}", f"{exc} (check the token, its scopes and the url)")]
        found.append(
            Finding(
                True,
                f"{where}: {crm.api}",
                f"signed in: {len(account.owners)} owners, {len(account.fields)} fields",
            )
        )
        found += _compare(crm, account, where)
    return found


def _compare(crm: Crm, account: Account, where: str) -> list[Finding]:
    found: list[Finding] = []
    mapping = Mapping.model_validate(crm.mapping)
    named = [(f"mapping.columns.{c}", c) for c in mapping.columns]
    named += [(f"signals.{s.property}", s.property) for s in crm.signals]
    named.append(("owner_field", crm.owner_property))
    for path, field in named:
        if field not in account.fields:
            found.append(
                Finding(False, f"{where}: {path}", f"{crm.system} has no {crm.record} field '{field}'")
            )
    for email, owner in crm.owners.items():
        if owner not in account.owners:
            found.append(
                Finding(
                    False,
                    f"{where}: owners.{email}",
                    f"owner id {owner} is not an active owner in {crm.system}",
                )
            )
        elif account.owners[owner] and account.owners[owner].lower() != email.lower():
            found.append(
                Finding(
                    False,
                    f"{where}: owners.{email}",
                    f"owner id {owner} belongs to {account.owners[owner]} in {crm.system}",
                )
            )
    if crm.release_owner is not None and crm.release_owner not in account.owners:
        found.append(
            Finding(False, f"{where}: release_owner", f"owner id {crm.release_owner} is not an active owner")
        )
    if all(f.ok for f in found):
        found.append(
            Finding(True, f"{where}: mapping, signals, owners", "every field and owner named exists")
        )
    return found


def sample(crm: Crm, record_id: str, types: object) -> tuple[dict[str, object] | None, list[str]]:
    """One live record read and mapped as a webhook for it would be: the lead fields it becomes,
    or what stops it."""
    from leadpool.intake.mapping import map_record

    mapping = Mapping.model_validate(crm.mapping)
    api = client(crm, TIMEOUT)
    try:
        record = api.fetch(record_id, sorted({*mapping.columns, *(s.property for s in crm.signals)}))
    finally:
        api.close()
    if record is None:
        return None, [f"{crm.system} has no {crm.record} record {record_id}"]
    values, problems = map_record(mapping, types, record)  # type: ignore[arg-type]
    return values, [str(p) for p in problems] or (
        [] if values else ["no field of the record maps to a lead field"]
    )
