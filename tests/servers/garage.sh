#!/usr/bin/env bash
# Runs a command against a throwaway single-node Garage (a second, independent S3 server).
#
#   tests/servers/garage.sh COMMAND [ARGS...]
#
# Installs Garage 2.5.0 from crates.io when that version is not on PATH (about 11 minutes on
# 2 cores; an installed binary of that version is reused), writes a config in a temporary
# directory (sqlite, replication factor 1, free 127.0.0.1 ports, region us-east-1, a random
# rpc_secret), starts `garage server`, applies a one-node layout, creates a bucket, imports a
# random key allowed on it, then runs COMMAND with SIGNPOST_TEST_ENDPOINT, SIGNPOST_TEST_BUCKET,
# AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION set. Garage is
# stopped (by its PID) and its directory removed when the script exits, whatever happens.
# Garage is AGPL: it runs here as a separate test process only, never linked.
set -euo pipefail
GARAGE_VERSION=2.5.0
[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARGS...]" >&2; exit 2; }

if ! command -v garage >/dev/null || ! garage --version 2>/dev/null | grep -q "v\?$GARAGE_VERSION"; then
  echo "garage.sh: installing garage $GARAGE_VERSION from crates.io (about 11 minutes)" >&2
  cargo install garage --version "$GARAGE_VERSION" --locked --quiet
  export PATH="$HOME/.cargo/bin:$PATH"
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
hex() { python3 -c "import secrets,sys; print(secrets.token_hex(int(sys.argv[1])))" "$1"; }

DIR=$(mktemp -d -t signpost-garage-XXXXXX)
PID=
cleanup() {
  if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  rm -rf "$DIR"
}
trap cleanup EXIT

RPC_PORT=$(free_port)
S3_PORT=$(free_port)
cat > "$DIR/garage.toml" <<TOML
metadata_dir = "$DIR/meta"
data_dir = "$DIR/data"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:$RPC_PORT"
rpc_public_addr = "127.0.0.1:$RPC_PORT"
rpc_secret = "$(hex 32)"

[s3_api]
s3_region = "us-east-1"
api_bind_addr = "127.0.0.1:$S3_PORT"
TOML
G() { garage -c "$DIR/garage.toml" "$@"; }

G server > "$DIR/server.log" 2>&1 &
PID=$!
for i in $(seq 100); do
  if G status >/dev/null 2>&1; then break; fi
  kill -0 "$PID" 2>/dev/null || { cat "$DIR/server.log" >&2; echo "garage.sh: garage server exited" >&2; exit 1; }
  [ "$i" -lt 100 ] || { cat "$DIR/server.log" >&2; echo "garage.sh: garage server did not start" >&2; exit 1; }
  sleep 0.2
done

NODE=$(G node id -q 2>/dev/null | cut -d@ -f1)
G layout assign -z dc1 -c 1G "$NODE" >/dev/null
G layout apply --version 1 >/dev/null
BUCKET=signpost-test
KEY_ID="GK$(hex 12)"
SECRET=$(hex 32)
G bucket create "$BUCKET" >/dev/null
G key import --yes -n signpost "$KEY_ID" "$SECRET" >/dev/null
G bucket allow --read --write --owner "$BUCKET" --key "$KEY_ID" >/dev/null

export SIGNPOST_TEST_ENDPOINT="http://127.0.0.1:$S3_PORT" SIGNPOST_TEST_BUCKET="$BUCKET" SIGNPOST_TEST_SERVER=garage
export AWS_ENDPOINT_URL="$SIGNPOST_TEST_ENDPOINT" AWS_ACCESS_KEY_ID="$KEY_ID" AWS_SECRET_ACCESS_KEY="$SECRET" AWS_REGION=us-east-1
# Garage needs a moment after the layout change before buckets answer.
for i in $(seq 50); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "$SIGNPOST_TEST_ENDPOINT/$BUCKET" || true)
  [ "$code" = 403 ] || [ "$code" = 200 ] && break
  sleep 0.2
done
echo "garage.sh: garage $GARAGE_VERSION at $SIGNPOST_TEST_ENDPOINT (bucket $BUCKET)" >&2
"$@"
