#!/usr/bin/env bash
# A 1 GiB multipart upload, 64 MiB parts, 4 at once, to the same embedded S3 server (`signpost
# serve`, a separate process, s3s-fs on the local disk), side by side in one run:
#   signpost upload            (Content-MD5 on every part, part ETags and the multipart ETag checked)
#   aws s3 cp                  (Debian awscli 2.x; multipart_chunksize 64MB, max_concurrent_requests 4)
#   rclone copyto              (Debian rclone; --s3-chunk-size 64M --s3-upload-concurrency 4)
# then standard input: `cat FILE | signpost upload --job JOB -` with 8 MiB parts, 4 at once.
# Reports the median wall time, signpost's ratio to the faster peer, and peak RSS (GNU time).
#
#   bench/peers.sh [SIZE_BYTES] [ROUNDS]      default: 1 GiB, 3 rounds
# Needs: curl, python3, GNU time, /usr/bin/aws (Debian awscli), rclone.
set -euo pipefail
SIZE=${1:-1073741824}
ROUNDS=${2:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
AWS=/usr/bin/aws
for t in "$AWS" rclone curl /usr/bin/time; do command -v "$t" >/dev/null || { echo "peers.sh: needs $t" >&2; exit 1; }; done
# The environment may point every process at a CA bundle; rclone refuses one for plain HTTP.
unset AWS_CA_BUNDLE
cargo build --release --locked -q -p signpost
BIN=$ROOT/target/release/signpost
WORK=$(mktemp -d)
SERVER=
trap '[ -n "$SERVER" ] && kill $SERVER 2>/dev/null; rm -rf "$WORK"' EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench-secret-key AWS_REGION=us-east-1
export AWS_ENDPOINT_URL=http://127.0.0.1:$PORT SIGNPOST_LOG=off SIGNPOST_STATE_DIR=$WORK/state
"$BIN" serve --addr "127.0.0.1:$PORT" --data "$WORK/data" --bucket bench >"$WORK/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 50); do curl -s -o /dev/null "$AWS_ENDPOINT_URL/" && break; sleep 0.1; done
head -c "$SIZE" /dev/urandom > "$WORK/file.bin"

cat > "$WORK/aws.config" <<CONF
[default]
region = us-east-1
s3 =
  multipart_chunksize = 64MB
  multipart_threshold = 64MB
  max_concurrent_requests = 4
CONF
export AWS_CONFIG_FILE=$WORK/aws.config
# rclone's remote "peer", from the environment.
export RCLONE_CONFIG_PEER_TYPE=s3 RCLONE_CONFIG_PEER_PROVIDER=Other RCLONE_CONFIG_PEER_REGION=us-east-1
export RCLONE_CONFIG_PEER_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID RCLONE_CONFIG_PEER_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY
export RCLONE_CONFIG_PEER_ENDPOINT=$AWS_ENDPOINT_URL RCLONE_CONFIG=/dev/null

median() { python3 -c "import sys,statistics; print(statistics.median(map(float,sys.argv[1:])))" "$@"; }
timed() { # OUTFILE COMMAND...: wall seconds and peak RSS KiB into OUTFILE
  local out=$1; shift
  /usr/bin/time -f '%e %M' -o "$out" "$@" >/dev/null
}
clean() { rm -rf "$WORK/data/bench/"*; }

sp=(); aw=(); rc=(); st=(); rss_sp=0; rss_st=0
for r in $(seq "$ROUNDS"); do
  "$BIN" presign multipart --bucket bench --key "sp-$r" --part-size 64MiB --max-size "$SIZE" > "$WORK/mp.json"
  timed "$WORK/t" "$BIN" upload --no-progress --concurrency 4 --job "$WORK/mp.json" "$WORK/file.bin"
  read -r t m < "$WORK/t"; sp+=("$t"); (( m > rss_sp )) && rss_sp=$m
  clean

  timed "$WORK/t" "$AWS" s3 cp --only-show-errors --endpoint-url "$AWS_ENDPOINT_URL" "$WORK/file.bin" "s3://bench/aws-$r"
  read -r t m < "$WORK/t"; aw+=("$t")
  clean

  timed "$WORK/t" rclone copyto --s3-chunk-size 64M --s3-upload-concurrency 4 --s3-upload-cutoff 64M \
    "$WORK/file.bin" "peer:bench/rclone-$r"
  read -r t m < "$WORK/t"; rc+=("$t")
  clean

  "$BIN" presign multipart --bucket bench --key "stdin-$r" --part-size 8MiB --max-size "$SIZE" > "$WORK/mp8.json"
  /usr/bin/time -f '%e %M' -o "$WORK/t" sh -c "'$BIN' upload --no-progress --concurrency 4 --job '$WORK/mp8.json' - < '$WORK/file.bin' > /dev/null"
  read -r t m < "$WORK/t"; st+=("$t"); (( m > rss_st )) && rss_st=$m
  clean
done
S=$(median "${sp[@]}"); A=$(median "${aw[@]}"); R=$(median "${rc[@]}"); I=$(median "${st[@]}")
echo "size: $SIZE bytes, rounds: $ROUNDS (median), server: signpost serve (s3s-fs) on loopback, 64 MiB parts x 4"
printf '%-46s %8s %10s %12s\n' "uploader" "seconds" "MB/s" "peak RSS"
row() { printf '%-46s %8.2f %10.1f %12s\n' "$1" "$2" "$(python3 -c "print($SIZE/$2/1e6)")" "$3"; }
row "signpost upload (Content-MD5, ETags checked)" "$S" "$rss_sp KiB"
row "aws s3 cp ($("$AWS" --version | cut -d' ' -f1))" "$A" "-"
row "rclone copyto ($(rclone version | head -1 | cut -d' ' -f2))" "$R" "-"
row "signpost upload - (stdin, 8 MiB parts x 4)" "$I" "$rss_st KiB"
python3 -c "import sys; s,a,r=map(float,sys.argv[1:]); f=min(a,r); print('signpost / faster peer (%s): %.2f' % ('aws' if a<=r else 'rclone', s/f))" "$S" "$A" "$R"
