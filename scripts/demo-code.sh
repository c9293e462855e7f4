#!/usr/bin/env bash
# The current two-factor code of a demo staff account (its key is in instance/demo-accounts.json),
# for trying the demo without an authenticator app: scripts/demo-code.sh approver@demo.scoring
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python - "${1:?usage: scripts/demo-code.sh EMAIL}" <<'PY'
import json
import sys

import pyotp

accounts = json.load(open("instance/demo-accounts.json"))["accounts"]
keys = {a["email"]: a.get("totp_secret") for a in accounts}
email = sys.argv[1]
if not keys.get(email):
    sys.exit(f"{email} has no demo two-factor key; staff accounts: "
             + ", ".join(e for e, k in keys.items() if k))
print(pyotp.TOTP(keys[email]).now())
PY
