"""A local HTTP server that receives what the outbox sends (the notify tests' own), for the digest."""

from tests.notify.conftest import receiver  # noqa: F401
