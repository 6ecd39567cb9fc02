//! What `serve` and `gateway` share: the limits of the receivers' HTTP core, TLS, the shutdown
//! signals, and a banner that a closed standard output cannot turn into a crash.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::Args;
use signpost::size::describe;
use signpost_serve::{Limits, TlsFiles};

/// Limits on what clients send; the defaults are never looser than nginx's.
#[derive(Args, Clone, Debug)]
#[command(next_help_heading = "Limits (per receiver)")]
pub struct LimitArgs {
    /// How long a connection may take to send a request's headers, counted from its start or its
    /// previous answer (so also the idle keep-alive timeout).
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true, value_parser = super::duration, default_value = "60s")]
    header_timeout: Duration,
    /// How long a request body may go without a byte.
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true, value_parser = super::duration, default_value = "60s")]
    body_timeout: Duration,
    /// How long an answer may wait for the client to read.
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true, value_parser = super::duration, default_value = "60s")]
    send_timeout: Duration,
    /// Connections at once (more wait in the kernel's queue).
    #[arg(long, value_name = "N", default_value_t = 1024)]
    max_connections: usize,
    /// Bytes of a POST form before its file (S3: 20 KB).
    #[arg(long, value_name = "SIZE", allow_hyphen_values = true, value_parser = super::size, default_value = "64KiB")]
    max_form_bytes: u64,
    /// Fields of a POST form before its file.
    #[arg(long, value_name = "N", default_value_t = 100)]
    max_form_fields: usize,
    /// How long a drain (SIGTERM, Ctrl-C) lets uploads in flight finish before cutting them.
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true, value_parser = super::duration, default_value = "30s")]
    drain_timeout: Duration,
    /// PEM certificate chain: serve HTTPS (with --tls-key).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

impl LimitArgs {
    /// The core's limits.
    pub fn limits(&self) -> Limits {
        let mut l = Limits::default();
        l.header_timeout = self.header_timeout;
        l.body_timeout = self.body_timeout;
        l.send_timeout = self.send_timeout;
        l.max_connections = self.max_connections;
        l.form_bytes = usize::try_from(self.max_form_bytes).unwrap_or(usize::MAX);
        l.form_fields = self.max_form_fields;
        l.drain_timeout = self.drain_timeout;
        l
    }

    /// The TLS files, when both were given.
    pub fn tls(&self) -> Option<TlsFiles> {
        Some(TlsFiles {
            cert: self.tls_cert.clone()?,
            key: self.tls_key.clone()?,
        })
    }

    /// One line for the banner.
    pub fn describe(&self) -> String {
        format!(
            "headers {}, bodies {} without a byte, answers {}, {} connections, forms {} bytes / {} fields, drain {}",
            describe(self.header_timeout),
            describe(self.body_timeout),
            describe(self.send_timeout),
            self.max_connections,
            self.max_form_bytes,
            self.max_form_fields,
            describe(self.drain_timeout)
        )
    }
}

/// Prints the banner; a closed standard output is not an error worth dying for.
pub fn banner(lines: &[String]) {
    let mut out = std::io::stdout().lock();
    for l in lines {
        if writeln!(out, "{l}").is_err() {
            return;
        }
    }
    let _ = out.flush();
}

/// Waits for Ctrl-C or SIGTERM; returns the signal's name.
pub async fn shutdown_signal() -> Result<&'static str> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => { r?; Ok("SIGINT") }
        _ = term.recv() => Ok("SIGTERM"),
    }
}
