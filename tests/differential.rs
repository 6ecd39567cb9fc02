//! The Verifier against real servers: the same mutated requests go, byte for byte, to the
//! Verifier and to an S3 server (the embedded s3s-fs by default; Garage or Ceph in CI through
//! SIGNPOST_TEST_ENDPOINT). The Verifier may refuse what a server accepts (it is stricter where
//! servers disagree), never accept what the server refuses: that fails the suite. A few
//! mutations every server accepts are also required of the Verifier (it once refused them).
//! The embedded server is started with s3s judging presigned URLs and POST forms itself, so that
//! its half of the comparison is not signpost's own Verifier (which `signpost serve` uses for
//! both).

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use signpost_presign::{
    Credentials, Endpoint, PresignRequest, Presigner, Validity, Verifier, VerifyError,
};
use signpost_tests::{TestTarget, raw, sigv4};
use time::OffsetDateTime;

/// What is sent, and how the Verifier is asked about it.
enum Ask {
    Presigned,
    /// POST: the URL the form is posted to, its fields, the file's length.
    Post {
        url: String,
        fields: Vec<(String, String)>,
        file_len: u64,
    },
}

struct Case {
    name: String,
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    ask: Ask,
    /// Every server tried accepts this; the Verifier must too.
    verifier_must_accept: bool,
}

/// `target` with the first `from` replaced by `to`; `from` must occur, so that no mutation
/// silently leaves the request as it was (a second baseline).
fn mutated(target: &str, from: &str, to: &str) -> String {
    assert!(
        target.contains(from),
        "the mutation's `{from}` is not in {target}"
    );
    let out = target.replacen(from, to, 1);
    assert_ne!(out, target, "replacing `{from}` by `{to}` changed nothing");
    out
}

fn split_url(url: &str) -> (String, String) {
    let rest = url.split_once("://").unwrap().1;
    let i = rest.find('/').unwrap_or(rest.len());
    (rest[..i].to_owned(), rest[i..].to_owned())
}

fn hv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

const BODY: &[u8] = b"differential test body";

struct Build<'a> {
    t: &'a TestTarget,
    p: Presigner,
    now: OffsetDateTime,
    cases: Vec<Case>,
}

impl Build<'_> {
    fn validity(&self, signed_at: OffsetDateTime, secs: u64) -> Validity {
        Validity::expires_in(Duration::from_secs(secs))
            .unwrap()
            .signed_at(signed_at)
            .unwrap()
    }

    /// A presigned PUT of `key` with two signed headers, and the headers to send with it.
    fn put(&self, key: &str) -> (String, String, Vec<(String, String)>) {
        let url = self
            .p
            .presign(
                &PresignRequest::put_object(&*self.t.bucket, key)
                    .content_type("video/mp4")
                    .meta("case", "diff")
                    .validity(self.validity(self.now, 600)),
            )
            .unwrap()
            .url()
            .as_str()
            .to_owned();
        let (host, target) = split_url(&url);
        let headers = hv(&[
            ("Host", &host),
            ("Content-Type", "video/mp4"),
            ("x-amz-meta-case", "diff"),
            ("Content-Length", &BODY.len().to_string()),
        ]);
        (host, target, headers)
    }

    fn push(&mut self, name: &str, method: &str, target: String, headers: Vec<(String, String)>) {
        self.cases.push(Case {
            name: name.to_owned(),
            method: method.to_owned(),
            target,
            headers,
            body: BODY.to_vec(),
            ask: Ask::Presigned,
            verifier_must_accept: false,
        });
    }

    fn must_accept(&mut self) {
        if let Some(c) = self.cases.last_mut() {
            c.verifier_must_accept = true;
        }
    }
}

fn put_cases(b: &mut Build<'_>) {
    let key = |b: &Build<'_>, n: &str| b.t.key(&format!("diff/{n}"));
    let zeros = "0".repeat(64);
    let k = key(b, "put.bin");
    let (host, target, headers) = b.put(&k);
    let with = |extra: &[(&str, &str)]| {
        let mut h = headers.clone();
        h.extend(hv(extra));
        h
    };
    let without = |name: &str| {
        headers
            .iter()
            .filter(|(n, _)| !n.eq_ignore_ascii_case(name))
            .cloned()
            .collect::<Vec<_>>()
    };
    b.push("baseline", "PUT", target.clone(), headers.clone());
    b.must_accept();
    b.push(
        "method in lower case",
        "put",
        target.clone(),
        headers.clone(),
    );
    b.push(
        "another method (POST)",
        "POST",
        target.clone(),
        headers.clone(),
    );
    b.push("no Host header", "PUT", target.clone(), without("host"));
    b.push(
        "two Host headers",
        "PUT",
        target.clone(),
        with(&[("Host", &host)]),
    );
    let mut other_host = without("host");
    other_host.insert(0, ("Host".into(), "other.example:9000".into()));
    b.push("another Host", "PUT", target.clone(), other_host);
    b.push(
        "X-Amz-Signature twice (valid, zeros)",
        "PUT",
        format!("{target}&X-Amz-Signature={zeros}"),
        headers.clone(),
    );
    b.push(
        "X-Amz-Signature twice (zeros, valid)",
        "PUT",
        mutated(&target, "?", &format!("?X-Amz-Signature={zeros}&")),
        headers.clone(),
    );
    b.push(
        "X-Amz-Signature and X-Amz-%53ignature",
        "PUT",
        format!("{target}&X-Amz-%53ignature={zeros}"),
        headers.clone(),
    );
    b.push(
        "X-Amz-Signature spelled X-Amz-%53ignature",
        "PUT",
        mutated(&target, "X-Amz-Signature=", "X-Amz-%53ignature="),
        headers.clone(),
    );
    let date = target.split("X-Amz-Date=").nth(1).unwrap()[..16].to_owned();
    b.push(
        "X-Amz-Date twice",
        "PUT",
        format!("{target}&X-Amz-Date={date}"),
        headers.clone(),
    );
    b.push(
        "x-amz-date in lower case",
        "PUT",
        mutated(&target, "X-Amz-Date=", "x-amz-date="),
        headers.clone(),
    );
    b.push(
        "an unsigned query parameter",
        "PUT",
        format!("{target}&extra=1"),
        headers.clone(),
    );
    b.push(
        "X-Amz-Algorithm AWS4-HMAC-SHA1",
        "PUT",
        mutated(&target, "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1"),
        headers.clone(),
    );
    b.push(
        "host left out of X-Amz-SignedHeaders",
        "PUT",
        mutated(&target, "content-type%3Bhost%3B", "content-type%3B"),
        headers.clone(),
    );
    let day = &date[..8];
    b.push(
        "a scope date that is not X-Amz-Date's",
        "PUT",
        mutated(&target, &format!("%2F{day}%2F"), "%2F20200101%2F"),
        headers.clone(),
    );
    b.push(
        "a signed header not sent",
        "PUT",
        target.clone(),
        without("content-type"),
    );
    let mut changed = without("content-type");
    changed.push(("Content-Type".into(), "text/html".into()));
    b.push("a signed header changed", "PUT", target.clone(), changed);
    b.push(
        "an unsigned x-amz-meta header",
        "PUT",
        target.clone(),
        with(&[("x-amz-meta-extra", "1")]),
    );
    b.push(
        "x-amz-content-sha256: UNSIGNED-PAYLOAD, unsigned",
        "PUT",
        target.clone(),
        with(&[("x-amz-content-sha256", "UNSIGNED-PAYLOAD")]),
    );
    b.must_accept();
    b.push(
        "an Authorization header beside the query",
        "PUT",
        target.clone(),
        with(&[("Authorization", "AWS4-HMAC-SHA256 Credential=x")]),
    );
    b.push(
        "a session token the credentials do not have",
        "PUT",
        format!("{target}&X-Amz-Security-Token=FwoGZXIvYXdzEJr"),
        headers.clone(),
    );

    // The path as S3 reads it: decoded, then encoded once.
    let k = format!("{}/dir/file.bin", key(b, "slash"));
    let (_, target, headers) = b.put(&k);
    let escaped = mutated(&target, "dir/file.bin", "dir%2Ffile.bin");
    b.push("%2F where the signer wrote /", "PUT", escaped, headers);
    b.must_accept();
    let k = key(b, "heldout.bin");
    let (_, target, headers) = b.put(&k);
    b.push(
        "an encoded plain letter (held%6Fut)",
        "PUT",
        mutated(&target, "heldout", "held%6Fut"),
        headers,
    );
    b.must_accept();
    let k = key(b, "é.bin");
    let (_, target, headers) = b.put(&k);
    b.push(
        "lower-case escapes where the signer wrote upper case",
        "PUT",
        mutated(&target, "%C3%A9", "%c3%a9"),
        headers,
    );
    b.must_accept();

    // Signed by aws-sigv4 over what signpost would never sign.
    let creds = (b.t.access_key.as_str(), b.t.secret_key.as_str());
    let base = format!("{}/{}/", b.t.endpoint, b.t.bucket);
    let signed_headers = [("content-type", "video/mp4")];
    let raw_headers = |url: &str| {
        let (host, target) = split_url(url);
        let h = hv(&[
            ("Host", &host),
            ("Content-Type", "video/mp4"),
            ("Content-Length", &BODY.len().to_string()),
        ]);
        (target, h)
    };
    let region = b.t.region.clone();
    let signed = |name: &str, url: String, b: &mut Build<'_>| {
        let (target, h) = raw_headers(&url);
        b.push(name, "PUT", target, h);
    };
    let prefix = key(b, "raw");
    let now = b.now;
    signed(
        "signed over %2F inside the key",
        sigv4(
            &format!("{base}{prefix}/dir%2Ffile.bin"),
            &signed_headers,
            creds,
            &region,
            "s3",
            now,
            600,
        ),
        b,
    );
    signed(
        "signed over lower-case escapes",
        sigv4(
            &format!("{base}{prefix}/%c3%a9.bin"),
            &signed_headers,
            creds,
            &region,
            "s3",
            now,
            600,
        ),
        b,
    );
    signed(
        "X-Amz-Expires 604801",
        sigv4(
            &format!("{base}{prefix}/long.bin"),
            &signed_headers,
            creds,
            &region,
            "s3",
            now,
            604_801,
        ),
        b,
    );
    signed(
        "signed for another service",
        sigv4(
            &format!("{base}{prefix}/svc.bin"),
            &signed_headers,
            creds,
            &region,
            "execute-api",
            now,
            600,
        ),
        b,
    );
    signed(
        "signed with another access key",
        sigv4(
            &format!("{base}{prefix}/ak.bin"),
            &signed_headers,
            ("AKIDOTHER", "secret"),
            &region,
            "s3",
            now,
            600,
        ),
        b,
    );
    let other_region = if region == "eu-west-1" {
        "us-east-1"
    } else {
        "eu-west-1"
    };
    signed(
        "signed for another region",
        sigv4(
            &format!("{base}{prefix}/region.bin"),
            &signed_headers,
            creds,
            other_region,
            "s3",
            now,
            600,
        ),
        b,
    );

    // Time.
    for (name, at, secs) in [
        ("expired", now - time::Duration::hours(1), 60),
        ("dated 1 hour ahead", now + time::Duration::hours(1), 7200),
        (
            "dated 10 minutes ahead",
            now + time::Duration::minutes(10),
            3600,
        ),
    ] {
        let url =
            b.p.presign(
                &PresignRequest::put_object(&*b.t.bucket, &*key(b, "time.bin"))
                    .validity(b.validity(at, secs)),
            )
            .unwrap();
        let (host, target) = split_url(url.url());
        let h = hv(&[("Host", &host), ("Content-Length", &BODY.len().to_string())]);
        b.push(name, "PUT", target, h);
    }
}

fn multipart_form(fields: &[(String, String)], file: &[u8]) -> (String, Vec<u8>) {
    let boundary = "signpostdifferentialboundary";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn post_cases(b: &mut Build<'_>) {
    let prefix = b.t.key("diff-post/");
    let form = |b: &Build<'_>, at: OffsetDateTime, secs: u64| {
        b.p.post_policy(&*b.t.bucket)
            .key_starts_with(&*prefix)
            .content_length_range(1, 1024)
            .validity(b.validity(at, secs))
            .build()
            .unwrap()
    };
    let f = form(b, b.now, 600);
    let url = f.url.as_str().to_owned();
    let mut fields: Vec<(String, String)> = f
        .fields
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    fields[0].1 = format!("{prefix}a.bin");
    let sig = fields
        .iter()
        .find(|(k, _)| k == "x-amz-signature")
        .unwrap()
        .1
        .clone();
    let outside = format!("{}/elsewhere.bin", b.t.key("diff-outside"));
    let push =
        |b: &mut Build<'_>, name: &str, url: &str, fields: Vec<(String, String)>, file: &[u8]| {
            let (host, target) = split_url(url);
            let (ct, body) = multipart_form(&fields, file);
            b.cases.push(Case {
                name: format!("POST: {name}"),
                method: "POST".into(),
                target,
                headers: hv(&[
                    ("Host", &host),
                    ("Content-Type", &ct),
                    ("Content-Length", &body.len().to_string()),
                ]),
                body,
                ask: Ask::Post {
                    url: url.to_owned(),
                    fields,
                    file_len: file.len() as u64,
                },
                verifier_must_accept: false,
            });
        };
    push(b, "baseline", &url, fields.clone(), BODY);
    b.must_accept();
    let with = |extra: (&str, &str), first: bool| {
        let mut f = fields.clone();
        let pair = (extra.0.to_owned(), extra.1.to_owned());
        if first {
            f.insert(0, pair);
        } else {
            f.push(pair);
        }
        f
    };
    push(
        b,
        "key twice, the last outside the prefix",
        &url,
        with(("key", &outside), false),
        BODY,
    );
    push(
        b,
        "key twice, the first outside the prefix",
        &url,
        with(("key", &outside), true),
        BODY,
    );
    push(
        b,
        "Key in another case, outside the prefix",
        &url,
        with(("Key", &outside), false),
        BODY,
    );
    let zeros = "0".repeat(64);
    push(
        b,
        "x-amz-signature twice (valid, zeros)",
        &url,
        with(("x-amz-signature", &zeros), false),
        BODY,
    );
    let mut zero_first = fields.clone();
    zero_first.retain(|(k, _)| k != "x-amz-signature");
    zero_first.insert(0, ("x-amz-signature".into(), zeros.clone()));
    zero_first.push(("x-amz-signature".into(), sig));
    push(
        b,
        "x-amz-signature twice (zeros, valid)",
        &url,
        zero_first,
        BODY,
    );
    push(
        b,
        "a field the policy does not name",
        &url,
        with(("acl", "public-read"), false),
        BODY,
    );
    let mut no_policy = fields.clone();
    no_policy.retain(|(k, _)| k != "policy");
    push(b, "no policy field", &url, no_policy, BODY);
    let mut moved = fields.clone();
    moved[0].1 = outside.clone();
    push(b, "key outside the prefix", &url, moved, BODY);
    push(
        b,
        "a file over content-length-range",
        &url,
        fields.clone(),
        &[7u8; 2000],
    );
    let expired = form(b, b.now - time::Duration::hours(2), 60);
    let mut old: Vec<(String, String)> = expired
        .fields
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    old[0].1 = format!("{prefix}old.bin");
    push(b, "an expired policy", &url, old, BODY);
}

fn verdict(v: &Verifier, c: &Case, now: OffsetDateTime) -> Result<(), VerifyError> {
    match &c.ask {
        Ask::Presigned => {
            let h: Vec<(&str, &str)> = c
                .headers
                .iter()
                .map(|(a, b)| (a.as_str(), b.as_str()))
                .collect();
            v.verify_presigned(&c.method, &c.target, &h, now)
                .map(|_| ())
        }
        Ask::Post {
            url,
            fields,
            file_len,
        } => {
            let f = v.verify_post(
                url,
                fields.iter().map(|(a, b)| (a.as_str(), b.as_str())),
                now,
            )?;
            f.body.check_complete(*file_len, None)
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_verifier_never_accepts_what_the_server_refuses() {
    let t = TestTarget::start_independent().await.unwrap();
    let now = OffsetDateTime::now_utc();
    let mut b = Build {
        p: Presigner::new(
            t.credentials(),
            Endpoint::custom(&t.endpoint, &t.region).unwrap(),
        ),
        t: &t,
        now,
        cases: Vec::new(),
    };
    put_cases(&mut b);
    post_cases(&mut b);
    let v = Verifier::new(
        Credentials::new(&t.access_key, t.secret_key.as_str()),
        &t.region,
    );
    let mut report = String::new();
    let mut holes = Vec::new();
    let mut false_refusals = Vec::new();
    for c in &b.cases {
        let server = raw::send(&t.endpoint, &c.method, &c.target, &c.headers, &c.body)
            .await
            .unwrap();
        let accepted = (200..300).contains(&server.status);
        let ours = verdict(&v, c, now);
        let code = signpost_upload::ErrorResponse::parse(&server.body)
            .map(|e| e.code)
            .unwrap_or_default();
        report.push_str(&format!(
            "{:<55} server {} {:<28} verifier {}\n",
            c.name,
            server.status,
            code,
            match &ours {
                Ok(()) => "accepts".to_owned(),
                Err(e) => format!("refuses ({})", e.s3_code()),
            }
        ));
        if ours.is_ok() && !accepted {
            holes.push(c.name.clone());
        }
        if c.verifier_must_accept && (ours.is_err() || !accepted) {
            false_refusals.push(format!("{} (server {})", c.name, server.status));
        }
    }
    println!("{report}");
    assert!(
        holes.is_empty(),
        "the Verifier accepts what the server refuses: {holes:?}\n{report}"
    );
    assert!(
        false_refusals.is_empty(),
        "accepted by S3 servers, required of the Verifier too: {false_refusals:?}\n{report}"
    );
    assert!(b.cases.len() >= 40, "{report}");
}
