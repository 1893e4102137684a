#!/usr/bin/env bash
# Serve Carestory with the outbox worker beside the web server; Ctrl-C stops both.
set -euo pipefail
HOST=${1:-127.0.0.1}
PORT=${2:-8000}
PY=${PY:-.venv/bin/python}
# Links in emails point where this server listens, unless SITE_URL says otherwise (the worker
# renders the emails, so it needs the same value as the web server).
if [ -z "${SITE_URL:-}" ]; then
  case "$HOST" in
    0.0.0.0 | "::" | "[::]") LINK_HOST=127.0.0.1 ;;  # listening everywhere: link to this machine
    *:*) LINK_HOST="[$HOST]" ;;                      # an IPv6 address
    *) LINK_HOST=$HOST ;;
  esac
  export SITE_URL="http://$LINK_HOST:$PORT"
fi
mkdir -p var/mail
if [ -f var/demo-accounts.txt ]; then
  echo
  echo "Demo accounts (also in var/demo-accounts.txt):"
  sed 's/^/  /' var/demo-accounts.txt
fi
echo
echo "Emails are written to var/mail/ (set EMAIL_BACKEND and EMAIL_HOST to use SMTP)."
echo "Serving on http://$HOST:$PORT/ (links in emails: $SITE_URL)"
$PY manage.py run_worker &
WORKER=$!
trap 'kill $WORKER 2>/dev/null || true; wait $WORKER 2>/dev/null || true' EXIT INT TERM
$PY manage.py runserver "$HOST:$PORT"
