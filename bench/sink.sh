#!/usr/bin/env bash
# Upload speed without a server's disk in the way: `signpost upload` (PUT) and `curl -T` send the
# same file to the same presigned URL on a loopback HTTP sink (bench/src/bin/sink.rs reads each
# body and throws it away), alternating, in one run. Reports the median wall time of each, the
# ratio, and signpost's peak RSS (GNU time).
#
#   bench/sink.sh [SIZE_BYTES] [ROUNDS]      default: 1 GiB, 5 rounds
set -euo pipefail
SIZE=${1:-1073741824}
ROUNDS=${2:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
cargo build --release -q -p signpost -p signpost-bench --bin signpost --bin sink
BIN=$ROOT/target/release/signpost
WORK=$(mktemp -d)
SINK=
trap '[ -n "$SINK" ] && kill $SINK 2>/dev/null; rm -rf "$WORK"' EXIT
"$ROOT/target/release/sink" 127.0.0.1:0 > "$WORK/sink.addr" &
SINK=$!
for _ in $(seq 50); do [ -s "$WORK/sink.addr" ] && break; sleep 0.1; done
ENDPOINT=$(head -1 "$WORK/sink.addr")
head -c "$SIZE" /dev/urandom > "$WORK/file.bin"
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench-secret-key AWS_REGION=us-east-1
export AWS_ENDPOINT_URL=$ENDPOINT SIGNPOST_LOG=off
"$BIN" presign put --bucket bench --key file.bin > "$WORK/put.json"
URL=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$WORK/put.json")

median() { python3 -c "import sys,statistics; print(statistics.median(map(float,sys.argv[1:])))" "$@"; }
sp=(); cu=(); rss=0
for _ in $(seq "$ROUNDS"); do
  /usr/bin/time -f '%e %M' -o "$WORK/t" "$BIN" upload --no-progress --job "$WORK/put.json" "$WORK/file.bin" >/dev/null
  read -r t m < "$WORK/t"; sp+=("$t"); (( m > rss )) && rss=$m
  /usr/bin/time -f '%e %M' -o "$WORK/t" curl -sS -f -o /dev/null -T "$WORK/file.bin" "$URL"
  read -r t m < "$WORK/t"; cu+=("$t")
done
S=$(median "${sp[@]}"); C=$(median "${cu[@]}")
echo "size: $SIZE bytes, rounds: $ROUNDS (median), server: loopback sink (bench/src/bin/sink.rs)"
printf '%-24s %8s %10s %12s\n' "uploader" "seconds" "MB/s" "peak RSS"
printf '%-24s %8.2f %10.1f %12s\n' "curl -T (PUT)" "$C" "$(python3 -c "print($SIZE/$C/1e6)")" "-"
printf '%-24s %8.2f %10.1f %8s KiB\n' "signpost upload (PUT)" "$S" "$(python3 -c "print($SIZE/$S/1e6)")" "$rss"
python3 -c "import sys; s,c=map(float,sys.argv[1:]); print('signpost wall time / curl: %.2f' % (s/c))" "$S" "$C"
