#!/usr/bin/env bash
# Copyright 2026 brain_execution contributors
# SPDX-License-Identifier: Apache-2.0
#
# The test command (make test): every test, linters included, in the project's environment.
# Extra arguments go to pytest, e.g. scripts/test.sh test/core -k takeoff.
set -uo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
scripts/run.sh python -m pytest -p no:cacheprovider "${@:-test}"
rc=$?
if [ "$rc" -eq 5 ]; then
  # pytest's "no tests collected": only reachable with a narrowing filter; not a failure of
  # the code, but say so instead of passing silently.
  echo "test.sh: pytest collected no tests for: ${*:-test}" >&2
  rc=0
fi
exit "$rc"
