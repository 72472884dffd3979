"""Auth: people and what they may do.

- ``domain.py`` (pure): roles and the permissions each holds (``area:read``/``write``/``admin``; every
  API route declares exactly one), and the rules of signing in.
- ``service.py``: users (argon2id passwords, locale, time zone, active), API tokens of a user or with a
  role of their own, and sessions (the ``orderly_session`` cookie with a CSRF token for changes); tokens
  and session cookies are shown once and stored as SHA-256.
- ``gate.py``: who sends each protected request, cheap under load, and the throttle on failures;
  ``web.py``: signing in over HTTP for the API and the console; ``audit.py``: the audit log of every
  successful change a signed-in caller makes over HTTP.
"""
