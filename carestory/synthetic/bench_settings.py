"""The settings ``bench/run.py`` serves with: the ordinary settings (it sets
CARESTORY_ENV=production) plus the floor view's URL and the query-counting middleware.

Never used by the site itself: only ``DJANGO_SETTINGS_MODULE=carestory.synthetic.bench_settings``
loads this module.
"""

from carestory.settings import *  # noqa: F403
from carestory.settings import MIDDLEWARE

ROOT_URLCONF = "carestory.synthetic.bench_urls"
MIDDLEWARE = ["carestory.synthetic.bench.QueryCountMiddleware", *MIDDLEWARE]

# The bench reports whether each probe was served from the page cache.
PAGE_CACHE_HEADER = True
