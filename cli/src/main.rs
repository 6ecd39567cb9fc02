//! `signpost`: presign S3 uploads, upload to them, and check both ends against a real server.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use signpost::report;
mod cmd;

/// jemalloc: the gateway and the embedded server allocate and free part-sized buffers (megabytes)
/// all day; glibc's allocator keeps freed ones in a fragmenting heap and lets RSS creep upward
/// across uploads (measured: the gateway's peak RSS over six 1 GiB uploads, 67 MiB with glibc).
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Presigned S3 uploads for transcoding runners: sign (server side), upload (runner side), and
/// round-trip tests against an embedded S3 server, MinIO or AWS.
#[derive(Parser)]
#[command(name = "signpost", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the embedded S3 server (s3s + s3s-fs) until Ctrl-C.
    #[command(after_help = signpost::size::UNITS_HELP)]
    Serve(cmd::serve::ServeArgs),
    /// Presign an upload target and print it as a RunnerJobCustomUpload descriptor.
    #[command(subcommand)]
    Presign(cmd::presign::PresignCommand),
    /// Upload a file to a descriptor (PeerTube's JSON works as is).
    Upload(cmd::upload::UploadArgs),
    /// Presign, upload, read back and compare, for PUT, POST and multipart, plus negative cases.
    #[command(after_help = signpost::size::UNITS_HELP)]
    Roundtrip(cmd::roundtrip::RoundtripArgs),
    /// Accept uploads to URLs signed for the gateway (as the stock PeerTube runner sends them)
    /// and store them in the upstream S3.
    #[command(after_help = signpost::size::UNITS_HELP)]
    Gateway(cmd::gateway::GatewayArgs),
    /// What a descriptor or presigned URL says (method, key, scope, expiry, signed headers,
    /// policy, parts) and what would stop an upload; no credentials needed. Exit 1 on a problem.
    Inspect(cmd::inspect::InspectArgs),
    /// Would S3 accept this request or form? Checked with the credentials (for receivers and
    /// job servers). Exit 0 when accepted, 1 with the rule that fails.
    Verify(cmd::inspect::VerifyArgs),
}

impl Command {
    /// The command's name for `--json`, and whether `--json` was given.
    fn output(&self) -> (&'static str, bool) {
        match self {
            Command::Serve(_) => ("serve", false),
            Command::Gateway(_) => ("gateway", false),
            Command::Presign(c) => ("presign", c.json()),
            Command::Upload(a) => ("upload", a.json),
            Command::Roundtrip(a) => ("roundtrip", a.json),
            Command::Inspect(a) => ("inspect", a.json),
            Command::Verify(a) => ("verify", a.json),
        }
    }
}

/// `SIGNPOST_LOG`, by default `warn` (`error` for `roundtrip`, whose table reports the retries
/// and refusals it provokes on purpose). The embedded server's S3 library logs every refusal as
/// an error and, at debug, the signatures it compared; it stays silent unless `SIGNPOST_LOG`
/// names it (`SIGNPOST_LOG=debug,s3s=debug`). The server's own refusal lines are at debug.
fn log_filter(default: &str) -> tracing_subscriber::EnvFilter {
    use tracing_subscriber::EnvFilter;
    let spec = std::env::var("SIGNPOST_LOG").unwrap_or_else(|_| default.into());
    let filter = EnvFilter::try_new(&spec).unwrap_or_else(|_| EnvFilter::new("warn"));
    let mut filter = filter;
    // Libraries' own logs, unless named: the embedded server's S3 library logs every refusal;
    // the AWS credential providers and TLS log their internals at debug, and their warnings
    // repeat the one-line error signpost prints.
    for (name, quiet) in [
        ("s3s", "s3s=off"),
        (
            "aws",
            "aws_config=off,aws_runtime=off,aws_smithy_runtime=off,aws_sdk_sts=off,aws_sdk_sso=off,aws_sdk_ssooidc=off,aws_smithy_http_client=off",
        ),
        ("rustls", "rustls=off"),
        ("hyper", "hyper_util=off"),
    ] {
        if !spec.contains(name) {
            for d in quiet.split(',') {
                if let Ok(d) = d.parse() {
                    filter = filter.add_directive(d);
                }
            }
        }
    }
    filter
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(log_filter(match cli.command {
            Command::Roundtrip(_) => "error",
            // The receivers' access log: one line per request.
            Command::Serve(_) | Command::Gateway(_) => "warn,signpost_serve=info",
            _ => "warn",
        }))
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (name, json) = cli.command.output();
    let result = rt.block_on(async {
        match cli.command {
            Command::Serve(a) => cmd::serve::run(a).await,
            Command::Presign(c) => cmd::presign::run(c).await,
            Command::Upload(a) => cmd::upload::run(a).await,
            Command::Roundtrip(a) => cmd::roundtrip::run(a).await,
            Command::Gateway(a) => cmd::gateway::run(a).await,
            Command::Inspect(a) => cmd::inspect::inspect_cmd(a),
            Command::Verify(a) => cmd::inspect::verify_cmd(a).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            // One line: what failed and why, down the chain, each cause once; no backtrace.
            let (line, object, exit) = match e.downcast_ref::<report::Failed>() {
                Some(f) => (f.line.clone(), f.json.clone(), f.exit),
                None => {
                    let cause: &(dyn std::error::Error + 'static) = e.as_ref();
                    let line = format!(
                        "{}{}",
                        signpost_wire::error_line(cause),
                        signpost::remedy::suffix(cause, None)
                    );
                    let object = report::failure(name, cause, &line);
                    (line, object, 1)
                }
            };
            eprintln!("error: {line}");
            if json {
                report::emit(&object);
            }
            ExitCode::from(exit)
        }
    }
}
