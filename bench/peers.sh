#!/usr/bin/env bash
# A 1 GiB multipart upload, 64 MiB parts, 4 at once, to the same embedded S3 server (`signpost
# serve`, a separate process, s3s-fs on the local disk), side by side in one run:
#   signpost upload            (Content-MD5 on every part, part ETags and the multipart ETag checked)
#   aws s3 cp                  (Debian awscli 2.x; multipart_chunksize 64MB, max_concurrent_requests 4)
#   rclone copyto              (Debian rclone; --s3-chunk-size 64M --s3-upload-concurrency 4)
# then standard input: `cat FILE | signpost upload --job JOB -` with 8 MiB parts, 4 at once.
# Reports the median wall time, signpost's ratio to the faster peer, and peak RSS (GNU time).
# Then where the time goes, since the server shares the two cores: each uploader's CPU time and
# the server's during its upload, and the server's CompleteMultipartUpload alone (parts sent
# first, then Complete timed), the part of every upload that no uploader can shorten.
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
timed() { # OUTFILE COMMAND...: wall seconds, peak RSS KiB, and CPU seconds of the command and
  # of the server meanwhile, into OUTFILE
  local out=$1; shift
  local before after
  before=$(server_cpu)
  /usr/bin/time -f '%e %M %U %S' -o "$out.time" "$@" >/dev/null
  after=$(server_cpu)
  read -r e m u s < "$out.time"
  echo "$e $m $(python3 -c "print(round($u+$s,2), round(($after-$before)/$(getconf CLK_TCK),2))")" > "$out"
}
server_cpu() { awk '{print $14+$15}' "/proc/$SERVER/stat"; }
clean() { rm -rf "$WORK/data/bench/"*; }

sp=(); aw=(); rc=(); st=(); rss_sp=0; rss_st=0; cpu_sp=(); cpu_aw=(); srv_sp=(); srv_aw=()
for r in $(seq "$ROUNDS"); do
  "$BIN" presign multipart --bucket bench --key "sp-$r" --part-size 64MiB --max-size "$SIZE" > "$WORK/mp.json"
  timed "$WORK/t" "$BIN" upload --no-progress --concurrency 4 --job "$WORK/mp.json" "$WORK/file.bin"
  read -r t m c v < "$WORK/t"; sp+=("$t"); cpu_sp+=("$c"); srv_sp+=("$v"); (( m > rss_sp )) && rss_sp=$m
  clean

  timed "$WORK/t" "$AWS" s3 cp --only-show-errors --endpoint-url "$AWS_ENDPOINT_URL" "$WORK/file.bin" "s3://bench/aws-$r"
  read -r t m c v < "$WORK/t"; aw+=("$t"); cpu_aw+=("$c"); srv_aw+=("$v")
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

# The server's CompleteMultipartUpload alone: the parts are sent one by one (untimed), then
# Complete is timed. s3s-fs reads, hashes and copies every part into the object there, on one core.
complete_alone() { # DESCRIPTOR
  python3 - "$1" "$WORK/file.bin" <<'PY'
import http.client, json, sys, time, urllib.parse
job = json.load(open(sys.argv[1]))
parts, size = job["multipart"]["parts"], job["multipart"]["partSize"]
def send(method, url, body, headers={}):
    u = urllib.parse.urlsplit(url)
    c = http.client.HTTPConnection(u.hostname, u.port)
    c.request(method, u.path + "?" + u.query, body=body, headers=headers)
    r = c.getresponse()
    r.read()
    assert r.status == 200, (method, r.status)
    return r.getheader("ETag")
etags = []
with open(sys.argv[2], "rb") as f:
    for url in parts:
        chunk = f.read(size)
        if not chunk:
            break
        etags.append(send("PUT", url, chunk))
doc = "<CompleteMultipartUpload>" + "".join(
    f"<Part><PartNumber>{i}</PartNumber><ETag>{e}</ETag></Part>" for i, e in enumerate(etags, 1)
) + "</CompleteMultipartUpload>"
t = time.monotonic()
send("POST", job["url"], doc.encode(), {"Content-Type": "application/xml"})
print(round(time.monotonic() - t, 3))
PY
}
co=()
for r in $(seq "$ROUNDS"); do
  "$BIN" presign multipart --bucket bench --key "complete-$r" --part-size 64MiB --max-size "$SIZE" > "$WORK/c.json"
  co+=("$(complete_alone "$WORK/c.json")")
  clean
done
C=$(median "${co[@]}")
python3 - "$S" "$A" "$C" "$(median "${cpu_sp[@]}")" "$(median "${srv_sp[@]}")" "$(median "${cpu_aw[@]}")" "$(median "${srv_aw[@]}")" <<'PY'
import sys
s, a, c, cs, vs, ca, va = map(float, sys.argv[1:])
print(f"CPU seconds (median): signpost {cs:.2f} + server {vs:.2f}; aws {ca:.2f} + server {va:.2f}")
print(f"server's CompleteMultipartUpload alone: {c:.2f} s (median), nothing else runs meanwhile")
print(f"before Complete: signpost {s - c:.2f} s, aws {a - c:.2f} s: {(s - c) / (a - c):.2f}x")
# Complete runs alone on one core; everything else shares the two.
floor = c + (cs + vs - c) / 2
print(f"signpost's floor on 2 cores, Complete + the rest of both processes' CPU spread over both: {floor:.2f} s ({s / floor:.2f}x of it); 0.75x aws is {0.75 * a:.2f} s")
PY
