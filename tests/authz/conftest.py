"""The web tests' real server, for the page matrix."""

from tests.web.conftest import site, site_clock  # noqa: F401
