//! Receiving an admitted upload: the file out of the body as the runner or an S3 client sends
//! it, through the body's checks, stored upstream within the read timeout; and S3's answer when
//! that fails.

use futures_util::TryStreamExt;
use http_body_util::BodyExt;
use hyper::{Request, Response};
use signpost_upload::signpost_wire::s3_xml::S3ErrorCode;
use tokio_util::io::StreamReader;

use super::guard::{Guard, refusal_of};
use super::upstream::StoreError;
use super::{State, error};
use crate::core::{self, Body, BodyError, RequestBody};

impl State {
    pub(super) async fn receive(
        &self,
        req: Request<RequestBody>,
        bucket: &str,
        key: &str,
        rules: signpost_presign::BodyRules,
    ) -> Result<Option<String>, Response<Body>> {
        // The body holds at most what it announces: the multipart plan and the guard use that.
        let announced = req
            .headers()
            .get(hyper::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let limit = announced.map_or(self.opts.max_object_size, |n| {
            n.min(self.opts.max_object_size)
        });
        let content_type = req
            .headers()
            .get(hyper::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let boundary = content_type.as_deref().and_then(core::form::boundary);
        let body = req.into_body();
        let work = async {
            match boundary {
                Some(boundary) => {
                    let form = core::form::read_until_file(
                        body,
                        boundary,
                        self.opts.limits.form_bytes,
                        self.opts.limits.form_fields,
                    )
                    .await
                    .map_err(|e| {
                        let (status, code) = e.s3_code();
                        error(status, code, &e.to_string())
                    })?;
                    let ct = form.file.content_type.clone();
                    let reader = StreamReader::new(form.file.into_stream());
                    // The form's own length is not the file's: only the object limit applies.
                    let mut guard =
                        Guard::new(reader, limit, signpost_presign::BodyRules::default());
                    self.upstream
                        .store(bucket, key, ct.as_deref(), limit, &mut guard)
                        .await
                        .map_err(|e| self.store_error(&e))
                }
                None => {
                    let stream = body.into_data_stream().map_err(std::io::Error::other);
                    let mut guard = Guard::new(StreamReader::new(stream), limit, rules);
                    self.upstream
                        .store(bucket, key, content_type.as_deref(), limit, &mut guard)
                        .await
                        .map_err(|e| self.store_error(&e))
                }
            }
        };
        match tokio::time::timeout(self.opts.read_timeout, work).await {
            Ok(r) => r,
            Err(_) => Err(error(
                400,
                "RequestTimeout",
                "the upload took longer than the gateway's read timeout",
            )),
        }
    }

    /// S3's answer for a failed store: the body's refusal, or the upstream's failure, whose
    /// details go to the log only.
    fn store_error(&self, e: &StoreError) -> Response<Body> {
        if let Some(r) = refusal_of(e) {
            return error(r.status(), r.s3_code(), &r.to_string());
        }
        if let Some(b) = BodyError::find(e) {
            let (status, code) = b.s3_code();
            return error(status, code, &b.to_string());
        }
        match e {
            StoreError::Body(io) => error(
                400,
                "IncompleteBody",
                &format!("the body could not be read: {io}"),
            ),
            StoreError::Upload(u) if u.s3_code() == Some(&S3ErrorCode::SlowDown) => {
                self.metrics.upstream_error();
                error(503, "SlowDown", "Please reduce your request rate.")
            }
            other => {
                self.metrics.upstream_error();
                tracing::warn!(error = %other, "the upstream store failed");
                error(
                    502,
                    "InternalError",
                    "the gateway could not store the object upstream; nothing was stored (the gateway's log has the upstream's answer)",
                )
            }
        }
    }
}
