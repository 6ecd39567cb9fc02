//! The cases a server must refuse, sent without pre-flight so the server's own verdict is heard.

use std::time::Duration;

use anyhow::Context;
use signpost_presign::{PresignRequest, Validity};
use signpost_upload::{RetryPolicy, RunnerJobCustomUpload, UploadError, UploadOptions};
use time::OffsetDateTime;

use super::{Ctx, Row, describe_err, fail};

/// Cases the server must refuse, each with the S3 codes that name its refusal (servers word it
/// differently: AWS and s3s answer 403 AccessDenied for an expired URL, Garage 400
/// InvalidRequest): another 4xx (a 404, say) is not the refusal expected, and any 2xx is a
/// failure.
pub(super) async fn negatives(ctx: &Ctx) -> Vec<Row> {
    let no_preflight = UploadOptions {
        skip_preflight: true,
        ..Default::default()
    };
    // One retry: after a connection the server cut mid-body (it refused before reading), the
    // uploader's second attempt asks first (Expect: 100-continue) and hears the refusal.
    let uploader = match super::uploader_with(
        RetryPolicy {
            max_attempts: 2,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(10),
        },
        ctx.ca_bundle.as_deref(),
    ) {
        Ok(u) => u,
        Err(e) => return vec![fail("negative cases", "error".into(), e.to_string())],
    };
    let mut rows = Vec::new();
    let p = &ctx.presigner;
    let bucket = &*ctx.bucket;
    let key = format!("{}/refused.bin", ctx.prefix);

    // Each case: a descriptor, sent without pre-flight; the server's verdict is read.
    let mut cases: Vec<(&str, &[&str], anyhow::Result<RunnerJobCustomUpload>)> = Vec::new();
    cases.push((
        "tampered signature (PUT)",
        &["SignatureDoesNotMatch", "AccessDenied"],
        (|| {
            let mut job = p
                .presign(&PresignRequest::put_object(bucket, &*key))?
                .to_descriptor()?;
            let mut url = job.url.into_string();
            let last = url.pop().context("empty URL")?;
            url.push(if last == '0' { '1' } else { '0' });
            job.url = url.into();
            Ok(job)
        })(),
    ));
    cases.push((
        "expired URL (PUT)",
        &["AccessDenied", "InvalidRequest"],
        (|| {
            Ok(
                p.presign(&PresignRequest::put_object(bucket, &*key).validity(expired()?))?
                    .to_descriptor()?,
            )
        })(),
    ));
    let size = ctx.size;
    cases.push((
        "POST over its size limit",
        &["EntityTooLarge", "InvalidRequest"],
        (|| {
            let form = p
                .post_policy(bucket)
                .key(&*key)
                .content_length_range(0, size.saturating_sub(1))
                .build()?;
            Ok(form.to_descriptor())
        })(),
    ));
    let allowed = format!("{}/allowed/", ctx.prefix);
    let elsewhere = format!("{}/elsewhere/x.bin", ctx.prefix);
    cases.push((
        "POST key outside its prefix",
        &["AccessDenied", "InvalidRequest"],
        (|| {
            let form = p.post_policy(bucket).key_starts_with(&*allowed).build()?;
            let mut job = form.to_descriptor();
            if let Some(slot) = job.fields.0.iter_mut().find(|(k, _)| k == "key") {
                slot.1 = elsewhere.clone();
            }
            Ok(job)
        })(),
    ));
    for (case, codes, job) in cases {
        let job = match job {
            Ok(j) => j,
            Err(e) => {
                rows.push(fail(case, "error".into(), format!("{e:#}")));
                continue;
            }
        };
        rows.push(
            match uploader.upload_with(&job, &ctx.file, &no_preflight).await {
                Ok(out) => fail(
                    case,
                    format!("HTTP {}", out.status),
                    "accepted: the server must refuse this".into(),
                ),
                Err(e) if is_expected_refusal(&e, codes) => Row {
                    case: case.into(),
                    status: describe_err(&e),
                    bytes: 0,
                    mbps: None,
                    passed: true,
                    detail: "refused, as it must be".into(),
                },
                Err(e) => fail(
                    case,
                    describe_err(&e),
                    format!("not the refusal expected ({}): {e}", codes.join(" or ")),
                ),
            },
        );
    }

    // And signpost's own pre-flight refuses the expired URL without sending a byte.
    let case = "expired URL (runner pre-flight)";
    let expired_put = expired()
        .map_err(anyhow::Error::from)
        .and_then(|v| Ok(p.presign(&PresignRequest::put_object(bucket, &*key).validity(v))?))
        .and_then(|signed| Ok(signed.to_descriptor()?));
    rows.push(match expired_put {
        Ok(job) => match uploader.upload(&job, &ctx.file).await {
            Err(UploadError::Preflight(signpost_upload::PreflightError::Expired { .. })) => Row {
                case: case.into(),
                status: "not sent".into(),
                bytes: 0,
                mbps: None,
                passed: true,
                detail: "refused before sending".into(),
            },
            Err(e) => fail(case, describe_err(&e), e.to_string()),
            Ok(out) => fail(
                case,
                format!("HTTP {}", out.status),
                "uploaded an expired URL".into(),
            ),
        },
        Err(e) => fail(case, "error".into(), e.to_string()),
    });
    rows
}

/// Whether `e` is the refusal a case expects: the server's 4xx, carrying one of `codes`.
fn is_expected_refusal(e: &UploadError, codes: &[&str]) -> bool {
    matches!(e, UploadError::Refused { .. })
        && e.status().is_some_and(|s| (400..500).contains(&s))
        && e.s3_code().is_some_and(|c| codes.contains(&c.as_str()))
}

/// Signed an hour ago, valid for a minute.
fn expired() -> Result<Validity, signpost_presign::PresignError> {
    Validity::expires_in(Duration::from_secs(60))?
        .signed_at(OffsetDateTime::now_utc() - time::Duration::hours(1))
}

#[cfg(test)]
mod tests {
    use signpost_upload::{ErrorResponse, Refusal, UploadError};

    use super::is_expected_refusal;

    fn refused(status: u16, body: &str) -> UploadError {
        UploadError::Refused {
            refusal: Box::new(Refusal {
                status,
                s3: ErrorResponse::parse(body),
                body_excerpt: body.chars().take(80).collect(),
                explanation: None,
            }),
            expected: vec![200],
            attempts: 1,
        }
    }

    #[test]
    fn only_a_4xx_with_one_of_the_cases_codes_is_the_refusal_expected() {
        let tampered = &["SignatureDoesNotMatch", "AccessDenied"];
        let doc = |code: &str| format!("<Error><Code>{code}</Code><Message>m</Message></Error>");
        assert!(is_expected_refusal(
            &refused(403, &doc("SignatureDoesNotMatch")),
            tampered
        ));
        assert!(is_expected_refusal(
            &refused(403, &doc("AccessDenied")),
            tampered
        ));
        // A 404 is a refusal, but not of a tampered signature.
        assert!(!is_expected_refusal(
            &refused(404, &doc("NoSuchKey")),
            tampered
        ));
        assert!(!is_expected_refusal(
            &refused(400, &doc("InvalidArgument")),
            tampered
        ));
        assert!(!is_expected_refusal(
            &refused(500, &doc("SignatureDoesNotMatch")),
            tampered
        ));
        assert!(!is_expected_refusal(&refused(403, "forbidden"), tampered));
    }
}
