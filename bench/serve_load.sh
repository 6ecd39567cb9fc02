#!/usr/bin/env bash
# `signpost serve` under many runners: N concurrent `signpost upload` processes (PUT, POST and
# multipart in turn), each sending its own file of SIZE bytes. Every object is read back with a
# presigned GET and compared by SHA-256; the data directory must then hold exactly the N objects
# (nothing half-written). Reports aggregate MB/s and the server's peak RSS (VmHWM).
#
#   bench/serve_load.sh [UPLOADS] [SIZE_BYTES]      default: 32 uploads of 32 MiB
set -euo pipefail
N=${1:-32}
SIZE=${2:-33554432}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
cargo build --release -q -p signpost
BIN=$ROOT/target/release/signpost
WORK=$(mktemp -d)
SERVER=
trap '[ -n "$SERVER" ] && kill $SERVER 2>/dev/null; rm -rf "$WORK"; true' EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export AWS_ACCESS_KEY_ID=load AWS_SECRET_ACCESS_KEY=load-secret-key AWS_REGION=us-east-1
export AWS_ENDPOINT_URL=http://127.0.0.1:$PORT SIGNPOST_LOG=error
"$BIN" serve --addr "127.0.0.1:$PORT" --data "$WORK/data" --bucket load >"$WORK/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.1; done

read -r -a modes <<< "${MODES:-put post multipart}"
for i in $(seq "$N"); do
  head -c "$SIZE" /dev/urandom > "$WORK/f$i.bin"
  mode=${modes[$(( (i - 1) % ${#modes[@]} ))]}
  case $mode in
    put) "$BIN" presign put --bucket load --key "obj/$i.bin" > "$WORK/j$i.json" ;;
    post) "$BIN" presign post --bucket load --key "obj/$i.bin" --max-size "$SIZE" > "$WORK/j$i.json" ;;
    multipart) "$BIN" presign multipart --bucket load --key "obj/$i.bin" --part-size 8MiB --max-size "$SIZE" > "$WORK/j$i.json" ;;
  esac
done

start=$(date +%s.%N)
pids=()
for i in $(seq "$N"); do
  "$BIN" upload --no-progress --json --job "$WORK/j$i.json" "$WORK/f$i.bin" > "$WORK/o$i.json" 2> "$WORK/e$i.txt" &
  pids+=($!)
done
failed=0
for i in "${!pids[@]}"; do
  if ! wait "${pids[$i]}"; then failed=$((failed + 1)); echo "upload $((i + 1)) failed: $(cat "$WORK/e$((i + 1)).txt")" >&2; fi
done
end=$(date +%s.%N)
rss=$(awk '/VmHWM/ {print $2}' "/proc/$SERVER/status")

mismatch=0
for i in $(seq "$N"); do
  url=$("$BIN" presign get --bucket load --key "obj/$i.bin")
  got=$(curl -sS -f "$url" | sha256sum | cut -d' ' -f1)
  want=$(sha256sum < "$WORK/f$i.bin" | cut -d' ' -f1)
  [ "$got" = "$want" ] || { mismatch=$((mismatch + 1)); echo "object $i differs" >&2; }
done
objects=$(find "$WORK/data/load" -type f | wc -l)
# s3s-fs keeps two metadata files per object beside the data; anything else is a leftover.
others=$(find "$WORK/data" -type f ! -path "$WORK/data/load/obj/*" ! -name '.bucket-*.metadata.json' ! -name '.bucket-*.internal.json' | wc -l)

python3 - "$N" "$SIZE" "$start" "$end" "$rss" "$failed" "$mismatch" "$objects" "$others" <<'PY'
import sys
n, size, start, end, rss, failed, mismatch, objects, others = sys.argv[1:]
n, size, failed, mismatch, objects, others = map(int, (n, size, failed, mismatch, objects, others))
secs = float(end) - float(start)
print(f"{n} concurrent uploads of {size} bytes (PUT, POST, multipart 8 MiB parts in turn) to signpost serve")
print(f"wall {secs:.2f} s, aggregate {n * size / secs / 1e6:.1f} MB/s, server peak RSS {int(rss) / 1024:.1f} MiB")
print(f"failed uploads: {failed}, objects differing from their file: {mismatch}")
print(f"objects in the bucket: {objects} (expected {n}); leftover files (temporary, part): {others}")
ok = failed == 0 and mismatch == 0 and objects == n and others == 0
print("PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
PY
