# The two commands a newcomer needs: `make package` and `make test`.
DEST ?= out/payments-api
PYTEST_ARGS ?= -n 2

.PHONY: setup package test bench examples
setup:
	@scripts/setup.sh

package: setup  ## generate a package with defaults into $(DEST), then validate it
	@rm -rf $(DEST)
	@.venv/bin/scaffold new $(DEST) --defaults --quiet
	@.venv/bin/scaffold validate $(DEST)

test: setup  ## the whole test suite, with every external tool required
	@.venv/bin/python -m pytest $(PYTEST_ARGS)

bench: setup
	@.venv/bin/python benchmarks/run.py

examples: setup  ## regenerate the golden examples under examples/
	@.venv/bin/scaffold blueprint examples --out examples
