#!/usr/bin/env bash
# Newcomer command 2: run the whole test suite. Tests needing PostgreSQL (127.0.0.1:5432, database
# "test"), Redis (127.0.0.1:6379) or Debian's chromium are skipped when those are absent, except
# with CI=true, where they must run.
#
# With no test paths given (the whole suite) the tests run in parallel: pytest-xdist with
# TEST_WORKERS processes (default 4; 0 runs them in this process), each with its own database
# "<name>_gwN" and Redis db (tests/conftest.py), and the fault suite's private PostgreSQL and
# Redis on ports of its own (tests/faults/conftest.py). Given paths (scripts/test.sh tests/test_x.py) they run in
# this process (so does any argument that is not an option, e.g. the value in `-k name`),
# unless -n is given too.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
unset DATABASE_URL REDIS_URL CELERY_BROKER_URL
parallel=(-n "${TEST_WORKERS:-4}")
for arg in "$@"; do
  case "$arg" in
    -n | -n* | --numprocesses*) parallel=() ;;
    -*) ;;
    *) parallel=() ;;
  esac
done
if [ "${TEST_WORKERS:-4}" = 0 ]; then
  parallel=()
fi
exec .venv/bin/python -m pytest ${parallel[@]+"${parallel[@]}"} "$@"
