#!/usr/bin/env bash
# Small uploads at once, as PeerTube's live transcoding sends them (segments, playlists):
# N runner-shaped uploads (multipart/form-data, one part `file`, as the stock runner sends) of
# SIZE bytes through `signpost gateway` at the default limits, against the same uploads as raw
# PUTs straight to its upstream (`signpost serve`), in one run. Reports p50/p99 latency, how many
# were refused (SlowDown) and checks every object byte for byte.
#
#   bench/gateway_small.sh [N] [SIZE_BYTES]      default: 200 uploads of 64 KiB
set -euo pipefail
N=${1:-200}
SIZE=${2:-65536}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
cargo build --release -q --locked -p signpost
BIN=$ROOT/target/release/signpost
WORK=$(mktemp -d)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$WORK"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
export AWS_ACCESS_KEY_ID=benchkey AWS_SECRET_ACCESS_KEY=benchsecret-0123456789 AWS_REGION=us-east-1 SIGNPOST_LOG=warn
SP=$(free_port); GP=$(free_port)
UP=http://127.0.0.1:$SP; GW=http://127.0.0.1:$GP
"$BIN" serve --addr "127.0.0.1:$SP" --data "$WORK/data" --bucket small > "$WORK/serve.log" 2>&1 & PIDS+=($!)
for _ in $(seq 100); do curl -sf -o /dev/null "$UP/healthz" && break; sleep 0.1; done
"$BIN" gateway --endpoint "$UP" --addr "127.0.0.1:$GP" > "$WORK/gw.log" 2>&1 & PIDS+=($!)
GWPID=${PIDS[1]}
for _ in $(seq 100); do curl -sf -o /dev/null "$GW/healthz" && break; sleep 0.1; done
for i in $(seq "$N"); do
  "$BIN" presign put --endpoint "$UP" --bucket small --key "direct/$i.ts" | python3 -c 'import json,sys; print(json.load(sys.stdin)["url"])'
done > "$WORK/direct.urls"
for i in $(seq "$N"); do
  "$BIN" presign put --endpoint "$GW" --bucket small --key "via/$i.ts" | python3 -c 'import json,sys; print(json.load(sys.stdin)["url"])'
done > "$WORK/via.urls"
python3 - "$WORK" "$SIZE" <<'PY'
import http.client, os, statistics, sys, threading, time, urllib.parse
work, size = sys.argv[1], int(sys.argv[2])
def run(urls, runner_shape):
    bodies = [os.urandom(size) for _ in urls]
    barrier = threading.Barrier(len(urls))
    out = [None] * len(urls)
    def one(i):
        u = urllib.parse.urlsplit(urls[i])
        if runner_shape:
            b = b"----signpostbench"
            body = (b"--" + b + b'\r\nContent-Disposition: form-data; name="file"; filename="seg.ts"\r\n'
                    b"Content-Type: application/octet-stream\r\n\r\n" + bodies[i] + b"\r\n--" + b + b"--\r\n")
            headers = {"Content-Type": "multipart/form-data; boundary=" + b.decode(), "Accept": "application/json", "Connection": "close"}
        else:
            body, headers = bodies[i], {"Connection": "close"}
        barrier.wait()
        t = time.perf_counter()
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
        c.request("PUT", u.path + "?" + u.query, body=body, headers=headers)
        r = c.getresponse(); r.read(); c.close()
        out[i] = (r.status, time.perf_counter() - t)
    ts = [threading.Thread(target=one, args=(i,)) for i in range(len(urls))]
    for t in ts: t.start()
    for t in ts: t.join()
    return out, bodies
def report(name, res):
    lat = sorted(s for _, s in res)
    ok = sum(1 for st, _ in res if st in (200, 204))
    slow = sum(1 for st, _ in res if st == 503)
    p50 = statistics.median(lat); p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    print(f"{name:44} {ok:4} stored {slow:4} SlowDown  p50 {p50*1000:7.1f} ms  p99 {p99*1000:7.1f} ms")
    return p50, p99, ok
d_urls = open(f"{work}/direct.urls").read().split()
v_urls = open(f"{work}/via.urls").read().split()
d, dbodies = run(d_urls, False)
v, vbodies = run(v_urls, True)
print(f"{len(d_urls)} uploads of {size} bytes at once")
dp50, dp99, dok = report("raw PUT straight to signpost serve", d)
vp50, vp99, vok = report("runner-shaped form through signpost gateway", v)
print(f"through the gateway / straight: p50 {vp50/dp50:.2f}x, p99 {vp99/dp99:.2f}x")
bad = 0
for i, b in enumerate(vbodies):
    if open(f"{work}/data/small/via/{i+1}.ts", "rb").read() != b: bad += 1
for i, b in enumerate(dbodies):
    if open(f"{work}/data/small/direct/{i+1}.ts", "rb").read() != b: bad += 1
print(f"objects differing from their files: {bad}")
sys.exit(1 if bad or vok != len(v_urls) or dok != len(d_urls) else 0)
PY
echo "gateway peak RSS: $(( $(awk '/VmHWM/ {print $2}' "/proc/$GWPID/status") / 1024 )) MiB"
