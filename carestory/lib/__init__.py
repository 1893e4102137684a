"""Helpers every app shares and no app owns; no models of its own.

Not framework-free: some modules are plain Python and import nothing from Django (env, text,
names, postcodes, screen_names, search_text, osgrid, emails, gunicorn_conf), the rest are
Django plumbing (locking, urls, tokens, middleware, decorators, ratelimit, which keeps its
buckets in ``accounts.RateLimitBucket``, logging, health, passwords, client).
"""
