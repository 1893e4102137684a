"""Made-up data: the demo and the national scale, and the pieces `make bench` needs (no models).

``manage.py seed_demo`` loads the small demo ``make run`` shows (a slice of the real service
tree, accounts, stories in every state, responses and replies) through each app's use cases.
``manage.py generate_synthetic --stories N --seed S`` fills the database over the real service
tree; see ``generate.py``. ``bench_settings`` is the production settings plus a floor view and
a query-counting middleware, used only by ``bench/run.py``.
"""
