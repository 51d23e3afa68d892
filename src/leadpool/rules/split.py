"""Which arm of an experiment a lead belongs to: a stable hash of the lead, so the same person
arriving twice lands in the same arm, in every process, across restarts and versions."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from leadpool.orgfile.schema import Arm, Experiment

BUCKETS = 10_000  # shares resolve to 0.01%


@dataclass(frozen=True)
class Placement:
    """An experiment's say in where a lead went. `split`: the hash chose the arm, so the lead counts
    in the report; False when a decided winner took every lead."""

    experiment: str
    arm: str
    split: bool

    def as_details(self) -> dict[str, Any]:
        return {"name": self.experiment, "arm": self.arm, "split": self.split}


def lead_key(values: Mapping[str, Any]) -> str:
    """What identifies the lead for the split: its email, else its id in the source system, else
    its whole content (a lead without either is split by what it says)."""
    email = values.get("email")
    if isinstance(email, str) and email.strip():
        return "e:" + email.strip().lower()
    external = values.get("external_id")
    if external:
        return f"x:{external}"
    return "v:" + json.dumps(values, sort_keys=True, default=str)


def bucket(experiment: str, key: str) -> int:
    """0..BUCKETS-1, uniform over leads and independent between experiments (the name is salt)."""
    digest = hashlib.sha256(f"{experiment}\x00{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def arm_for(experiment: Experiment, key: str) -> Arm:
    """The arm whose share covers the lead's bucket, arms taking their shares in file order."""
    point = bucket(experiment.name, key)
    edge = 0.0
    for arm in experiment.arms:
        edge += arm.share * BUCKETS / 100
        if point < edge:
            return arm
    return experiment.arms[-1]  # shares add up to 100: only rounding lands here


def arm_named(experiment: Experiment, name: str) -> Arm | None:
    return next((a for a in experiment.arms if a.name == name), None)


def running(experiment: Experiment, day: date) -> bool:
    return experiment.start <= day and (experiment.end is None or day <= experiment.end)


def push_key(experiment: str, arm: str) -> str:
    """The name an arm's own push settings (and its round-robin rotation) go by."""
    return f"experiment {experiment}/{arm}"
