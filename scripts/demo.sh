#!/usr/bin/env bash
# Newcomer command 1: set up, load the demo and serve it at http://127.0.0.1:5000 (SQLite, no servers).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
export FLASK_APP=scoring
unset DATABASE_URL REDIS_URL CELERY_BROKER_URL
mkdir -p instance
.venv/bin/flask db upgrade
if .venv/bin/flask seed-demo > instance/seed.log 2>&1; then
  tail -n 1 instance/seed.log > instance/demo-accounts.json
  echo "Demo data loaded (every rubric, amount and application in it is illustrative)."
else
  echo "Keeping the demo data already in instance/ (start afresh: .venv/bin/flask --app scoring seed-demo --reset)."
fi
if [ -s instance/demo-accounts.json ]; then
  echo "Demo accounts:"
  .venv/bin/python -c 'import json, sys
for a in json.load(open(sys.argv[1]))["accounts"]:
    print("  %-10s %-32s %s" % (a["role"], a["email"], a["password"]))
print("Staff also type a six-digit code: add their key to an authenticator app, or run")
print("  scripts/demo-code.sh EMAIL   (prints the current code of a demo account)")
for a in json.load(open(sys.argv[1]))["accounts"]:
    if a.get("totp_secret"):
        print("  %-32s key %s" % (a["email"], a["totp_secret"]))' instance/demo-accounts.json
fi
echo "Open http://127.0.0.1:${PORT:-5000}/ (Ctrl-C stops the server)."
exec .venv/bin/flask run --host 127.0.0.1 --port "${PORT:-5000}"
