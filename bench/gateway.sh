#!/usr/bin/env bash
# Upload throughput through `signpost gateway` against straight to the upstream, in one run:
#   signpost upload (PUT) straight to the upstream S3
#   signpost upload (PUT) through the gateway (raw body)
#   curl -X PUT -F file=@FILE through the gateway (the stock PeerTube runner's shape)
# and the gateway's peak RSS (VmHWM). Median of ROUNDS. Needs an upstream:
#
#   tests/servers/garage.sh bench/gateway.sh [SIZE_BYTES] [ROUNDS]      default: 1 GiB, 3 rounds
set -euo pipefail
SIZE=${1:-1073741824}
ROUNDS=${2:-3}
: "${SIGNPOST_TEST_ENDPOINT:?run under tests/servers/garage.sh (or set SIGNPOST_TEST_ENDPOINT and AWS_*)}"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
cargo build --release -q --locked -p signpost
BIN=$ROOT/target/release/signpost
BUCKET=${SIGNPOST_TEST_BUCKET:-signpost-test}
WORK=$(mktemp -d)
GW=
trap '[ -n "$GW" ] && kill $GW 2>/dev/null; rm -rf "$WORK"' EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
GATEWAY=http://127.0.0.1:$PORT
export SIGNPOST_LOG=warn
"$BIN" gateway --endpoint "$SIGNPOST_TEST_ENDPOINT" --addr "127.0.0.1:$PORT" --part-size 16MiB > "$WORK/gw.log" 2>&1 &
GW=$!
for _ in $(seq 50); do curl -s -o /dev/null "$GATEWAY/" && break; sleep 0.1; done
head -c "$SIZE" /dev/urandom > "$WORK/file.bin"
median() { python3 -c "import sys,statistics; print(statistics.median(map(float,sys.argv[1:])))" "$@"; }
url() { python3 -c 'import json,sys; print(json.load(sys.stdin)["url"])'; }
direct=(); via=(); runner=()
for r in $(seq "$ROUNDS"); do
  "$BIN" presign put --endpoint "$SIGNPOST_TEST_ENDPOINT" --bucket "$BUCKET" --key "bench/direct-$r.bin" > "$WORK/d.json"
  s=$(date +%s.%N); "$BIN" upload --no-progress --job "$WORK/d.json" "$WORK/file.bin" >/dev/null; e=$(date +%s.%N)
  direct+=("$(python3 -c "print($e-$s)")")
  "$BIN" presign put --endpoint "$GATEWAY" --bucket "$BUCKET" --key "bench/via-$r.bin" > "$WORK/g.json"
  s=$(date +%s.%N); "$BIN" upload --no-progress --job "$WORK/g.json" "$WORK/file.bin" >/dev/null; e=$(date +%s.%N)
  via+=("$(python3 -c "print($e-$s)")")
  U=$("$BIN" presign put --endpoint "$GATEWAY" --bucket "$BUCKET" --key "bench/runner-$r.bin" | url)
  s=$(date +%s.%N); code=$(curl -sS -o /dev/null -w '%{http_code}' -X PUT -F "file=@$WORK/file.bin" "$U"); e=$(date +%s.%N)
  [ "$code" = 204 ] || { echo "runner-shaped upload got HTTP $code" >&2; exit 1; }
  runner+=("$(python3 -c "print($e-$s)")")
done
rss=$(awk '/VmHWM/ {print $2}' "/proc/$GW/status")
D=$(median "${direct[@]}"); V=$(median "${via[@]}"); R=$(median "${runner[@]}")
echo "size: $SIZE bytes, rounds: $ROUNDS (median), upstream: $SIGNPOST_TEST_ENDPOINT, gateway parts: 16 MiB"
printf '%-46s %8s %10s\n' "upload" "seconds" "MB/s"
printf '%-46s %8.2f %10.1f\n' "signpost upload (PUT) straight to upstream" "$D" "$(python3 -c "print($SIZE/$D/1e6)")"
printf '%-46s %8.2f %10.1f\n' "signpost upload (PUT) through the gateway" "$V" "$(python3 -c "print($SIZE/$V/1e6)")"
printf '%-46s %8.2f %10.1f\n' "curl -F file=@ (runner shape) through gateway" "$R" "$(python3 -c "print($SIZE/$R/1e6)")"
python3 -c "import sys; d,v,r=map(float,sys.argv[1:]); print('throughput through the gateway / straight: %.2f (raw PUT), %.2f (runner shape)' % (d/v, d/r))" "$D" "$V" "$R"
echo "gateway peak RSS: $((rss / 1024)) MiB"
