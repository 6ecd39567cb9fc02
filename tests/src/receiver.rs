//! The `signpost serve` and `signpost gateway` binaries as separate processes, as operators run
//! them, for what only a process shows: its memory, its CPU time, its file-descriptor limit, how
//! it answers SIGTERM. Each is started on a free loopback port with the arguments given and
//! stopped by its PID.

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};

/// A receiver process.
#[derive(Debug)]
pub struct Process {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// Its PID.
    pub pid: u32,
    child: tokio::process::Child,
    /// What it wrote to standard error (its log), collected in the background.
    log: std::sync::Arc<std::sync::Mutex<String>>,
}

/// Memory and CPU of a process, from `/proc`.
#[derive(Clone, Copy, Debug)]
pub struct Usage {
    /// Resident memory now, KiB.
    pub rss_kib: u64,
    /// The most resident memory so far, KiB.
    pub peak_kib: u64,
    /// User and system CPU time, clock ticks (100 a second on Linux).
    pub cpu_ticks: u64,
}

impl Process {
    /// Starts `signpost ARGS` (the binary of [`crate::binary`]) under `prlimit --nofile=N` when
    /// `nofile` is given, with `env`, and waits for the line of its banner that holds
    /// `banner_key` (`endpoint:` for serve, `address:` for the gateway).
    pub async fn start(
        args: &[String],
        env: &[(&str, String)],
        nofile: Option<u32>,
        banner_key: &str,
    ) -> anyhow::Result<Process> {
        let bin = crate::binary();
        let mut cmd = match nofile {
            Some(n) => {
                let mut c = tokio::process::Command::new("prlimit");
                c.arg(format!("--nofile={n}")).arg(bin);
                c
            }
            None => tokio::process::Command::new(bin),
        };
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("SIGNPOST_LOG", "info")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn()?;
        let pid = child.id().ok_or_else(|| anyhow::anyhow!("no PID"))?;
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        if let Some(err) = child.stderr.take() {
            let log = std::sync::Arc::clone(&log);
            tokio::spawn(async move {
                let mut lines = BufReader::new(err).lines();
                while let Ok(Some(l)) = lines.next_line().await {
                    if let Ok(mut s) = log.lock() {
                        s.push_str(&l);
                        s.push('\n');
                    }
                }
            });
        }
        let out = child
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
        let mut lines = BufReader::new(out).lines();
        let found = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(l) = lines.next_line().await? {
                if let Some(v) = l.trim().strip_prefix(banner_key) {
                    return anyhow::Ok(v.trim().to_owned());
                }
            }
            anyhow::bail!("the receiver exited before printing its {banner_key}")
        })
        .await;
        let endpoint = match found {
            Ok(Ok(e)) => e,
            failed => {
                let _ = child.wait().await;
                // Its standard error, read by the task above, says why.
                tokio::time::sleep(Duration::from_millis(100)).await;
                let why = log.lock().map(|s| s.clone()).unwrap_or_default();
                anyhow::bail!("{args:?}: {failed:?}; it said: {why}");
            }
        };
        // The rest of the banner is read and dropped, so the pipe never fills.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        // prlimit execs the binary, which keeps prlimit's PID.
        Ok(Process {
            endpoint,
            pid,
            child,
            log,
        })
    }

    /// Its memory and CPU time now.
    pub fn usage(&self) -> Usage {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid)).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).unwrap_or_default();
        // Fields after the command name (which is in parentheses): utime is the 14th field.
        let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let f: Vec<&str> = after.split_whitespace().collect();
        let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        Usage {
            rss_kib: field("VmRSS:"),
            peak_kib: field("VmHWM:"),
            cpu_ticks: ticks(11) + ticks(12),
        }
    }

    /// What it logged so far.
    pub fn log(&self) -> String {
        self.log.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Whether it is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGKILL, and waits for it to be gone.
    pub async fn kill(&mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }

    /// One of its `/metrics` values (`signpost_gateway_uploads_in_flight`), `None` when it does
    /// not answer or lacks the metric.
    pub async fn metric(&self, name: &str) -> Option<u64> {
        let text = signpost_serve::client::client_with(None)
            .ok()?
            .get(format!("{}/metrics", self.endpoint))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        text.lines().find_map(|l| {
            let (n, v) = l.split_once(' ')?;
            if n == name { v.parse().ok() } else { None }
        })
    }

    /// Sends SIGTERM and waits for it to exit, at most `within`; its exit code.
    pub async fn terminate(&mut self, within: Duration) -> anyhow::Result<Option<i32>> {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        let start = Instant::now();
        match tokio::time::timeout(within, self.child.wait()).await {
            Ok(status) => Ok(status?.code()),
            Err(_) => anyhow::bail!("still running {:?} after SIGTERM", start.elapsed()),
        }
    }
}
