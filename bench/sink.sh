#!/usr/bin/env bash
# Upload speed without a server's disk in the way: `signpost upload` (PUT) and `curl -T` send the
# same file to the same presigned URL on a loopback HTTP sink (bench/src/bin/sink.rs reads each
# body and throws it away), alternating, in one run. signpost checks integrity both ways it can:
# MD5 while sending (one read of the file; the default above 64 MiB) and MD5 first (a read to
# hash, then Content-MD5 with the body); curl is run as is and with the same check done the
# only way it can be (`openssl md5` first, then `-H Content-MD5`). Reports the median wall time
# of each, the ratios, and signpost's peak RSS (GNU time).
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
sw=(); sf=(); cu=(); cm=(); rss=0
for _ in $(seq "$ROUNDS"); do
  /usr/bin/time -f '%e %M' -o "$WORK/t" "$BIN" upload --no-progress --put-digest while-sending --job "$WORK/put.json" "$WORK/file.bin" >/dev/null
  read -r t m < "$WORK/t"; sw+=("$t"); (( m > rss )) && rss=$m
  /usr/bin/time -f '%e %M' -o "$WORK/t" "$BIN" upload --no-progress --put-digest first --job "$WORK/put.json" "$WORK/file.bin" >/dev/null
  read -r t m < "$WORK/t"; sf+=("$t"); (( m > rss )) && rss=$m
  /usr/bin/time -f '%e %M' -o "$WORK/t" curl -sS -f -o /dev/null -T "$WORK/file.bin" "$URL"
  read -r t m < "$WORK/t"; cu+=("$t")
  /usr/bin/time -f '%e %M' -o "$WORK/t" sh -c 'curl -sS -f -o /dev/null -H "Content-MD5: $(openssl md5 -binary "$1" | base64)" -T "$1" "$2"' _ "$WORK/file.bin" "$URL"
  read -r t m < "$WORK/t"; cm+=("$t")
done
W=$(median "${sw[@]}"); F=$(median "${sf[@]}"); C=$(median "${cu[@]}"); M=$(median "${cm[@]}")
echo "size: $SIZE bytes, rounds: $ROUNDS (median), server: loopback sink (bench/src/bin/sink.rs)"
printf '%-44s %8s %10s %12s\n' "uploader" "seconds" "MB/s" "peak RSS"
row() { printf '%-44s %8.2f %10.1f %12s\n' "$1" "$2" "$(python3 -c "print($SIZE/$2/1e6)")" "$3"; }
row "curl -T (no integrity check)" "$C" "-"
row "openssl md5, then curl -T -H Content-MD5" "$M" "-"
row "signpost upload (MD5 while sending)" "$W" "$rss KiB"
row "signpost upload (MD5 first, Content-MD5)" "$F" "$rss KiB"
python3 -c "import sys; w,f,c,m=map(float,sys.argv[1:]); print('signpost (while sending) / curl: %.2f; / curl with Content-MD5: %.2f; signpost (first) / curl with Content-MD5: %.2f' % (w/c, w/m, f/m))" "$W" "$F" "$C" "$M"
