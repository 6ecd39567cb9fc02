#!/usr/bin/env bash
# Scale-out: two `signpost gateway` processes behind nginx's round-robin in front of one upstream
# (CI: the 3-node Garage cluster), the stock PeerTube runner's code uploading 32 files at once
# through nginx, one gateway SIGKILLed half way.
#
#   GARAGE_NODES=3 tests/servers/garage.sh tests/scale/run.sh
#
# Needs SIGNPOST_TEST_ENDPOINT, SIGNPOST_TEST_BUCKET and the AWS_* credentials (garage.sh sets
# them), nginx (Debian nginx-light) and npm. Checks: every upload that went through the survivor
# ends ok at the runner and its object equals its file byte for byte; every upload that went
# through the killed gateway fails at the runner and stores nothing; both kinds happened; and
# within 90 s the survivor's sweep has aborted the killed gateway's multipart uploads (its
# journal, under .signpost-gateway/ in the bucket): ListMultipartUploads lists none.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
: "${SIGNPOST_TEST_ENDPOINT:?run under tests/servers/garage.sh (GARAGE_NODES=3 in CI)}"
UPSTREAM=$SIGNPOST_TEST_ENDPOINT
BUCKET=${SIGNPOST_TEST_BUCKET:-signpost-test}
export AWS_REGION=${AWS_REGION:-us-east-1} SIGNPOST_LOG=info
UPLOADS=32
SIZE=$((24 * 1048576))
command -v nginx >/dev/null || { echo "scale test: nginx is not installed (Debian nginx-light)" >&2; exit 1; }
(cd "$ROOT" && cargo build -q --release --locked -p signpost)
BIN=$ROOT/target/release/signpost

WORK=$(mktemp -d -t signpost-scale-XXXXXX)
PIDS=()
NGINX_PID=
cleanup() {
  # nginx's workers are its children: killed first, so none outlives the test holding the port.
  if [ -n "$NGINX_PID" ]; then pkill -KILL -P "$NGINX_PID" 2>/dev/null || true; fi
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() {
  echo "scale test: $*" >&2
  for f in gateway-a.log gateway-b.log nginx-error.log; do
    echo "--- $f" >&2; tail -n 15 "$WORK/$f" >&2 2>/dev/null || true
  done
  exit 1
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
metric() { # GATEWAY-URL NAME
  curl -sS "$1/metrics" 2>/dev/null | awk -v m="signpost_gateway_$2" '$1 == m { print $2 }'
}
until_true() { # SECONDS COMMAND...: polls every 0.1 s
  local end=$((SECONDS + $1)); shift
  while [ "$SECONDS" -lt "$end" ]; do "$@" && return 0; sleep 0.1; done
  "$@"
}
up() { curl -s -o /dev/null "$1/healthz"; }

. "$ROOT/tests/peertube/runner.sh"
runner_module "$WORK"

# Two gateways, their journal swept every 5 s (orphans after 10 s).
start_gateway() { # NAME: sets PORT and PID
  PORT=$(free_port)
  "$BIN" gateway --endpoint "$UPSTREAM" --addr "127.0.0.1:$PORT" --part-size 5MiB --max-size 1GiB \
    --orphan-after 10 --sweep-bucket "$BUCKET" > "$WORK/gateway-$1.log" 2>&1 &
  PID=$!
  PIDS+=($PID)
}
start_gateway a; A_PORT=$PORT A_PID=$PID
start_gateway b; B_PORT=$PORT
A=http://127.0.0.1:$A_PORT B=http://127.0.0.1:$B_PORT
until_true 30 up "$A" || fail "gateway a did not start"
until_true 30 up "$B" || fail "gateway b did not start"

# nginx round-robin in front of them: bodies streamed, never retried on the other gateway.
NGX_PORT=$(free_port)
LB=http://127.0.0.1:$NGX_PORT
mkdir -p "$WORK/nginx"
cat > "$WORK/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx-error.log warn;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi;
  scgi_temp_path $WORK/nginx/scgi;
  upstream gateways {
    server 127.0.0.1:$A_PORT max_fails=0;
    server 127.0.0.1:$B_PORT max_fails=0;
  }
  server {
    listen 127.0.0.1:$NGX_PORT;
    client_max_body_size 0;
    proxy_request_buffering off;
    proxy_http_version 1.1;
    proxy_read_timeout 300s;
    proxy_next_upstream off;
    location / {
      proxy_pass http://gateways;
      proxy_set_header Host \$http_host;
    }
  }
}
EOF
nginx -e "$WORK/nginx-error.log" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" &
NGINX_PID=$!
PIDS+=($NGINX_PID)
until_true 30 up "$LB" || fail "nginx did not start"

# 32 runner jobs signed for nginx's address, all at once.
PREFIX="scale/$(date +%s%N)"
for i in $(seq 0 $((UPLOADS - 1))); do head -c $((SIZE + i * 4099)) /dev/urandom > "$WORK/f$i.mp4"; done
python3 - "$WORK/jobs.json" <<PY
import json, sys, subprocess
def signed(key):
    out = subprocess.run(["$BIN", "presign", "put", "--endpoint", "$LB", "--bucket", "$BUCKET", "--key", key],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)["url"]
json.dump([[{"name": str(i), "url": signed(f"$PREFIX/{i}.mp4"), "method": "PUT",
             "file": f"$WORK/f{i}.mp4", "expect": "any"} for i in range($UPLOADS)]],
          open(sys.argv[1], "w"))
PY
(cd "$ROOT/tests/peertube" && JOBS=$WORK/jobs.json node drive.mjs) > "$WORK/outcomes.json" &
DRIVER=$!
PIDS+=($DRIVER)

# Half way: gateway a has received half of what its share of the uploads holds.
half=$((UPLOADS / 2 * SIZE / 2))
a_half() { [ "$(metric "$A" received_bytes_total)" -ge "$half" ] 2>/dev/null; }
until_true 180 a_half || fail "gateway a did not receive $half bytes within 180 s"
kill -9 "$A_PID"
wait "$A_PID" 2>/dev/null || true
echo "scale test: gateway a killed after $(metric "$B" received_bytes_total) bytes through b"
wait "$DRIVER" || fail "the driver failed: $(cat "$WORK/outcomes.json")"

# Every upload through b ended ok and is stored whole; every other one failed and stored nothing.
python3 - "$WORK/outcomes.json" "$WORK/gateway-b.log" "$PREFIX" > "$WORK/verdicts" <<'PY' || fail "outcomes: $(cat "$WORK/outcomes.json")"
import json, re, sys
outcomes = {o["name"]: o for o in json.load(open(sys.argv[1]))}
stored_by_b = set(re.findall(r"path=/[^/ ]+/" + re.escape(sys.argv[3]) + r"/(\d+)\.mp4 status=204", open(sys.argv[2]).read()))
ok = {n for n, o in outcomes.items() if o["outcome"] == "ok"}
if ok != stored_by_b:
    sys.exit(f"ok at the runner: {sorted(ok)}; stored through b: {sorted(stored_by_b)}")
if not ok or len(ok) == len(outcomes):
    sys.exit(f"{len(ok)} of {len(outcomes)} ok: the kill did not split the uploads")
for n in sorted(outcomes, key=int):
    print(n, outcomes[n]["outcome"])
PY
oks=0 fails=0
while read -r n outcome; do
  url=$("$BIN" presign get --endpoint "$UPSTREAM" --bucket "$BUCKET" --key "$PREFIX/$n.mp4")
  if [ "$outcome" = ok ]; then
    got=$(curl -sS -f "$url" | sha256sum | cut -d' ' -f1) || fail "$n was not stored"
    [ "$got" = "$(sha256sum < "$WORK/f$n.mp4" | cut -d' ' -f1)" ] || fail "$n differs from its file"
    oks=$((oks + 1))
  else
    code=$(curl -s -o /dev/null -w '%{http_code}' "$url")
    [ "$code" = 404 ] || fail "$n failed at the runner but exists (HTTP $code)"
    fails=$((fails + 1))
  fi
done < "$WORK/verdicts"
echo "scale test: $oks uploads through b stored byte-identical, $fails through a failed at the runner and stored nothing"

# The survivor's sweep aborts what a left: nothing listed within 90 s.
LIST=$("$BIN" presign list-uploads --endpoint "$UPSTREAM" --bucket "$BUCKET")
none_left() { # a listing, and no upload in it
  local l; l=$(curl -sS -f "$LIST") || return 1
  case "$l" in *"<ListMultipartUploadsResult"*) ;; *) return 1;; esac
  case "$l" in *"<UploadId>"*) return 1;; esac
}
start=$SECONDS
until_true 90 none_left || fail "multipart uploads are still listed 90 s after the kill: $(curl -sS "$LIST")"
aborted=$(metric "$B" orphans_aborted_total)
[ "${aborted:-0}" -ge 1 ] || fail "gateway b aborted no orphan (orphans_aborted_total ${aborted:-none})"
echo "scale test: gateway b aborted $aborted multipart uploads gateway a left, none listed after $((SECONDS - start)) s"
echo "scale test: PASS"
