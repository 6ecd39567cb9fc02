#!/usr/bin/env bash
# Builds the `signpost` Node package from this checkout (npm ci, then cargo through
# `npm run build`) and runs its tests (node --test against a real `signpost serve`, the
# workspace's debug binary or SIGNPOST_BIN; tsc over the type declarations), then packs it
# (npm pack) and installs the tarball into a scratch project to load it from there.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --loglevel=error
npm run build --silent
if [ -z "${SIGNPOST_BIN:-}" ] && [ ! -x ../target/debug/signpost ]; then
  (cd .. && cargo build --locked -q -p signpost)
fi
npm test --silent
# The tarball holds what a project needs: installed elsewhere, it loads and signs.
SCRATCH=$(mktemp -d -t signpost-npm-XXXXXX)
trap 'rm -rf "$SCRATCH"' EXIT
TGZ=$(npm pack --silent --pack-destination "$SCRATCH")
(cd "$SCRATCH" && npm init -y >/dev/null && npm install --no-audit --no-fund --loglevel=error "./$TGZ" >/dev/null \
  && node -e '
    const { Presigner } = require("signpost-s3");
    const job = new Presigner({ endpoint: "http://127.0.0.1:9000", credentials: { accessKeyId: "AK", secretAccessKey: "SK" } })
      .presignPut({ bucket: "videos", key: "k" });
    if (!job.url.includes("X-Amz-Signature=")) throw new Error("no signature: " + job.url);
    console.log("npm pack: " + process.argv[1] + " installs and signs");
  ' "$TGZ")
