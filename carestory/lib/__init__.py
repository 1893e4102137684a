"""Helpers every app shares and no app owns; no models of its own.

Not framework-free: some modules are plain Python and import nothing from Django (env, names,
postcodes, screen_names, search_text, osgrid, gunicorn_conf), the rest use Django (text and
emails for their ValidationError and messages; locking, errors, idempotency, urls, tokens,
middleware, decorators, ratelimit, which keeps its buckets in ``accounts.RateLimitBucket``,
logging, health, passwords, client).
"""
