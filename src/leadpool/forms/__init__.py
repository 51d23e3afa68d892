"""Web forms: a marketing site's forms post leads straight in, with no token, guarded by the
form's allowed origins, a honeypot and rate limits, and taken in through the normal intake."""
