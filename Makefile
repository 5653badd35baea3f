# brain_execution: the commands a newcomer needs (see README.md). Each sets itself up.
.PHONY: setup demo test bench clean

setup:
	scripts/setup.sh

demo:
	scripts/run.sh python -m brain_execution.demo

test:
	scripts/test.sh

bench:
	scripts/run.sh python -m brain_execution.bench

clean:
	rm -rf .work
