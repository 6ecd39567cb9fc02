# Sourced by tests/peertube/run.sh and tests/scale/run.sh: `runner_module DIR` fetches npm
# @peertube/peertube-cli 1.0.3 into DIR, cuts the stock runner's code out of its bundle
# (dist/peertube.js, everything before its CLI entry point, which holds
# RunnerJobsCommand.customUpload) into DIR/runner-upload.mjs and exports RUNNER_MODULE. The code is
# AGPL: it lives in DIR, a temporary directory, for the test only and is never committed.
runner_module() {
  (cd "$1" && npm pack --silent @peertube/peertube-cli@1.0.3 >/dev/null && tar xzf peertube-peertube-cli-1.0.3.tgz)
  python3 - "$1/package/dist/peertube.js" "$1/runner-upload.mjs" <<'PY'
import sys
src = open(sys.argv[1], encoding="utf-8").read()
cut = src.index("\n// src/peertube.ts\n")
open(sys.argv[2], "w", encoding="utf-8").write(src[:cut] + "\nexport { RunnerJobsCommand };\n")
PY
  export RUNNER_MODULE=$1/runner-upload.mjs
}
