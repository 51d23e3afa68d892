"""The org file's forms: what `org check` refuses in a form (a key unfit for a URL or used twice,
an origin that is a page URL, a mapping onto a field the org lacks, a honeypot people fill, a
redirect to another site), with the place to fix; and, pure, how a post's inputs become a lead's
fields and how the limiter counts on the clock it is given."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from leadpool.clock import ManualClock
from leadpool.errors import InvalidInput
from leadpool.forms import throttle
from leadpool.forms.service import lead_values, page_origin
from leadpool.forms.throttle import FormLimiter
from leadpool.org.loader import parse
from leadpool.orgfile.fields import field_types
from leadpool.orgfile.forms import Form, FormRateLimit, origin_of
from leadpool.orgfile.schema import FieldType

ORG = """
organisation: Forms Co
fields: {budget: number}
pools: [{name: A}]
forms:
%s
"""
GOOD = "  - {key: contact-us-7hq2, source: web_form, origins: ['https://www.example.com']}"


def problems(forms: str) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        parse(ORG % forms)
    return [str(p) for p in caught.value.problems]


def test_a_good_form_is_kept_with_its_defaults() -> None:
    [form] = parse(ORG % GOOD).org.forms
    assert form.origins == ["https://www.example.com"] and form.allow_no_origin is False
    assert (form.rate_limit.per_ip, form.rate_limit.per_form) == ("10/minute", "600/hour")


@pytest.mark.parametrize(
    ("line", "where", "says"),
    [
        ("{key: short, source: s, origins: ['https://a.example']}", "forms[0].key", "8 to 100 letters"),
        ("{key: has space in it, source: s, origins: ['https://a.example']}", "forms[0].key", "URL"),
        (
            "{key: contact-us-7hq2, source: s, origins: ['https://a.example/contact']}",
            "forms[0].origins[0]",
            "scheme and host only",
        ),
        (
            "{key: contact-us-7hq2, source: s, origins: ['www.example.com']}",
            "forms[0].origins[0]",
            "not an origin",
        ),
        ("{key: contact-us-7hq2, source: s}", "forms[0]", "allow_no_origin: true"),
        (
            "{key: contact-us-7hq2, source: s, origins: ['https://a.example'], redirect: 'https://b.example/thanks'}",
            "forms[0]",
            "one of the form's origins",
        ),
        (
            "{key: contact-us-7hq2, source: s, allow_no_origin: true, rate_limit: {per_ip: lots}}",
            "forms[0].rate_limit.per_ip",
            "10/minute",
        ),
        (
            "{key: contact-us-7hq2, source: s, allow_no_origin: true, secret: x}",
            "forms[0].secret",
            "unknown key",
        ),
    ],
)
def test_a_broken_form_is_refused_where_it_is_written(line: str, where: str, says: str) -> None:
    [found] = problems(f"  - {line}")
    assert found.startswith(where) and says in found, found


def test_keys_are_unique_and_mappings_name_fields_the_org_knows() -> None:
    found = problems(
        GOOD + "\n  - {key: contact-us-7hq2, source: s, allow_no_origin: true,"
        " fields: {mail: email, e2: email, spend: budgett, src: source}, honeypot: company}"
    )
    assert any(p.startswith("forms[1].key") and "duplicate form key" in p for p in found)
    assert any(p.startswith("forms[1].fields.e2") and "fills 'email' already" in p for p in found)
    assert any(
        p.startswith("forms[1].fields.spend") and "'budgett' is no field of a lead" in p for p in found
    )
    assert any(p.startswith("forms[1].fields.src") and "source: sets the lead's source" in p for p in found)
    assert any(p.startswith("forms[1].honeypot") and "people fill in" in p for p in found)
    assert len(found) == 5


def test_a_declared_field_may_be_mapped() -> None:
    line = "  - {key: contact-us-7hq2, source: s, allow_no_origin: true, fields: {spend: budget}}"
    assert parse(ORG % line).org.forms[0].fields == {"spend": "budget"}


def test_origins_compare_as_browsers_send_them() -> None:
    assert origin_of("HTTPS://WWW.Example.com:443/contact?x=1") == "https://www.example.com"
    assert origin_of("http://localhost:8080") == "http://localhost:8080"
    assert origin_of("null") is None and origin_of("ftp://x.example") is None and origin_of(None) is None
    assert page_origin("null", "https://www.example.com/contact") == "https://www.example.com"
    assert page_origin(None, None) is None


def test_inputs_become_lead_fields_and_the_rest_stays_out() -> None:
    form = Form.model_validate(
        {
            "key": "contact-us-7hq2",
            "source": "web_form",
            "allow_no_origin": True,
            "fields": {"your-email": "email", "spend": "budget"},
            "honeypot": "website_url",
        }
    )
    fields = field_types({"budget": FieldType.number})
    values, came_from, problems = lead_values(
        form,
        {
            "your-email": "a@b.example",
            "email": "ignored@b.example",  # the mapped input fills email first
            "spend": "",  # left empty: not given
            "company": "B Ltd",
            "source": "forged",
            "website_url": "",
            "submit": "Send",
            "country": {"nested": True},
        },
        fields,
    )
    assert values == {"email": "a@b.example", "company": "B Ltd", "source": "web_form"}
    assert came_from == {"email": "your-email", "company": "company"}
    assert [(p.where, p.message) for p in problems] == [("country", "must be text, a number or true/false")]


def test_the_limiter_counts_a_moving_window_on_its_clock() -> None:
    clock = ManualClock()
    limiter = FormLimiter(clock)
    assert limiter.hit("f", "1.2.3.4", "2/minute", "100/hour") is None
    clock.advance(timedelta(seconds=30))
    assert limiter.hit("f", "1.2.3.4", "2/minute", "100/hour") is None
    clock.advance(timedelta(seconds=15))
    refusal = limiter.hit("f", "1.2.3.4", "2/minute", "100/hour")
    assert refusal is not None and refusal.limit == "2/minute from one address" and refusal.retry_after == 15
    assert limiter.hit("f", "5.6.7.8", "2/minute", "100/hour") is None  # another address
    assert limiter.hit("g", "1.2.3.4", "2/minute", "100/hour") is None  # another form
    clock.advance(timedelta(seconds=15))  # the first post has left the window: one slot free
    assert limiter.hit("f", "1.2.3.4", "2/minute", "100/hour") is None
    assert limiter.hit("f", "1.2.3.4", "2/minute", "100/hour") is not None


DOCS = Path(__file__).parents[2] / "docs" / "forms.md"


def test_the_page_for_admins_explains_every_key_and_its_example_checks() -> None:
    page = DOCS.read_text(encoding="utf-8")
    snippet = page.split("```yaml\n", 1)[1].split("```", 1)[0]
    org = "organisation: Docs Co\nfields: {budget: number}\npools: [{name: A}]\n" + snippet
    [form] = parse(org).org.forms
    assert form.redirect == "https://www.example.com/thank-you" and form.fields["budget-range"] == "budget"
    for key in [*Form.model_fields, *FormRateLimit.model_fields]:
        assert f"`{key}`" in page, key
    html = page.split("```html\n", 1)[1].split("```", 1)[0]
    assert f"/api/v1/forms/{form.key}" in html and f'name="{form.honeypot}"' in html


def test_a_refused_post_uses_up_neither_limit() -> None:
    limiter = FormLimiter(ManualClock())
    assert [limiter.hit("f", "a", "2/minute", "3/hour") for _ in range(2)] == [None, None]
    refused = limiter.hit("f", "a", "2/minute", "3/hour")
    assert refused is not None and "from one address" in refused.limit
    assert limiter.hit("f", "b", "2/minute", "3/hour") is None  # the form's third: a's refusal did not count
    refused = limiter.hit("f", "c", "2/minute", "3/hour")
    assert refused is not None and refused.limit == "3/hour for this form" and refused.retry_after == 3600


def test_addresses_seen_once_do_not_pile_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(throttle, "SWEEP_EVERY", 3)
    clock = ManualClock()
    limiter = FormLimiter(clock)
    for address in ("a", "b"):
        assert limiter.hit("f", address, "2/minute", "100/hour") is None
    assert "LIMITER/form/f/ip/a/2/1/minute" in limiter.limiter.storage.events  # type: ignore[attr-defined]
    clock.advance(timedelta(hours=2))
    for address in ("c", "d"):
        assert limiter.hit("f", address, "2/minute", "100/hour") is None
    kept = limiter.limiter.storage.events  # type: ignore[attr-defined]
    assert not any(key.endswith(("/a/2/1/minute", "/b/2/1/minute")) for key in kept), sorted(kept)
