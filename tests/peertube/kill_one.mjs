// One runner upload that the test kills mid-way (SIGKILL): url and file from the environment.
const { RunnerJobsCommand } = await import(process.env.RUNNER_MODULE);
await new RunnerJobsCommand({ url: new URL(process.env.URL).origin }).customUpload({
  url: process.env.URL, method: 'PUT', file: process.env.FILE,
});
