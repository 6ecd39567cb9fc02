//! What `--json` prints: one JSON object on standard output per command run, success or failure,
//! camelCase keys, with a schema version so a program can tell what it is reading.
//!
//! Every object has `schemaVersion` ([`SCHEMA_VERSION`]), `command` (`upload`, `inspect`,
//! `verify`, `roundtrip`, `presign`) and `ok`. A failure adds `error`: `kind` (a stable word,
//! [`kinds`]), `message` (the line also printed on standard error), and, when known, `status`
//! and `s3Code` (the server's answer), `needsNewTarget`, `beforeSending` and `uploadId`.
//! README's "`--json`" section lists each command's fields; a test compares it with this module.

use std::io::Write as _;

use serde_json::{Map, Value, json};
use signpost_upload::{ErrorKind, MultipartError, UploadError};

/// The version of the `--json` objects; raised when a field changes meaning or goes away (new
/// fields may appear without it).
pub const SCHEMA_VERSION: u32 = 1;

/// Kinds besides the upload library's ([`ErrorKind`]): what the command itself refuses.
pub const COMMAND_KINDS: [&str; 5] = [
    "invalid-argument",
    "credentials",
    "file-unreadable",
    "interrupted",
    "error",
];

/// Every `kind` a failure may carry.
pub fn kinds() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
    for k in COMMAND_KINDS {
        if !v.contains(&k) {
            v.push(k);
        }
    }
    v
}

/// The kind of a failure: the upload library's when it is one, else what the command knows
/// (a descriptor that does not parse, a refused argument, a file it cannot read).
pub fn kind_of(e: &(dyn std::error::Error + 'static)) -> &'static str {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = next {
        if let Some(u) = err.downcast_ref::<UploadError>() {
            return u.kind().as_str();
        }
        if err
            .downcast_ref::<signpost_wire::DescriptorError>()
            .is_some()
        {
            return ErrorKind::InvalidDescriptor.as_str();
        }
        if err
            .downcast_ref::<signpost_presign::PresignError>()
            .is_some()
        {
            return "invalid-argument";
        }
        if err.downcast_ref::<std::io::Error>().is_some() {
            return "file-unreadable";
        }
        next = err.source();
    }
    let text = e.to_string();
    if text.contains("credential") || text.contains("access key") || text.contains("secret key") {
        "credentials"
    } else {
        "error"
    }
}

/// A success object: `schemaVersion`, `command`, `ok: true`, then `fields`.
pub fn success(command: &str, fields: Value) -> Value {
    envelope(command, true, fields)
}

/// An object with `ok` as given (a report whose verdict is a failure without an error: an
/// inspection with findings, a refused verification, a failed round-trip case).
pub fn envelope(command: &str, ok: bool, fields: Value) -> Value {
    let mut m = Map::new();
    m.insert("schemaVersion".into(), json!(SCHEMA_VERSION));
    m.insert("command".into(), json!(command));
    m.insert("ok".into(), json!(ok));
    if let Value::Object(f) = fields {
        m.extend(f);
    }
    Value::Object(m)
}

/// A failure object, `message` as printed on standard error.
pub fn failure(command: &str, e: &(dyn std::error::Error + 'static), message: &str) -> Value {
    failure_of_kind(command, kind_of(e), e, message)
}

/// A failure object of a kind the caller names.
pub fn failure_of_kind(
    command: &str,
    kind: &str,
    e: &(dyn std::error::Error + 'static),
    message: &str,
) -> Value {
    let mut err = Map::new();
    err.insert("kind".into(), json!(kind));
    err.insert("message".into(), json!(message));
    let upload = {
        let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
        let mut found = None;
        while let Some(x) = next {
            if let Some(u) = x.downcast_ref::<UploadError>() {
                found = Some(u);
                break;
            }
            next = x.source();
        }
        found
    };
    if let Some(u) = upload {
        err.insert("status".into(), json!(u.status()));
        err.insert("s3Code".into(), json!(u.s3_code().map(|c| c.as_str())));
        err.insert("needsNewTarget".into(), json!(u.needs_new_target()));
        err.insert("beforeSending".into(), json!(u.before_sending()));
        if let UploadError::Multipart(MultipartError::Kept { upload_id, .. }) = u {
            err.insert("uploadId".into(), json!(upload_id));
        }
    }
    envelope(command, false, json!({ "error": Value::Object(err) }))
}

/// Prints one object on standard output; a closed pipe (`| head`) is not a crash.
pub fn emit(v: &Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{v}").and_then(|()| out.flush());
}

/// Prints text on standard output; a closed pipe is not a crash.
pub fn print_text(s: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(s.as_bytes()).and_then(|()| out.flush());
}

/// A failure a command has already put in words (and in JSON): `main` prints it as is.
#[derive(Debug)]
pub struct Failed {
    /// The one line for standard error.
    pub line: String,
    /// The `--json` object.
    pub json: Value,
    /// The exit status (1, or 130/143 after a signal).
    pub exit: u8,
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.line)
    }
}

impl std::error::Error for Failed {}
