// Drives PeerTube's stock runner upload code, RunnerJobsCommand.customUpload from npm
// @peertube/peertube-cli 1.0.3 (AGPL: extracted at test time by run.sh into RUNNER_MODULE,
// never committed), against `signpost gateway`. Each job is { url, method, file, expect }:
// expect "ok" (customUpload resolves: the runner saw its 204), "refused" (it throws) or "any"
// (the caller judges the outcome: tests/scale/run.sh, where it depends on the gateway reached).
// Jobs in one group run at once. Prints one JSON line of outcomes; exits non-zero on a mismatch.

import { readFileSync } from 'node:fs';

const { RunnerJobsCommand } = await import(process.env.RUNNER_MODULE);
const groups = JSON.parse(readFileSync(process.env.JOBS, 'utf8'));

const outcomes = [];
let failed = false;
for (const group of groups) {
  const results = await Promise.all(group.map(async (job) => {
    const started = Date.now();
    try {
      // What the runner does with a job's custom upload target: customUpload({ url, method, file }).
      await new RunnerJobsCommand({ url: new URL(job.url).origin }).customUpload({
        url: job.url, method: job.method, file: job.file,
      });
      return { name: job.name, outcome: 'ok', ms: Date.now() - started };
    } catch (e) {
      return { name: job.name, outcome: 'refused', error: String(e.message || e).slice(0, 200), ms: Date.now() - started };
    }
  }));
  for (const [i, r] of results.entries()) {
    if (group[i].expect !== 'any' && r.outcome !== group[i].expect) failed = true;
    outcomes.push({ ...r, expected: group[i].expect });
  }
}
console.log(JSON.stringify(outcomes));
process.exit(failed ? 1 : 0);
