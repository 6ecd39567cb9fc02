#!/usr/bin/env bash
# Runs a command against a throwaway Ceph radosgw (a third independent S3 server, the one many
# production object stores run).
#
#   tests/servers/ceph.sh COMMAND [ARGS...]
#
# Installs Debian's `radosgw ceph-mon ceph-osd` when missing (about 25 s), then starts, in a
# temporary directory, a one-node cluster on 127.0.0.1 only: one monitor, one OSD on `memstore`
# (objects in memory, CEPH_MEMSTORE_BYTES, default 6 GiB), no cephx, and radosgw with the beast
# frontend on a free port. It creates a user and a bucket, runs COMMAND with
# SIGNPOST_TEST_ENDPOINT, SIGNPOST_TEST_BUCKET, AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID,
# AWS_SECRET_ACCESS_KEY and AWS_REGION set, and stops every daemon by its PID on exit, whatever
# happens. About 20 s to start.
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARGS...]" >&2; exit 2; }

if ! command -v radosgw >/dev/null || ! command -v ceph-mon >/dev/null || ! command -v ceph-osd >/dev/null; then
  echo "ceph.sh: installing radosgw ceph-mon ceph-osd from Debian" >&2
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -q
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends radosgw ceph-mon ceph-osd
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
hex() { python3 -c "import secrets,sys; print(secrets.token_hex(int(sys.argv[1])))" "$1"; }

DIR=$(mktemp -d -t signpost-ceph-XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$DIR"
}
trap cleanup EXIT
fail() { echo "ceph.sh: $*" >&2; tail -n 30 "$DIR"/log/*.log >&2 2>/dev/null || true; exit 1; }

MON_PORT=$(free_port)
RGW_PORT=$(free_port)
FSID=$(python3 -c 'import uuid; print(uuid.uuid4())')
mkdir -p "$DIR/mon/ceph-a" "$DIR/osd/ceph-0" "$DIR/run" "$DIR/log" "$DIR/rgw"
CONF=$DIR/ceph.conf
cat > "$CONF" <<CONF
[global]
fsid = $FSID
mon host = v1:127.0.0.1:$MON_PORT
public addr = 127.0.0.1
cluster addr = 127.0.0.1
public network = 127.0.0.0/8
cluster network = 127.0.0.0/8
ms bind ipv4 = true
ms bind ipv6 = false
ms bind msgr2 = false
auth cluster required = none
auth service required = none
auth client required = none
auth supported = none
run dir = $DIR/run
admin socket = $DIR/run/\$name.asok
log file = $DIR/log/\$name.log
mon data = $DIR/mon/\$cluster-\$id
osd data = $DIR/osd/\$cluster-\$id
osd objectstore = memstore
memstore device bytes = ${CEPH_MEMSTORE_BYTES:-6442450944}
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
# The monitor refuses to start with less than 5% of its disk free by default (seen: a CI disk 95%
# full, 13 GiB left). This cluster keeps its data in memory (memstore) and a throwaway directory:
# the reserve protects nothing here.
mon data avail crit = 1
mon data avail warn = 2
osd max object name len = 256
osd max object namespace len = 64

[client.rgw.signpost]
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw data = $DIR/rgw
rgw dns name = localhost
CONF
C() { "$@" -c "$CONF"; }

monmaptool --create --clobber --fsid "$FSID" --addv a "[v1:127.0.0.1:$MON_PORT]" "$DIR/monmap" >/dev/null
ceph-mon -c "$CONF" -i a --mkfs --monmap "$DIR/monmap" >/dev/null 2>&1 || fail "ceph-mon --mkfs failed"
# Its own output goes beside its log: a monitor that refuses to start says why there.
ceph-mon -c "$CONF" -i a -f >"$DIR/log/mon.a.out.log" 2>&1 &
MON_PID=$!
PIDS+=("$MON_PID")
for i in $(seq 100); do
  timeout 5 ceph -c "$CONF" mon stat >/dev/null 2>&1 && break
  # A monitor that exited will not answer: say why now rather than after minutes of waiting.
  if ! kill -0 "$MON_PID" 2>/dev/null; then
    rc=0; wait "$MON_PID" || rc=$?
    # 28 (ENOSPC), often with nothing in its log: less free disk than `mon data avail crit`.
    [ "$rc" != 28 ] || fail "the monitor exited with status 28 (ENOSPC): the disk holding $DIR is too full for it ($(df -h --output=avail "$DIR" | tail -n 1 | xargs) free, $(df --output=pcent "$DIR" | tail -n 1 | xargs) used); free some space"
    fail "the monitor exited with status $rc"
  fi
  [ "$i" -lt 100 ] || fail "the monitor did not start"
  sleep 0.2
done

OSD_ID=$(timeout 20 ceph -c "$CONF" osd create) || fail "ceph osd create failed"
ceph-osd -c "$CONF" -i "$OSD_ID" --mkfs --osd-uuid "$(python3 -c 'import uuid; print(uuid.uuid4())')" >/dev/null 2>&1 \
  || fail "ceph-osd --mkfs failed"
timeout 20 ceph -c "$CONF" osd crush add "osd.$OSD_ID" 1 root=default host=localhost >/dev/null 2>&1 || true
# Right after the monitor starts it may refuse the OSD: try again until the OSD is up.
for attempt in 1 2 3 4 5; do
  ceph-osd -c "$CONF" -i "$OSD_ID" -f >/dev/null 2>&1 &
  OSD_PID=$!
  up=
  for _ in $(seq 50); do
    kill -0 "$OSD_PID" 2>/dev/null || break
    if timeout 5 ceph -c "$CONF" osd dump 2>/dev/null | grep -q "^osd.$OSD_ID up"; then up=1; break; fi
    sleep 0.2
  done
  if [ -n "$up" ]; then PIDS+=("$OSD_PID"); break; fi
  kill "$OSD_PID" 2>/dev/null || true; wait "$OSD_PID" 2>/dev/null || true
  [ "$attempt" -lt 5 ] || fail "the OSD did not come up"
  sleep 1
done

radosgw -c "$CONF" -n client.rgw.signpost -f >/dev/null 2>&1 &
PIDS+=($!)
ENDPOINT=http://127.0.0.1:$RGW_PORT
for i in $(seq 300); do
  curl -s -o /dev/null "$ENDPOINT/" && break
  kill -0 "${PIDS[-1]}" 2>/dev/null || fail "radosgw exited"
  [ "$i" -lt 300 ] || fail "radosgw did not start"
  sleep 0.2
done

KEY_ID="CEPH$(hex 8 | tr a-f A-F)"
SECRET=$(hex 20)
radosgw-admin -c "$CONF" -n client.rgw.signpost user create --uid=signpost --display-name=signpost \
  --access-key="$KEY_ID" --secret-key="$SECRET" >/dev/null 2>&1 || fail "radosgw-admin user create failed"

BUCKET=signpost-test
# CreateBucket, signed (SigV4, header auth) with the standard library: nothing else is at hand.
python3 - "$ENDPOINT" "$BUCKET" "$KEY_ID" "$SECRET" <<'PY' || fail "creating the bucket failed"
import datetime, hashlib, hmac, sys, urllib.request
endpoint, bucket, ak, sk = sys.argv[1:]
host = endpoint.split("://", 1)[1]
now = datetime.datetime.now(datetime.timezone.utc)
amz, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
payload = hashlib.sha256(b"").hexdigest()
creq = f"PUT\n/{bucket}\n\nhost:{host}\nx-amz-content-sha256:{payload}\nx-amz-date:{amz}\n\nhost;x-amz-content-sha256;x-amz-date\n{payload}"
scope = f"{day}/us-east-1/s3/aws4_request"
sts = f"AWS4-HMAC-SHA256\n{amz}\n{scope}\n{hashlib.sha256(creq.encode()).hexdigest()}"
k = ("AWS4" + sk).encode()
for part in (day, "us-east-1", "s3", "aws4_request"):
    k = hmac.new(k, part.encode(), hashlib.sha256).digest()
sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
req = urllib.request.Request(f"{endpoint}/{bucket}", method="PUT", headers={
    "x-amz-date": amz, "x-amz-content-sha256": payload,
    "Authorization": f"AWS4-HMAC-SHA256 Credential={ak}/{scope}, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature={sig}"})
urllib.request.urlopen(req).read()
PY
export SIGNPOST_TEST_ENDPOINT=$ENDPOINT SIGNPOST_TEST_BUCKET=$BUCKET SIGNPOST_TEST_SERVER=ceph
export AWS_ENDPOINT_URL=$ENDPOINT AWS_ACCESS_KEY_ID=$KEY_ID AWS_SECRET_ACCESS_KEY=$SECRET AWS_REGION=us-east-1
echo "ceph.sh: radosgw $(ceph --version | awk '{print $3}') at $ENDPOINT (bucket $BUCKET)" >&2
"$@"
