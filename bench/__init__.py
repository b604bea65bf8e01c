"""Benchmarks and the soak: each starts real servers (gunicorn, PostgreSQL, localstripe) on
127.0.0.1 against a throwaway database and measures the figures docs/BENCHMARKS.md records
with the command that made them. Not part of the product: `api` registers these commands
(`bench.commands.init_app`), and nothing in the product imports this package otherwise."""
