//! `signpost inspect`: what a descriptor or a presigned URL says, for the operator who asks "why
//! did my runner get 403?". No credentials: everything here is readable by anyone holding the
//! target (secrets redacted).

use serde::Serialize;
use signpost_upload::findings;
use signpost_wire::amz_date::format_rfc3339;
use signpost_wire::{
    CredentialScope, PolicyDocument, QueryAuth, RunnerJobCustomUpload, UploadMethod,
    is_secret_name, redact_url,
};
use time::OffsetDateTime;

/// Reads a descriptor from a file, `-` (standard input), or takes a URL as a PUT descriptor.
pub fn load(arg: &str) -> anyhow::Result<RunnerJobCustomUpload> {
    use anyhow::Context;
    if arg.starts_with("http://") || arg.starts_with("https://") {
        return Ok(RunnerJobCustomUpload::put(arg));
    }
    let text = if arg == "-" {
        std::io::read_to_string(std::io::stdin())
            .context("reading the descriptor from standard input")?
    } else {
        std::fs::read_to_string(arg).with_context(|| format!("cannot read the descriptor {arg}"))?
    };
    Ok(RunnerJobCustomUpload::from_json(&text)?)
}

/// A credential scope, as shown.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Scope {
    /// The access key id.
    pub access_key_id: String,
    /// The scope date, YYYYMMDD.
    pub date: String,
    /// The region signed for.
    pub region: String,
    /// The service signed for.
    pub service: String,
}

impl From<CredentialScope> for Scope {
    fn from(c: CredentialScope) -> Self {
        Scope {
            access_key_id: c.access_key_id,
            date: c.date,
            region: c.region,
            service: c.service,
        }
    }
}

/// The multipart plan, summed up.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Multipart {
    /// The upload id.
    pub upload_id: Option<String>,
    /// Bytes per part.
    pub part_size: u64,
    /// Part URLs.
    pub parts: usize,
    /// The largest file the parts carry.
    pub capacity: u64,
    /// When the first part URL expires.
    pub earliest_expiry: Option<String>,
}

/// Everything `inspect` reports.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Inspection {
    /// Presigned PUT, POST form or multipart upload.
    pub kind: &'static str,
    /// The descriptor's method.
    pub method: &'static str,
    /// The URL, credentials redacted.
    pub url: String,
    /// The host (and port).
    pub host: String,
    /// The path as in the URL.
    pub path: String,
    /// Path-style reading: the first segment and the rest.
    pub bucket: Option<String>,
    /// The rest of the path.
    pub key: Option<String>,
    /// Headers the signature covers.
    pub signed_headers: Vec<String>,
    /// The signing time.
    pub signed_at: Option<String>,
    /// When the target stops being accepted.
    pub expires_at: Option<String>,
    /// Seconds left (negative: expired that long ago).
    pub expires_in: Option<i64>,
    /// The credential scope.
    pub credential: Option<Scope>,
    /// Whether temporary credentials signed it.
    pub session_token: bool,
    /// Headers the descriptor sends.
    pub headers: Vec<(String, String)>,
    /// Form fields (secrets redacted).
    pub fields: Vec<(String, String)>,
    /// The POST policy's expiration.
    pub policy_expiration: Option<String>,
    /// The POST policy's conditions.
    pub policy_conditions: Vec<String>,
    /// Statuses that mean success.
    pub expected_status_codes: Vec<u16>,
    /// The multipart plan.
    pub multipart: Option<Multipart>,
    /// What the pre-flight would refuse, in its words.
    pub findings: Vec<String>,
    /// What S3 would refuse but another target may take, so not a problem the pre-flight refuses.
    pub notes: Vec<String>,
}

fn decode(s: &str) -> String {
    signpost_wire::uri::decode_path(s)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_else(|| s.to_owned())
}

/// Reads `job` at `now`.
pub fn inspect(job: &RunnerJobCustomUpload, now: OffsetDateTime) -> Inspection {
    let url = job.url.as_str();
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let i = rest.find(['/', '?']).unwrap_or(rest.len());
    let (host, target) = rest.split_at(i);
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let decoded = decode(path);
    let (bucket, key) = match decoded.trim_start_matches('/').split_once('/') {
        Some((b, k)) if !b.is_empty() => (Some(b.to_owned()), Some(k.to_owned())),
        _ => (
            Some(decoded.trim_matches('/').to_owned()).filter(|b| !b.is_empty()),
            None,
        ),
    };
    let is_form = job.method == UploadMethod::Post && job.multipart.is_none();
    let auth = QueryAuth::from_url(url).ok().flatten();
    let (credential, signed_at, mut expires_at) = match (&auth, is_form) {
        (Some(q), _) => (
            Some(Scope::from(q.credential.clone())),
            Some(q.date),
            Some(q.expires_at()),
        ),
        (None, true) => (
            job.fields
                .get("x-amz-credential")
                .and_then(|c| CredentialScope::parse(c).ok())
                .map(Scope::from),
            job.fields
                .get("x-amz-date")
                .and_then(signpost_wire::amz_date::parse_amz_date),
            None,
        ),
        _ => (None, None, None),
    };
    let policy = job
        .fields
        .get("policy")
        .and_then(|p| PolicyDocument::from_base64(p).ok());
    if let Some(p) = &policy {
        expires_at = Some(expires_at.map_or(p.expiration, |e| e.min(p.expiration)));
    }
    let multipart = job.multipart.as_ref().map(|mp| Multipart {
        upload_id: mp.upload_id.clone(),
        part_size: mp.part_size,
        parts: mp.parts.len(),
        capacity: mp.capacity(),
        earliest_expiry: mp
            .parts
            .iter()
            .filter_map(|p| QueryAuth::from_url(p).ok().flatten())
            .map(|q| q.expires_at())
            .min()
            .map(format_rfc3339),
    });
    let redact = |(k, v): (&str, &str)| {
        let v = if is_secret_name(k) || k.eq_ignore_ascii_case("policy") {
            if k.eq_ignore_ascii_case("policy") {
                "(decoded below)"
            } else {
                "******"
            }
            .to_owned()
        } else {
            v.to_owned()
        };
        (k.to_owned(), v)
    };
    Inspection {
        kind: if job.multipart.is_some() {
            "multipart upload"
        } else if is_form {
            "POST form"
        } else {
            "presigned PUT"
        },
        method: job.method.as_str(),
        url: redact_url(url),
        host: host.to_owned(),
        path: path.to_owned(),
        bucket,
        key,
        signed_headers: auth
            .as_ref()
            .map(|q| q.signed_headers.clone())
            .unwrap_or_default(),
        signed_at: signed_at.map(format_rfc3339),
        expires_at: expires_at.map(format_rfc3339),
        expires_in: expires_at.map(|t| (t - now).whole_seconds()),
        credential,
        session_token: auth.as_ref().is_some_and(|q| q.security_token.is_some())
            || job.fields.get("x-amz-security-token").is_some(),
        headers: job.headers.iter().map(redact).collect(),
        fields: job.fields.iter().map(redact).collect(),
        policy_expiration: policy.as_ref().map(|p| format_rfc3339(p.expiration)),
        policy_conditions: policy
            .as_ref()
            .map(|p| p.conditions.iter().map(ToString::to_string).collect())
            .unwrap_or_default(),
        expected_status_codes: job.expected_status_codes.clone(),
        multipart,
        findings: findings(job, None, now)
            .iter()
            .map(ToString::to_string)
            .collect(),
        notes: if is_form && job.fields.get("key").is_none() {
            vec![
                "the form has no `key` field: S3's POST Object refuses it (it needs `key` and, to authorize the upload, `policy` with its signature fields), though `signpost gateway` and other non-S3 targets take such a form; for S3, ask the job server for a presigned POST with its fields (signpost presign post) or for a PUT URL".into(),
            ]
        } else {
            Vec::new()
        },
    }
}

fn ago(secs: i64) -> String {
    let (n, unit) = match secs.abs() {
        s if s < 120 => (s, "s"),
        s if s < 7200 => (s / 60, "min"),
        s if s < 172_800 => (s / 3600, "h"),
        s => (s / 86_400, "days"),
    };
    if secs >= 0 {
        format!("in {n} {unit}")
    } else {
        format!("EXPIRED {n} {unit} ago")
    }
}

/// The report a person reads.
pub fn render(i: &Inspection) -> String {
    let mut out = String::new();
    let mut line = |k: &str, v: String| out.push_str(&format!("{k:<17}{v}\n"));
    line("kind", format!("{} ({})", i.kind, i.method));
    line("url", i.url.clone());
    line("host", i.host.clone());
    if let Some(b) = &i.bucket {
        line(
            "bucket",
            format!("{b} (path-style reading; virtual-hosted: see host)"),
        );
    }
    if let Some(k) = &i.key {
        line("key", k.clone());
    }
    if let Some(c) = &i.credential {
        line(
            "credential",
            format!(
                "access key {}, region {}, service {}, date {}",
                c.access_key_id, c.region, c.service, c.date
            ),
        );
    }
    line(
        "session token",
        if i.session_token { "yes" } else { "no" }.into(),
    );
    if let Some(t) = &i.signed_at {
        line("signed at", t.clone());
    }
    if let (Some(t), Some(s)) = (&i.expires_at, i.expires_in) {
        line("expires", format!("{t} ({})", ago(s)));
    }
    if !i.signed_headers.is_empty() {
        line("signed headers", i.signed_headers.join(", "));
    }
    for (k, v) in &i.headers {
        line("header", format!("{k}: {v}"));
    }
    for (k, v) in &i.fields {
        line("form field", format!("{k} = {v}"));
    }
    if let Some(e) = &i.policy_expiration {
        line("policy expires", e.clone());
    }
    for c in &i.policy_conditions {
        line("policy condition", c.clone());
    }
    if let Some(m) = &i.multipart {
        line(
            "multipart",
            format!(
                "upload id {}, {} parts of {} bytes (up to {} bytes)",
                m.upload_id.as_deref().unwrap_or("?"),
                m.parts,
                m.part_size,
                m.capacity
            ),
        );
        if let Some(e) = &m.earliest_expiry {
            line("parts expire", e.clone());
        }
    }
    line(
        "success",
        i.expected_status_codes
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    );
    if i.findings.is_empty() {
        line("pre-flight", "no problem found".into());
    }
    for f in &i.findings {
        line("PROBLEM", f.clone());
    }
    for n in &i.notes {
        line("note", n.clone());
    }
    out
}
