#!/usr/bin/env bash
# The README's second command: install what the tests need, then run every check and test,
# on SQLite and on the PostgreSQL server of this machine.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
  # Browser tests drive Debian's chromium (never a downloaded browser).
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
fi
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
  for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi

# PIP_CONSTRAINT reaches isolated build environments too (see constraints.txt).
PIP_CONSTRAINT="$PWD/constraints.txt" python3 -m pip install -q --disable-pip-version-check -e '.[test]'

echo "== ruff"
ruff format --check qiao tests bench
ruff check qiao tests bench
echo "== mypy"
mypy qiao
echo "== import contract"
lint-imports
echo "== deploy checks (production settings)"
QIAO_HOME="$(mktemp -d)" QIAO_TRUSTED_PROXY=127.0.0.1 QIAO_SECRET_KEY="$(python3 -c 'import secrets; print(secrets.token_urlsafe(60))')" \
  qiao check --deploy

export QIAO_DUCKDB_THREADS=2
# The two databases run side by side (CI has two cores): the SQLite run in the
# foreground, the PostgreSQL run in the background with its output kept and shown after.
# The analytics and demo-generator tests do not touch the operational database, nor do the
# campaign kill tests (their processes run on their own embedded database); they run once, on
# the SQLite side.
pg_log="$(mktemp)"
echo "== tests on PostgreSQL (in the background; output below when done)"
QIAO_HOME="$(mktemp -d)" QIAO_DATABASE_URL="postgres://postgres@127.0.0.1:5432/qiao" \
  python3 -m pytest -q -p no:cacheprovider tests --ignore=tests/analytics --ignore=tests/demo \
  --ignore=tests/campaigns/test_kill.py >"$pg_log" 2>&1 &
pg_pid=$!
echo "== tests on SQLite"
sqlite_rc=0
QIAO_HOME="$(mktemp -d)" python3 -m pytest -q -p no:cacheprovider tests || sqlite_rc=$?
pg_rc=0
wait "$pg_pid" || pg_rc=$?
echo "== tests on PostgreSQL (output)"
cat "$pg_log"
echo "== SQLite exit $sqlite_rc, PostgreSQL exit $pg_rc"
[ "$sqlite_rc" -eq 0 ] && [ "$pg_rc" -eq 0 ]
