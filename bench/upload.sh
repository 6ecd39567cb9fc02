#!/usr/bin/env bash
# Upload throughput and memory, side by side in one run:
#   signpost upload (PUT)        vs  curl -T to the same presigned URL
#   signpost upload (multipart)  at concurrency 4
# against the embedded S3 server (`signpost serve`, a separate process), on loopback.
# Reports MB/s (10^6 bytes/s), the ratio to curl, and the uploader's peak RSS (GNU time).
#
#   bench/upload.sh [SIZE_BYTES] [ROUNDS]      default: 2 GiB, 3 rounds
set -euo pipefail
SIZE=${1:-2147483648}
ROUNDS=${2:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
cargo build --release -q -p signpost
BIN=$ROOT/target/release/signpost
WORK=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench-secret-key AWS_REGION=us-east-1
export AWS_ENDPOINT_URL=http://127.0.0.1:$PORT SIGNPOST_LOG=off
"$BIN" serve --addr 127.0.0.1:$PORT --data "$WORK/data" --bucket bench >"$WORK/serve.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.1; done
head -c "$SIZE" /dev/urandom > "$WORK/file.bin"

secs() { python3 -c "import sys; print(float(sys.argv[1]))" "$1"; }
mbps() { python3 -c "import sys; print('%.1f' % ($SIZE/float(sys.argv[1])/1e6))" "$1"; }
median() { python3 -c "import sys,statistics; print(statistics.median(map(float,sys.argv[1:])))" "$@"; }

sp=(); cu=(); mp=(); rss_put=0; rss_mp=0
for r in $(seq "$ROUNDS"); do
  "$BIN" presign put --bucket bench --key "put-$r.bin" > "$WORK/put.json"
  /usr/bin/time -f '%e %M' -o "$WORK/t" "$BIN" upload --no-progress --job "$WORK/put.json" "$WORK/file.bin" >/dev/null
  read -r t m < "$WORK/t"; sp+=("$t"); (( m > rss_put )) && rss_put=$m

  URL=$("$BIN" presign put --bucket bench --key "curl-$r.bin" | python3 -c 'import json,sys; print(json.load(sys.stdin)["url"])')
  /usr/bin/time -f '%e %M' -o "$WORK/t" curl -sS -f -o /dev/null -T "$WORK/file.bin" "$URL"
  read -r t m < "$WORK/t"; cu+=("$t")

  "$BIN" presign multipart --bucket bench --key "mp-$r.bin" --part-size 64MiB --max-size "$SIZE" > "$WORK/mp.json"
  /usr/bin/time -f '%e %M' -o "$WORK/t" "$BIN" upload --no-progress --concurrency 4 --job "$WORK/mp.json" "$WORK/file.bin" >/dev/null
  read -r t m < "$WORK/t"; mp+=("$t"); (( m > rss_mp )) && rss_mp=$m
  rm -rf "$WORK/data/bench/"*
done
S=$(median "${sp[@]}"); C=$(median "${cu[@]}"); M=$(median "${mp[@]}")
echo "size: $SIZE bytes, rounds: $ROUNDS (median), server: signpost serve (s3s-fs) on loopback"
printf '%-34s %8s %10s %12s\n' "uploader" "seconds" "MB/s" "peak RSS"
printf '%-34s %8.2f %10s %9s KiB\n' "curl -T (PUT)" "$C" "$(mbps "$C")" "-"
printf '%-34s %8.2f %10s %9s KiB\n' "signpost upload (PUT)" "$S" "$(mbps "$S")" "$rss_put"
printf '%-34s %8.2f %10s %9s KiB\n' "signpost upload (multipart, c=4)" "$M" "$(mbps "$M")" "$rss_mp"
python3 -c "import sys; c,s=map(float,sys.argv[1:]); print('signpost PUT throughput / curl: %.2f' % (c/s))" "$C" "$S"

# The main job at 1 GiB, same machine, same run: presign, upload, GET back, SHA-256 compare.
echo
echo "signpost roundtrip --size 1GiB --mode put (embedded server in-process):"
env -u AWS_ENDPOINT_URL "$BIN" roundtrip --size 1GiB --mode put | sed -n '2,3p'
