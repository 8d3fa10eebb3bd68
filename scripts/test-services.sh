#!/usr/bin/env bash
# The services the tests talk to over loopback: PostgreSQL on 127.0.0.1:5432 (trust auth;
# the tests create and drop databases named baken_test_*) and NATS with JetStream on
# 127.0.0.1:4222. Starts them where the machine has them installed but not running; fails,
# saying which, when one cannot be reached.
set -euo pipefail

up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() { # PORT NAME
    for _ in $(seq 1 30); do
        up "$1" && return 0
        sleep 1
    done
    echo "test-services: $2 is not reachable on 127.0.0.1:$1" >&2
    return 1
}

if ! up 5432; then
    echo "test-services: starting PostgreSQL" >&2
    if command -v service >/dev/null && [ -x /etc/init.d/postgresql ]; then
        service postgresql start >&2 || true
    fi
fi
wait_for 5432 PostgreSQL

if ! up 4222; then
    echo "test-services: starting NATS with JetStream" >&2
    if command -v nats-server >/dev/null; then
        mkdir -p /tmp/baken-nats
        nohup nats-server -a 127.0.0.1 -p 4222 -js -sd /tmp/baken-nats >/tmp/baken-nats/log 2>&1 &
    fi
fi
wait_for 4222 "NATS (JetStream)"
