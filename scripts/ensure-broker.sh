#!/usr/bin/env bash
# Make sure a RabbitMQ answers at AMQP_URI: use it if it answers; else start the local
# rabbitmq-server; else install it with apt-get when root; else say how to get one.
set -euo pipefail
BIN=${BIN:-.venv/bin}
uri=${AMQP_URI:-amqp://guest:guest@localhost:5672/}
host=$("$BIN/python" -c 'import sys, urllib.parse; print(urllib.parse.urlsplit(sys.argv[1]).hostname or "localhost")' "$uri")

answers() { "$BIN/civicflow" broker-check >/dev/null 2>&1; }

enable_plugins() {
  # The management API gives tests a fresh vhost in milliseconds and operators a UI.
  if command -v rabbitmq-plugins >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    rabbitmq-plugins enable --quiet rabbitmq_management >/dev/null 2>&1 || true
  fi
}

give_up() {
  cat >&2 <<MSG
No RabbitMQ answers at ${uri%%@*}@… and none can be started here.
Start one with Docker:   docker compose -f deploy/docker-compose.yml up rabbitmq
or point AMQP_URI at a running broker (RabbitMQ >= 3.10 for quorum queues).
MSG
  exit 1
}

if answers; then
  case "$host" in localhost|127.0.0.1|::1) enable_plugins ;; esac
  exit 0
fi
case "$host" in localhost|127.0.0.1|::1) ;; *) give_up ;; esac

if ! command -v rabbitmq-server >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing rabbitmq-server with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server >/dev/null
  else
    give_up
  fi
fi

echo "==> starting rabbitmq-server"
rabbitmq-server -detached >/dev/null 2>&1 || true
for _ in $(seq 1 90); do
  if answers; then enable_plugins; echo "==> RabbitMQ is up"; exit 0; fi
  sleep 1
done
echo "rabbitmq-server was started but does not answer after 90 s; see /var/log/rabbitmq/" >&2
exit 1
