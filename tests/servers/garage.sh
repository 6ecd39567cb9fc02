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
#
# GARAGE_NODES=3 starts a cluster instead: three nodes on loopback, connected, one zone each,
# replication factor 3 (a write needs 2 of 3 nodes). The endpoint is node 1's; the PIDs of the
# other nodes are exported as SIGNPOST_TEST_GARAGE_PEERS (space-separated) so a test can kill one
# while an upload is in flight.
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

NODES=${GARAGE_NODES:-1}
DIR=$(mktemp -d -t signpost-garage-XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$DIR"
}
trap cleanup EXIT

SECRET_RPC=$(hex 32)
S3_PORTS=()
RPC_PORTS=()
for n in $(seq "$NODES"); do
  RPC_PORTS+=("$(free_port)")
  S3_PORTS+=("$(free_port)")
  mkdir -p "$DIR/n$n"
  cat > "$DIR/n$n/garage.toml" <<TOML
metadata_dir = "$DIR/n$n/meta"
data_dir = "$DIR/n$n/data"
db_engine = "sqlite"
replication_factor = $NODES
rpc_bind_addr = "127.0.0.1:${RPC_PORTS[$((n-1))]}"
rpc_public_addr = "127.0.0.1:${RPC_PORTS[$((n-1))]}"
rpc_secret = "$SECRET_RPC"

[s3_api]
s3_region = "us-east-1"
api_bind_addr = "127.0.0.1:${S3_PORTS[$((n-1))]}"
TOML
done
GN() { local n=$1; shift; garage -c "$DIR/n$n/garage.toml" "$@"; }
G() { GN 1 "$@"; }

for n in $(seq "$NODES"); do
  # Started directly (not through GN, whose subshell would be the PID recorded): the PID is
  # garage's own, the one cleanup stops and a test may SIGKILL.
  garage -c "$DIR/n$n/garage.toml" server > "$DIR/n$n/server.log" 2>&1 &
  PIDS+=($!)
done
for n in $(seq "$NODES"); do
  for i in $(seq 100); do
    if GN "$n" status >/dev/null 2>&1; then break; fi
    kill -0 "${PIDS[$((n-1))]}" 2>/dev/null || { cat "$DIR/n$n/server.log" >&2; echo "garage.sh: garage node $n exited" >&2; exit 1; }
    [ "$i" -lt 100 ] || { cat "$DIR/n$n/server.log" >&2; echo "garage.sh: garage node $n did not start" >&2; exit 1; }
    sleep 0.2
  done
done

IDS=()
for n in $(seq "$NODES"); do
  IDS+=("$(GN "$n" node id -q 2>/dev/null | cut -d@ -f1)")
done
for n in $(seq 2 "$NODES"); do
  G node connect "${IDS[$((n-1))]}@127.0.0.1:${RPC_PORTS[$((n-1))]}" >/dev/null
done
for n in $(seq "$NODES"); do
  G layout assign -z "dc$n" -c 1G "${IDS[$((n-1))]}" >/dev/null
done
G layout apply --version 1 >/dev/null
S3_PORT=${S3_PORTS[0]}
BUCKET=signpost-test
KEY_ID="GK$(hex 12)"
SECRET=$(hex 32)
G bucket create "$BUCKET" >/dev/null
G key import --yes -n signpost "$KEY_ID" "$SECRET" >/dev/null
G bucket allow --read --write --owner "$BUCKET" --key "$KEY_ID" >/dev/null

export SIGNPOST_TEST_ENDPOINT="http://127.0.0.1:$S3_PORT" SIGNPOST_TEST_BUCKET="$BUCKET" SIGNPOST_TEST_SERVER=garage
if [ "$NODES" -gt 1 ]; then
  export SIGNPOST_TEST_SERVER=garage-cluster SIGNPOST_TEST_GARAGE_PEERS="${PIDS[*]:1}"
fi
export AWS_ENDPOINT_URL="$SIGNPOST_TEST_ENDPOINT" AWS_ACCESS_KEY_ID="$KEY_ID" AWS_SECRET_ACCESS_KEY="$SECRET" AWS_REGION=us-east-1
# Garage needs a moment after the layout change before buckets answer.
for i in $(seq 50); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "$SIGNPOST_TEST_ENDPOINT/$BUCKET" || true)
  [ "$code" = 403 ] || [ "$code" = 200 ] && break
  sleep 0.2
done
echo "garage.sh: garage $GARAGE_VERSION, $NODES node(s), at $SIGNPOST_TEST_ENDPOINT (bucket $BUCKET)" >&2
"$@"
