"""A CRM's changes taken in: each record mapped to lead fields by the connection's mapping (the
same format as an import mapping file) and upserted by its CRM id, and each signal that fired
recorded as an activity. A record that cannot be read is reported and skipped; the others go in."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from leadpool.activities import service as activities
from leadpool.crm.clients import Client, client
from leadpool.crm.model import Change
from leadpool.crm.model import activities as fired
from leadpool.errors import LeadpoolError
from leadpool.intake import upsert
from leadpool.intake.mapping import Mapping, map_record
from leadpool.org.service import current
from leadpool.orgfile.connect import Crm
from leadpool.orgfile.fields import field_types
from leadpool.storage.db import Database

log = logging.getLogger("leadpool.crm")
READ_TIMEOUT = 3.0  # HubSpot wants its webhook answered within 5 s


def take(db: Database, crm: Crm, changes: Sequence[Change]) -> dict[str, Any]:
    """Raises CrmError when a record must be read back and the CRM cannot be reached: the webhook
    is then answered 503, and the CRM sends it again."""
    org = current(db)
    types = field_types(org.loaded.org.fields)
    mapping = Mapping.model_validate(crm.mapping)
    wanted = sorted({*mapping.columns, *(s.property for s in crm.signals)} or {"email"})
    counts = {"created": 0, "updated": 0, "unchanged": 0, "activities": 0, "skipped": 0}
    problems: list[dict[str, Any]] = []
    reader: list[Client] = []  # made at the first read back, closed at the end
    try:
        for change in changes:
            _one(db, crm, change, mapping, types, wanted, reader, counts, problems)
    finally:
        for made in reader:
            made.close()
    if problems:
        log.warning("crm %s: %s record(s) skipped: %s", crm.name, len(problems), problems[:5])
    return {**counts, "problems": problems}


def _one(
    db: Database,
    crm: Crm,
    change: Change,
    mapping: Mapping,
    types: Any,
    wanted: list[str],
    reader: list[Client],
    counts: dict[str, int],
    problems: list[dict[str, Any]],
) -> None:
    if change.deleted:
        counts["skipped"] += 1
        return
    fields = change.fields
    if fields is None:
        if not reader:
            reader.append(client(crm, READ_TIMEOUT))
        fields = reader[0].fetch(change.record_id, wanted)
        if fields is None:
            counts["skipped"] += 1
            return
    values, bad = map_record(mapping, types, fields)
    if bad or values is None:
        problems.append({"record": change.record_id, "problems": [str(p) for p in bad] or ["no field maps"]})
        counts["skipped"] += 1
        return
    try:
        done = upsert.upsert(db, None, change.record_id, values, channel=crm.name)
    except LeadpoolError as exc:
        problems.append({"record": change.record_id, "problems": [exc.message]})
        counts["skipped"] += 1
        return
    counts[done.outcome] += 1
    for activity in fired(crm, change):
        activities.record(
            db,
            None,
            done.lead_id,
            activity.kind,
            stage=activity.stage,
            source=crm.name,
            external_id=activity.external_id,
            happened_at=activity.at,
        )
        counts["activities"] += 1
