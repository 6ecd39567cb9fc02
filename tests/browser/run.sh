#!/usr/bin/env bash
# A real browser against `signpost serve`: Debian's chromium, driven by npm puppeteer-core
# (tests/browser/test.mjs). A form printed by `signpost presign post --format html` is
# submitted with a file named `my clip ü 2 日本.bin`, and a page of another origin uploads with
# fetch() (PUT) and XHR (POST form); then every stored object is read back and compared with
# what was sent. Every process started here is stopped by its PID.
#
#   tests/browser/run.sh        (needs /usr/bin/chromium: apt-get install chromium)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || { echo "browser test: $CHROMIUM not found (apt-get install chromium)" >&2; exit 1; }
(cd "$HERE" && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --silent)
(cd "$ROOT" && cargo build -q --locked -p signpost)
BIN=$ROOT/target/debug/signpost

WORK=$(mktemp -d -t signpost-browser-XXXXXX)
PIDS=()
cleanup() {
  [ -s "$WORK/chromium.pid" ] && kill "$(cat "$WORK/chromium.pid")" 2>/dev/null || true
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
SERVE_PORT=$(free_port)
PAGE_PORT=$(free_port)
export AWS_ACCESS_KEY_ID=browser AWS_SECRET_ACCESS_KEY=browser-test-secret AWS_REGION=us-east-1
export AWS_ENDPOINT_URL=http://127.0.0.1:$SERVE_PORT SIGNPOST_LOG=warn
"$BIN" serve --addr "127.0.0.1:$SERVE_PORT" --data "$WORK/data" --bucket web > "$WORK/serve.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do curl -s -o /dev/null "$AWS_ENDPOINT_URL/" && break; sleep 0.1; done

mkdir "$WORK/pages"
"$BIN" presign post --bucket web --key-prefix browser/ --max-size 10MiB --success-status 201 --format html > "$WORK/pages/form.html"
echo '<!DOCTYPE html><html><head><title>another origin</title></head><body></body></html>' > "$WORK/pages/blank.html"
python3 -m http.server "$PAGE_PORT" --bind 127.0.0.1 --directory "$WORK/pages" > "$WORK/pages.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$PAGE_PORT/blank.html" && break; sleep 0.1; done

export FORM_FILE="$WORK/my clip ü 2 日本.bin"
head -c 300000 /dev/urandom > "$FORM_FILE"
export PUT_DATA="put from a page of another origin $RANDOM"
export POST_DATA="posted by XHR from a page of another origin $RANDOM"
export PUT_URL
PUT_URL=$("$BIN" presign put --bucket web --key xhr/put.bin --content-type video/mp4 | python3 -c 'import json,sys; print(json.load(sys.stdin)["url"])')
"$BIN" presign post --bucket web --key-prefix xhr/ --max-size 1MiB > "$WORK/post.json"
export POST_JOB=$WORK/post.json SERVE=$AWS_ENDPOINT_URL PAGE=http://127.0.0.1:$PAGE_PORT CHROMIUM
export CHROMIUM_PID_FILE=$WORK/chromium.pid

set +e
(cd "$HERE" && node test.mjs) > "$WORK/results.json"
status=$?
set -e
cat "$WORK/results.json"
[ "$status" -eq 0 ] || { echo "browser test: a browser step failed" >&2; cat "$WORK/serve.log" >&2; exit 1; }

# What the browser stored, read back.
same() { # KEY FILE
  local url got want
  url=$("$BIN" presign get --bucket web --key "$1")
  got=$(curl -sS -f "$url" | sha256sum | cut -d' ' -f1)
  want=$(sha256sum < "$2" | cut -d' ' -f1)
  [ "$got" = "$want" ] || { echo "browser test: $1 differs from what was sent" >&2; exit 1; }
  echo "browser test: $1 stored as sent"
}
key=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["form"]["key"])' "$WORK/results.json")
[ "$key" = "browser/my clip ü 2 日本.bin" ] || { echo "browser test: stored under $key, not under the substituted file name" >&2; exit 1; }
same "$key" "$FORM_FILE"
printf '%s' "$PUT_DATA" > "$WORK/put.txt"; same xhr/put.bin "$WORK/put.txt"
printf '%s' "$POST_DATA" > "$WORK/post.txt"; same xhr/from-xhr.txt "$WORK/post.txt"
echo "browser test: PASS"
