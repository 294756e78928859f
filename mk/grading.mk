##@ Self-grading

# `make check-N` (in the Makefile) runs `workshop check N $(CHECK_ARGS)`; these targets
# are for the people who write and measure the checks.
BENCH_RUNS ?= 7

.PHONY: bench-check
bench-check: $(VENV_STAMP) ## time `workshop check 2` on the sim cluster, solved (BENCH_RUNS=7); one summary line
	@$(VENV)/bin/python -m workshop.grading.bench --level 2 --runs $(BENCH_RUNS)

.PHONY: test-grading
test-grading: $(VENV_STAMP) ## run only the grading engine's and the labs' tests
	@$(VENV)/bin/pytest tests/grading tests/labs $(PYTEST_ARGS)
