#!/usr/bin/env bash
# Makes sure a Redis answers on 127.0.0.1:6379 (or on REDIS_URL's host:port) for the larder/redis tests and
# benchmark. Exits 0 at once when one answers; otherwise installs redis-server with apt-get if it is missing,
# starts it daemonized (no persistence), and waits until it answers. Exits non-zero if it cannot.
set -euo pipefail

url="${REDIS_URL:-redis://127.0.0.1:6379}"
hostport="${url#*://}"
hostport="${hostport##*@}"
hostport="${hostport%%/*}"
host="${hostport%%:*}"
port="${hostport##*:}"
[ "$port" = "$hostport" ] && port=6379
[ -n "$host" ] || host=127.0.0.1

answers() {
  if command -v redis-cli >/dev/null 2>&1; then
    [ "$(redis-cli -h "$host" -p "$port" ping 2>/dev/null)" = "PONG" ]
  else
    # Plain RESP over bash's /dev/tcp when redis-cli is not installed.
    { exec 3<>"/dev/tcp/$host/$port"; } 2>/dev/null || return 1
    printf 'PING\r\n' >&3
    local reply=''
    IFS= read -r -t 2 reply <&3 || true
    exec 3<&- 3>&-
    [ "${reply%$'\r'}" = "+PONG" ]
  fi
}

if answers; then
  echo "ensure-redis: Redis answers on $host:$port"
  exit 0
fi

if [ "$host" != "127.0.0.1" ] && [ "$host" != "localhost" ]; then
  echo "ensure-redis: nothing answers on $host:$port, and it is not local, so it cannot be started here" >&2
  exit 1
fi

if ! command -v redis-server >/dev/null 2>&1; then
  echo "ensure-redis: installing redis-server with apt-get"
  sudo_cmd=''
  if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then sudo_cmd='sudo'; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq redis-server >/dev/null
fi

echo "ensure-redis: starting redis-server on $host:$port"
redis-server --port "$port" --bind 127.0.0.1 --daemonize yes --save '' --appendonly no \
  --logfile "${TMPDIR:-/tmp}/larder-redis-$port.log" --pidfile "${TMPDIR:-/tmp}/larder-redis-$port.pid"

for _ in $(seq 1 100); do
  if answers; then
    echo "ensure-redis: Redis answers on $host:$port"
    exit 0
  fi
  sleep 0.1
done
echo "ensure-redis: redis-server did not answer on $host:$port within 10 s (log: ${TMPDIR:-/tmp}/larder-redis-$port.log)" >&2
exit 1
