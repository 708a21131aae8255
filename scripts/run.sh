#!/usr/bin/env bash
# Start the action server, Rasa and api/ with demo data, wait until each is healthy,
# print the URLs, and stop everything on Ctrl-C. Logs go to var/log/.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p var/log

export PYTHONPATH="$PWD"
export RASA_TELEMETRY_ENABLED=false
export RASA_API_TOKEN="${RASA_API_TOKEN:-dev-rasa-token}"
export SERVICE_TOKEN="${SERVICE_TOKEN:-dev-service-token}"
export RASA_URL="${RASA_URL:-http://127.0.0.1:5005}"
export BACKEND_URL="${BACKEND_URL:-http://127.0.0.1:8000}"
export ACTION_ENDPOINT_URL="${ACTION_ENDPOINT_URL:-http://127.0.0.1:5055/webhook}"
API_HOST="${API_HOST:-0.0.0.0}"
API_PORT="${API_PORT:-8000}"

endpoints=bot/endpoints.yml
if [ -n "${REDIS_URL:-}" ]; then
  # redis://host:port/db -> host and port for Rasa's Redis stores
  hostport="${REDIS_URL#*://}"; hostport="${hostport%%/*}"; hostport="${hostport##*@}"
  export REDIS_HOST="${hostport%%:*}"
  export REDIS_PORT="${hostport##*:}"; [ "$REDIS_PORT" = "$REDIS_HOST" ] && REDIS_PORT=6379
  endpoints=bot/endpoints.redis.yml
fi

pids=()
stop() {
  trap - INT TERM EXIT
  echo; echo "stopping ..."
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "stopped."
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

for port in 5055 5005 "$API_PORT"; do
  if (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; then
    echo "error: port $port is already in use; stop whatever listens there (another 'make run'?)" >&2
    exit 1
  fi
done

.venv-bot/bin/rasa run actions --actions actions -p 5055 > var/log/actions.log 2>&1 &
pids+=($!)
.venv-bot/bin/rasa run --model models/kefu.tar.gz --endpoints "$endpoints" --credentials bot/credentials.yml \
  --enable-api --auth-token "$RASA_API_TOKEN" -i 127.0.0.1 -p 5005 > var/log/rasa.log 2>&1 &
pids+=($!)
.venv/bin/uvicorn api.main:app --host "$API_HOST" --port "$API_PORT" > var/log/api.log 2>&1 &
pids+=($!)
# Work-order time limits and audit checkpoints (safe to run in several copies).
.venv/bin/python -m backend.scheduler > var/log/scheduler.log 2>&1 &
pids+=($!)

wait_for() { # name url log seconds
  local name=$1 url=$2 log=$3 limit=$4 t=0
  until curl -fs -o /dev/null "$url"; do
    sleep 1; t=$((t + 1))
    for pid in "${pids[@]}"; do
      kill -0 "$pid" 2>/dev/null || { echo "error: a process exited early; last lines of $log:" >&2; tail -20 "$log" >&2; exit 1; }
    done
    if [ "$t" -ge "$limit" ]; then echo "error: $name not healthy after ${limit}s, see $log" >&2; exit 1; fi
  done
  echo "  $name is up ($url)"
}
echo "starting (logs in var/log/) ..."
wait_for "action server" http://127.0.0.1:5055/health var/log/actions.log 120
wait_for "Rasa" http://127.0.0.1:5005/ var/log/rasa.log 240
wait_for "api" "http://127.0.0.1:$API_PORT/healthz" var/log/api.log 60

cat <<MSG

Everything is running. Press Ctrl-C to stop.
  Web chat            http://127.0.0.1:$API_PORT/
  Agent console       http://127.0.0.1:$API_PORT/agent   (demo logins in README.md)
  API docs (OpenAPI)  http://127.0.0.1:$API_PORT/docs
  Health              http://127.0.0.1:$API_PORT/healthz
  WeChat endpoint     http://127.0.0.1:$API_PORT/wechat   (token: \$WECHAT_TOKEN, default dev-wechat-token)
  Rasa (loopback)     http://127.0.0.1:5005   action server http://127.0.0.1:5055
  Try it:             .venv/bin/python scripts/wechat_say.py "户号3100000001 尾号1234 查余额"
MSG
wait -n "${pids[@]}" || true
echo "a process stopped unexpectedly; see var/log/" >&2
