#!/usr/bin/env bash
# Runs a command against a throwaway ministack (PyPI `ministack`): an S3 that checks SigV4
# signatures and session tokens, with STS and IAM, so that every source of the AWS credential
# chain can be tested end to end.
#
#   tests/servers/ministack.sh COMMAND [ARGS...]
#
# Installs ministack (and boto3, for the set-up) into a virtualenv under ~/.cache (reused), starts
# it with AUTH=true on a free 127.0.0.1 port, creates a bucket and a role `signpost-uploader`
# allowed to write it (assumable with the root key, and with a web identity token issued by
# https://oidc.signpost.test), then runs COMMAND with:
#   MINISTACK_ENDPOINT         http://127.0.0.1:PORT (S3, STS and IAM on one port)
#   MINISTACK_BUCKET           the bucket
#   MINISTACK_ROLE_ARN         the role
#   MINISTACK_ROOT_KEY/_SECRET the long-term key ministack accepts (test/test)
# ministack is stopped by its PID and its directory removed when the script exits.
set -euo pipefail
MINISTACK_VERSION=1.5.33
[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARGS...]" >&2; exit 2; }

VENV=${MINISTACK_VENV:-$HOME/.cache/signpost/ministack-$MINISTACK_VERSION}
if [ ! -x "$VENV/bin/ministack" ] || [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import boto3' 2>/dev/null; then
  echo "ministack.sh: installing ministack $MINISTACK_VERSION and boto3 from PyPI" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "ministack==$MINISTACK_VERSION" boto3
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
DIR=$(mktemp -d -t signpost-ministack-XXXXXX)
PID=
cleanup() {
  if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  rm -rf "$DIR"
}
trap cleanup EXIT

(cd "$DIR" && exec env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
  AUTH=true BIND_HOST=127.0.0.1 GATEWAY_PORT="$PORT" SERVICES=s3,sts,iam \
  "$VENV/bin/ministack" > "$DIR/ministack.log" 2>&1) &
PID=$!
export MINISTACK_ENDPOINT="http://127.0.0.1:$PORT"
for _ in $(seq 100); do
  curl -fs "$MINISTACK_ENDPOINT/_ministack/health" >/dev/null 2>&1 && break
  kill -0 "$PID" 2>/dev/null || { cat "$DIR/ministack.log" >&2; echo "ministack.sh: ministack exited" >&2; exit 1; }
  sleep 0.2
done
curl -fs "$MINISTACK_ENDPOINT/_ministack/health" | grep -q '"auth": "enabled"' \
  || { cat "$DIR/ministack.log" >&2; echo "ministack.sh: ministack did not start with AUTH=true" >&2; exit 1; }

export MINISTACK_BUCKET=signpost-creds
export MINISTACK_ROOT_KEY=test MINISTACK_ROOT_SECRET=test
MINISTACK_ROLE_ARN=$("$VENV/bin/python" - <<'PY'
import json, os
import boto3
kw = dict(endpoint_url=os.environ["MINISTACK_ENDPOINT"], region_name="us-east-1",
          aws_access_key_id="test", aws_secret_access_key="test")
boto3.client("s3", **kw).create_bucket(Bucket=os.environ["MINISTACK_BUCKET"])
iam = boto3.client("iam", **kw)
account = boto3.client("sts", **kw).get_caller_identity()["Account"]
# AssumeRole for any principal of the account; AssumeRoleWithWebIdentity for tokens issued by
# https://oidc.signpost.test (the issuer the test's token names).
trust = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"},
    {"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
     "Principal": {"Federated": f"arn:aws:iam::{account}:oidc-provider/oidc.signpost.test"}}]}
role = iam.create_role(RoleName="signpost-uploader", AssumeRolePolicyDocument=json.dumps(trust))
allow = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
iam.put_role_policy(RoleName="signpost-uploader", PolicyName="s3", PolicyDocument=json.dumps(allow))
print(role["Role"]["Arn"])
PY
)
export MINISTACK_ROLE_ARN
"$@"
