#!/usr/bin/env bash
# The stock PeerTube runner uploads into S3 through `signpost gateway`, unmodified.
#
#   tests/peertube/run.sh          (upstream: SIGNPOST_TEST_ENDPOINT with the AWS_* credentials,
#                                   as tests/servers/garage.sh and ceph.sh set them; else a
#                                   `signpost serve` started here)
#
# The runner's upload code is RunnerJobsCommand.customUpload from npm @peertube/peertube-cli
# 1.0.3 (dist/peertube.js bundles PeerTube's server-commands). It is AGPL: it is fetched and cut
# out here, at test time, into a temporary directory, and never committed. drive.mjs calls it as
# a runner does, with descriptors `signpost presign put --endpoint GATEWAY` makes:
#   a file to a key with spaces, `+` and `~` (the runner rebuilds the query with
#   URLSearchParams), by PUT and by POST; eight runners at once; a 1 GiB file; a tampered and an
#   expired URL (the runner must fail, nothing stored); then a runner killed mid-upload (no
#   object, and no multipart upload left upstream).
# Every object is read back from the upstream and compared with its file.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIG=${PEERTUBE_BIG_BYTES:-1073741824}
(cd "$ROOT" && cargo build -q --release --locked -p signpost)
BIN=$ROOT/target/release/signpost

WORK=$(mktemp -d -t signpost-peertube-XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "peertube test: $*" >&2; tail -n 20 "$WORK/gateway.log" >&2 2>/dev/null || true; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The runner's code, cut out of the published bundle (runner.sh).
. "$HERE/runner.sh"
runner_module "$WORK"

# The upstream S3.
if [ -z "${SIGNPOST_TEST_ENDPOINT:-}" ]; then
  PORT=$(free_port)
  export AWS_ACCESS_KEY_ID=peertube AWS_SECRET_ACCESS_KEY=peertube-test-secret AWS_REGION=us-east-1
  export SIGNPOST_TEST_ENDPOINT=http://127.0.0.1:$PORT SIGNPOST_TEST_BUCKET=signpost-test
  "$BIN" serve --addr "127.0.0.1:$PORT" --data "$WORK/data" --bucket signpost-test > "$WORK/serve.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 50); do curl -s -o /dev/null "$SIGNPOST_TEST_ENDPOINT/" && break; sleep 0.1; done
fi
UPSTREAM=$SIGNPOST_TEST_ENDPOINT
BUCKET=${SIGNPOST_TEST_BUCKET:-signpost-test}
export AWS_REGION=${AWS_REGION:-us-east-1} SIGNPOST_LOG=info
"$BIN" presign list-uploads --endpoint "$UPSTREAM" --bucket "$BUCKET" >/dev/null

# The gateway, in front of it.
GW_PORT=$(free_port)
GATEWAY=http://127.0.0.1:$GW_PORT
"$BIN" gateway --endpoint "$UPSTREAM" --addr "127.0.0.1:$GW_PORT" --part-size 16MiB --max-uploads 16 > "$WORK/gateway.log" 2>&1 &
GW_PID=$!
PIDS+=($GW_PID)
for _ in $(seq 50); do curl -s -o /dev/null "$GATEWAY/" && break; sleep 0.1; done

PREFIX="peertube/$(date +%s%N)"
signed() { # KEY [PRESIGN ARGS...] -> a URL signed for the gateway
  local key=$1; shift
  "$BIN" presign put --endpoint "$GATEWAY" --bucket "$BUCKET" --key "$key" "$@" | python3 -c 'import json,sys; print(json.load(sys.stdin)["url"])'
}
mkfile() { head -c "$2" /dev/urandom > "$WORK/$1"; echo "$WORK/$1"; }

SMALL=$(mkfile small.mp4 300017)
K_PUT="$PREFIX/job 42/out put+1~x.mp4"
K_POST="$PREFIX/job 42/out post+1~x.mp4"
K_BAD="$PREFIX/refused.mp4"
K_BIG="$PREFIX/big.mp4"
BIGFILE=$(mkfile big.mp4 "$BIG")
TAMPERED=$(signed "$K_BAD"); TAMPERED="${TAMPERED%?}$( [ "${TAMPERED: -1}" = 0 ] && echo 1 || echo 0)"
EXPIRED=$(signed "$K_BAD" --expires 60 --at "$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)")
python3 - "$WORK/jobs.json" <<PY
import json, sys, subprocess
def signed(key):
    out = subprocess.run(["$BIN", "presign", "put", "--endpoint", "$GATEWAY", "--bucket", "$BUCKET", "--key", key],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)["url"]
groups = [
    [{"name": "put", "url": signed("$K_PUT"), "method": "PUT", "file": "$SMALL", "expect": "ok"}],
    [{"name": "post", "url": signed("$K_POST"), "method": "POST", "file": "$SMALL", "expect": "ok"}],
    [{"name": f"runner {i}", "url": signed(f"$PREFIX/eight/{i}.mp4"), "method": "PUT",
      "file": "$WORK/eight-%d.mp4" % i, "expect": "ok"} for i in range(8)],
    [{"name": "1 GiB", "url": signed("$K_BIG"), "method": "PUT", "file": "$BIGFILE", "expect": "ok"}],
    [{"name": "tampered", "url": "$TAMPERED", "method": "PUT", "file": "$SMALL", "expect": "refused"},
     {"name": "expired", "url": "$EXPIRED", "method": "PUT", "file": "$SMALL", "expect": "refused"}],
]
json.dump(groups, open(sys.argv[1], "w"))
PY
for i in 0 1 2 3 4 5 6 7; do mkfile "eight-$i.mp4" $((20 * 1048576 + i * 4099)) >/dev/null; done
export JOBS=$WORK/jobs.json
set +e
(cd "$HERE" && node drive.mjs) > "$WORK/outcomes.json"
status=$?
set -e
cat "$WORK/outcomes.json"
[ "$status" -eq 0 ] || fail "a runner upload did not end as expected"

same() { # KEY FILE
  local url got want
  url=$("$BIN" presign get --endpoint "$UPSTREAM" --bucket "$BUCKET" --key "$1")
  got=$(curl -sS -f "$url" | sha256sum | cut -d' ' -f1) || fail "$1 was not stored"
  want=$(sha256sum < "$2" | cut -d' ' -f1)
  [ "$got" = "$want" ] || fail "$1 differs from its file (an envelope stored?)"
}
absent() { # KEY
  local url code
  url=$("$BIN" presign get --endpoint "$UPSTREAM" --bucket "$BUCKET" --key "$1")
  code=$(curl -s -o /dev/null -w '%{http_code}' "$url")
  [ "$code" = 404 ] || fail "$1 exists (HTTP $code) but must not"
}
same "$K_PUT" "$SMALL"
same "$K_POST" "$SMALL"
for i in 0 1 2 3 4 5 6 7; do same "$PREFIX/eight/$i.mp4" "$WORK/eight-$i.mp4"; done
same "$K_BIG" "$BIGFILE"
absent "$K_BAD"
echo "peertube test: every object equals its file; the refused ones are absent"

# A runner killed mid-upload: killed once the gateway has received 64 MiB more than before it
# started (read from /metrics), then the gateway must end that upload (its gauge back to 0)
# within 60 s, leaving no object and no multipart upload.
metric() { curl -sS "$GATEWAY/metrics" | awk -v m="signpost_gateway_$1" '$1 == m { print $2 }'; }
until_metric() { # NAME OP VALUE SECONDS
  local end=$((SECONDS + $4)) v
  while [ "$SECONDS" -lt "$end" ]; do
    v=$(metric "$1"); [ -n "$v" ] && [ "$v" "$2" "$3" ] && return 0
    sleep 0.05
  done
  return 1
}
K_KILLED="$PREFIX/killed.mp4"
KILLFILE=$(mkfile killed.mp4 $((800 * 1048576)))
BEFORE=$(metric received_bytes_total)
URL=$(signed "$K_KILLED") FILE=$KILLFILE RUNNER_MODULE=$RUNNER_MODULE node "$HERE/kill_one.mjs" > /dev/null 2>&1 &
RUNNER=$!
PIDS+=($RUNNER)
until_metric received_bytes_total -ge $((BEFORE + 64 * 1048576)) 60 \
  || fail "the gateway did not receive 64 MiB of the runner's upload within 60 s"
kill -9 "$RUNNER" 2>/dev/null || fail "the runner finished before it could be killed"
wait "$RUNNER" 2>/dev/null || true
until_metric uploads_in_flight -eq 0 60 || fail "the killed runner's upload was still in flight after 60 s"
absent "$K_KILLED"
LIST=$("$BIN" presign list-uploads --endpoint "$UPSTREAM" --bucket "$BUCKET")
uploads=$(curl -sS -f "$LIST") || fail "ListMultipartUploads failed"
case "$uploads" in
  *"<ListMultipartUploadsResult"*) ;;
  *) fail "ListMultipartUploads answered no listing: $uploads";;
esac
case "$uploads" in
  *"<UploadId>"*) fail "a multipart upload is left upstream: $uploads";;
esac
echo "peertube test: no multipart upload left upstream"
echo "peertube test: PASS"
