"""Synthetic data at national scale, and the pieces `make bench` needs (no models).

``manage.py generate_synthetic --stories N --seed S`` fills the database over the real service
tree; see ``generate.py``. ``bench_settings`` is the production settings plus a floor view and
a query-counting middleware, used only by ``bench/run.py``.
"""
