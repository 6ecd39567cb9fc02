//! The messages errors print.

use super::*;
use crate::error::MultipartError;
use crate::error::PreflightError;
use signpost_wire::s3_xml::{ErrorResponse, S3ErrorCode};

#[test]
fn refusal_messages_carry_s3_words() {
    let e = UploadError::Refused {
        refusal: Box::new(Refusal {
            status: 403,
            s3: ErrorResponse::parse(
                "<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided.</Message><RequestId>4442587FB7D0A2F9</RequestId></Error>",
            ),
            body_excerpt: String::new(),
            explanation: None,
        }),
        expected: vec![200, 201, 204],
        attempts: 1,
    };
    let s = e.to_string();
    assert!(
        s.contains("HTTP 403 SignatureDoesNotMatch: The request signature we calculated"),
        "{s}"
    );
    assert!(s.contains("RequestId 4442587FB7D0A2F9"));
    assert!(s.contains("expected HTTP 200, 201, 204"));
    assert_eq!(e.s3_code(), Some(&S3ErrorCode::SignatureDoesNotMatch));
    assert_eq!(e.status(), Some(403));
    assert!(!e.before_sending());
    let bare = UploadError::Refused {
        refusal: Box::new(Refusal {
            status: 500,
            s3: None,
            body_excerpt: String::new(),
            explanation: None,
        }),
        expected: vec![200],
        attempts: 2,
    };
    assert_eq!(
        bare.to_string(),
        "upload refused after 2 attempt(s): HTTP 500; expected HTTP 200"
    );
}

#[test]
fn abort_outcomes_say_what_is_stored() {
    let e = UploadError::Multipart(MultipartError::Complete {
        source: Box::new(UploadError::Multipart(MultipartError::CompletedWithError(
            Box::new(ErrorResponse::new("InternalError", "try again")),
        ))),
        abort: AbortOutcome::Aborted,
    });
    assert_eq!(
        e.to_string(),
        "CompleteMultipartUpload failed: InternalError: try again; the multipart upload was aborted, so no parts are left behind"
    );
    assert_eq!(e.s3_code(), Some(&S3ErrorCode::InternalError));
}

#[test]
fn only_target_problems_need_a_new_target() {
    let refused = |status, code: &str, message: &str| UploadError::Refused {
        refusal: Box::new(Refusal {
            status,
            s3: Some(ErrorResponse::new(code, message)),
            body_excerpt: String::new(),
            explanation: None,
        }),
        expected: vec![200],
        attempts: 1,
    };
    let expired = UploadError::Preflight(PreflightError::Expired {
        what: TargetKind::PresignedUrl,
        expires_at: time::OffsetDateTime::UNIX_EPOCH,
    });
    assert!(expired.needs_new_target());
    assert!(refused(403, "AccessDenied", "Request has expired").needs_new_target());
    assert!(refused(400, "ExpiredToken", "").needs_new_target());
    assert!(refused(404, "NoSuchUpload", "").needs_new_target());
    // Worth another try with the same descriptor.
    assert!(!refused(503, "SlowDown", "").needs_new_target());
    assert!(!refused(403, "AccessDenied", "Access Denied").needs_new_target());
    assert!(!refused(500, "InternalError", "").needs_new_target());
    // Nested: what the part failed with decides.
    let part = |source| {
        UploadError::Multipart(MultipartError::Part {
            part: 2,
            parts: 3,
            source: Box::new(source),
            abort: AbortOutcome::Aborted,
        })
    };
    assert!(part(refused(400, "ExpiredToken", "")).needs_new_target());
    assert!(!part(refused(503, "SlowDown", "")).needs_new_target());
}

/// Library messages say what to do in the library's terms and carry the remedy as a value; no
/// message names a command-line flag (the `signpost` command renders remedies as its flags).
#[test]
fn remedies_are_values_and_messages_name_no_flag() {
    let kept = UploadError::Multipart(MultipartError::Kept {
        source: Box::new(UploadError::Client(ClientError::CaBundle {
            path: "ca.pem".into(),
            reason: "no certificate in it".into(),
        })),
        upload_id: "U1".into(),
        stored: 2,
        parts: 5,
    });
    assert_eq!(
        kept.remedies(),
        vec![
            Remedy::ResumeOrAbort {
                upload_id: "U1".into()
            },
            Remedy::FixCaBundle
        ]
    );
    let changed = UploadError::Preflight(PreflightError::ResumeFileChanged {
        path: "clip.mp4".into(),
        upload_id: "U2".into(),
        change: "it grew".into(),
    });
    assert_eq!(
        changed.remedies(),
        vec![Remedy::AbortThenNewTarget {
            upload_id: "U2".into()
        }]
    );
    let prefix = UploadError::Preflight(PreflightError::ContentTypeOutsidePrefix {
        prefix: "video/".into(),
        found: "cannot be told from its name".into(),
    });
    assert_eq!(prefix.remedies(), vec![Remedy::GiveContentType]);
    assert_eq!(
        UploadError::Preflight(PreflightError::NotMultipart).remedies(),
        vec![]
    );
    for e in [kept, changed, prefix] {
        let text = e.to_string();
        assert!(!text.contains("--"), "a flag in a library message: {text}");
        assert!(!text.contains("signpost upload"), "{text}");
    }
}

/// Whatever is refused before sending is one nested kind, so `before_sending` cannot drift from
/// the variants (before, a hand-kept list missed the option and shape refusals: a stream given
/// `--file-name` said something might have been sent).
#[test]
fn every_preflight_refusal_is_before_sending() {
    let refusals = [
        PreflightError::OptionNotApplicable {
            option: UploadOption::FileName,
            upload: "a stream",
        },
        PreflightError::StreamNeedsMultipart,
        PreflightError::NotMultipart,
        PreflightError::BytesNeedPut,
        PreflightError::ContentTypeNotInForm,
    ];
    for p in refusals {
        let needs_new = p.needs_new_target();
        let e = UploadError::from(p);
        assert!(e.before_sending(), "{e}");
        assert_eq!(e.needs_new_target(), needs_new, "{e}");
    }
    assert!(UploadError::from(PreflightError::ContentTypeNotInForm).needs_new_target());
    assert!(!UploadError::from(PreflightError::BytesNeedPut).needs_new_target());
}
