"""Where a person can be reached (a user's `reach:` in the org file): their Slack member id and
phone, which notices they want on which medium, and their quiet hours. Pure: the decisions here
say, for one notice and one channel, who of its recipients gets it and from when; the notify
package writes and sends what they decide."""

from __future__ import annotations

import fnmatch
import re
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

import phonenumbers
from pydantic import BaseModel, ConfigDict, field_validator, model_validator

# Slack member ids: U… for a workspace member, W… for an Enterprise Grid one (Slack's API docs).
SLACK_MEMBER = re.compile(r"[UW][A-Z0-9]{8,11}")


class Medium(StrEnum):
    """How a channel reaches a person, as their preferences name it."""

    email = "email"
    slack = "slack"
    sms = "sms"
    webhook = "webhook"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class QuietHours(_Strict):
    """From `start` to `end` on the person's own clock (their time zone), notices wait for the end
    of the quiet hours, except the kinds in `urgent`. An end before the start spans midnight."""

    start: time
    end: time
    urgent: list[str] = []  # notice kinds (shell patterns) that go through anyway

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHours:
        if self.start == self.end:
            raise ValueError("quiet hours start and end at the same time; leave quiet_hours out instead")
        return self

    def ends(self, now: datetime, zone: str) -> datetime | None:
        """When the quiet hours around `now` end (UTC-aware, as `now`), or None outside them."""
        local = now.astimezone(ZoneInfo(zone))
        clock = local.time().replace(tzinfo=None)
        if self.start < self.end:
            inside = self.start <= clock < self.end
        else:
            inside = clock >= self.start or clock < self.end
        if not inside:
            return None
        day = local.date() if clock < self.end else local.date() + timedelta(days=1)
        # Built on the wall clock, so the end is right on a day whose UTC offset changes.
        end = datetime.combine(day, self.end, tzinfo=ZoneInfo(zone))
        return end.astimezone(now.tzinfo)


class Reach(_Strict):
    """A user's addresses besides their email, and what they want to hear where."""

    slack: str | None = None  # Slack member id, e.g. U024BE7LH (profile → ⋮ → Copy member ID)
    phone: str | None = None  # for SMS, in international form: +49 30 901820
    # Notice kinds (shell patterns) → the media they go to; a kind no pattern matches goes to
    # every medium the org's channels use. An empty list silences a kind.
    notices: dict[str, list[Medium]] = {}
    quiet_hours: QuietHours | None = None

    @field_validator("slack")
    @classmethod
    def _slack_member(cls, value: str | None) -> str | None:
        if value is not None and not SLACK_MEMBER.fullmatch(value):
            raise ValueError(
                f"'{value}' is not a Slack member id: it looks like U024BE7LH (in Slack: the "
                "person's profile, ⋮ More, Copy member ID), not a name or an @handle"
            )
        return value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        hint = "write it in international form with the country code, like +49 30 901820"
        try:
            number = phonenumbers.parse(value, None)
        except phonenumbers.NumberParseException as exc:
            raise ValueError(f"phone '{value}' is not a phone number ({exc}); {hint}") from None
        if not phonenumbers.is_valid_number(number):
            raise ValueError(f"phone '{value}' is not a valid number in its country; {hint}")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    def wants(self, kind: str, medium: Medium) -> bool:
        """Whether this person wants a notice of `kind` on `medium` (the first matching pattern
        decides, most specific written first)."""
        for pattern, media in self.notices.items():
            if fnmatch.fnmatchcase(kind, pattern):
                return medium in media
        return True

    def address(self, medium: Medium) -> str | None:
        """Their address on a personal medium; None when they have none there."""
        if medium is Medium.slack:
            return self.slack
        if medium is Medium.sms:
            return self.phone
        return ""  # email and webhooks: the channel knows where (the email is the user's own)

    def held_until(self, kind: str, now: datetime, zone: str) -> datetime | None:
        """When a notice of `kind` raised at `now` may go, if their quiet hours hold it back."""
        quiet = self.quiet_hours
        if quiet is None or any(fnmatch.fnmatchcase(kind, p) for p in quiet.urgent):
            return None
        return quiet.ends(now, zone)
