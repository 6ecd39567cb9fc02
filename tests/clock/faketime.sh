#!/usr/bin/env bash
# A runner whose clock is 10 minutes fast or slow uploads to URLs valid for 5 minutes: the
# `signpost` binary run under libfaketime (Debian `faketime`), against the embedded server
# (`signpost serve`, real clock). With the clock 10 minutes fast the pre-flight calls every URL
# expired, asks the server's time, and uploads; a URL expired by the server's clock too is
# refused with both times. PUT, POST and multipart, from a file and from standard input.
#
#   tests/clock/faketime.sh      (builds the binary; needs faketime, curl, python3)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
command -v faketime >/dev/null || { echo "faketime.sh: needs faketime (Debian package faketime)" >&2; exit 1; }
cargo build --locked -q -p signpost
BIN=$ROOT/target/debug/signpost
WORK=$(mktemp -d)
SERVER=
trap '[ -n "$SERVER" ] && kill $SERVER 2>/dev/null; rm -rf "$WORK"' EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export AWS_ACCESS_KEY_ID=clock AWS_SECRET_ACCESS_KEY=clock-secret-key AWS_REGION=us-east-1
export AWS_ENDPOINT_URL=http://127.0.0.1:$PORT SIGNPOST_LOG=error SIGNPOST_STATE_DIR=$WORK/state
"$BIN" serve --addr "127.0.0.1:$PORT" --data "$WORK/data" --bucket clock >"$WORK/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 50); do curl -s -o /dev/null "$AWS_ENDPOINT_URL/" && break; sleep 0.1; done
head -c 12000000 /dev/urandom > "$WORK/file.bin"

# Only the runner's clock is off; its monotonic clock (timers) is left alone.
off() { FAKETIME_DONT_FAKE_MONOTONIC=1 faketime -f "$1" "${@:2}"; }
fail() { echo "faketime.sh: $*" >&2; exit 1; }
WANT=$(sha256sum < "$WORK/file.bin" | cut -d' ' -f1)
same() { # KEY: the object read back (real clock) is the file
  local got
  got=$(curl -sS -f "$("$BIN" presign get --bucket clock --key "$1")" | sha256sum | cut -d' ' -f1) \
    || fail "$1 was not stored"
  [ "$got" = "$WANT" ] || fail "$1 differs from the file"
}

for shift in +600s -600s; do
  for kind in put post multipart; do
    case $kind in
      put) "$BIN" presign put --bucket clock --key "$kind$shift" --expires 300 > "$WORK/job.json" ;;
      post) "$BIN" presign post --bucket clock --key "$kind$shift" --expires 300 > "$WORK/job.json" ;;
      multipart) "$BIN" presign multipart --bucket clock --key "$kind$shift" --expires 300 \
                   --part-size 5MiB --max-size 64MiB > "$WORK/job.json" ;;
    esac
    off "$shift" "$BIN" upload --no-progress --job "$WORK/job.json" "$WORK/file.bin" >/dev/null \
      || fail "$kind with the clock $shift was refused"
    same "$kind$shift"
    echo "faketime.sh: $kind, clock $shift: uploaded, read back identical"
  done
  "$BIN" presign multipart --bucket clock --key "stdin$shift" --expires 300 --part-size 5MiB \
    --max-size 64MiB > "$WORK/job.json"
  off "$shift" "$BIN" upload --no-progress --job "$WORK/job.json" - < "$WORK/file.bin" >/dev/null \
    || fail "standard input with the clock $shift was refused"
  same "stdin$shift"
  echo "faketime.sh: multipart from standard input, clock $shift: uploaded, read back identical"
done

# Expired by the server's clock too: refused before sending, both times named.
"$BIN" presign put --bucket clock --key late --expires 1 \
  --at "$(date -u -d '-5 seconds' +%Y-%m-%dT%H:%M:%SZ)" > "$WORK/job.json"
if off +300s "$BIN" upload --no-progress --job "$WORK/job.json" "$WORK/file.bin" 2> "$WORK/err"; then
  fail "an expired URL was accepted"
fi
code=$(curl -s -o /dev/null -w '%{http_code}' "$("$BIN" presign get --bucket clock --key late)")
[ "$code" = 404 ] || fail "the refused upload exists (HTTP $code)"
grep -q "the server's clock says it is now" "$WORK/err" || fail "the error does not give the server's time: $(cat "$WORK/err")"
grep -Eq "this machine's clock is (29[89]|30[0-2]) s ahead" "$WORK/err" || fail "the error does not give the offset: $(cat "$WORK/err")"
echo "faketime.sh: an expired URL is refused with the server's time and the offset: $(cat "$WORK/err")"
