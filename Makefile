# brain_execution: the commands a newcomer needs (see README.md). Each sets itself up.
.PHONY: setup demo test bench clean

setup:
	scripts/setup.sh

# make demo SPEED=5: the simulators run (and own the clock) at five times real time.
SPEED ?= 1
demo:
	scripts/run.sh python -m brain_execution.demo --speed $(SPEED)

test:
	scripts/test.sh

bench:
	scripts/run.sh python -m brain_execution.bench $(ARGS)

clean:
	rm -rf .work
