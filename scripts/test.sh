#!/usr/bin/env bash
# Newcomer command 2: run the whole test suite. Tests needing PostgreSQL (127.0.0.1:5432, database
# "test"), Redis (127.0.0.1:6379) or Debian's chromium are skipped when those are absent, except
# with CI=true, where they must run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
unset DATABASE_URL REDIS_URL CELERY_BROKER_URL
exec .venv/bin/python -m pytest "$@"
