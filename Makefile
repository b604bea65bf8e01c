.PHONY: run test

# Start the system on SQLite: the demo district, live simulated traffic, web app.
run:
	scripts/run

# The whole test suite on SQLite, then on a throwaway PostgreSQL cluster.
test:
	scripts/test
