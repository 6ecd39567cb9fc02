//! `signpost` for Python: the Rust presigner, Verifier, descriptor reader and uploader, called
//! in-process from a job server (Django, FastAPI) or a runner. The Python package
//! (`python/signpost/__init__.py`) re-exports this module, `signpost._signpost`.
//!
//! Descriptors cross as plain `dict`s in the wire format (camelCase keys, exactly the JSON a
//! runner receives), built directly rather than through `json.loads`, so a presign costs about
//! what the signing does.

use std::sync::Arc;
use std::time::Duration;

use pyo3::IntoPyObjectExt;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use signpost_presign::{
    Addressing, Credentials, Endpoint, MultipartPlan, PresignError, PresignRequest, Presigner,
    Validity, Verifier as RustVerifier, VerifyError as RustVerifyError,
};
use signpost_upload::{
    FileResumeStore, OnFailure, Progress, ResumeStore, RetryPolicy, RunnerJobCustomUpload,
    UploadError as RustUploadError, UploadOptions, Uploader,
};
use time::OffsetDateTime;

pyo3::create_exception!(
    _signpost,
    Error,
    PyException,
    "Base class of signpost's errors; `code` is a stable word for the kind of failure."
);
pyo3::create_exception!(
    _signpost,
    PresignError_,
    Error,
    "A request that cannot be signed as asked (bucket, key, expiry, region, endpoint)."
);
pyo3::create_exception!(
    _signpost,
    DescriptorError,
    Error,
    "A descriptor that is not a valid RunnerJobCustomUpload (the message names the field)."
);
pyo3::create_exception!(
    _signpost,
    VerifyError,
    Error,
    "A request S3 would refuse: `status` and `s3_code` are what S3 would answer."
);
pyo3::create_exception!(
    _signpost,
    UploadError,
    Error,
    "An upload that failed: `code` (expired, refused, unreachable, …), `status` and `s3_code` \
     when the server answered, `needs_new_target`, `upload_id` when a multipart upload is kept."
);

/// Raises `class(message)` with the given attributes set on the exception.
fn raise(py: Python<'_>, err: PyErr, attrs: &[(&str, PyObject)]) -> PyErr {
    let value = err.value(py);
    for (k, v) in attrs {
        // Setting an attribute on a fresh exception instance cannot fail in practice; if it
        // did, the exception still carries its message.
        let _ = value.setattr(*k, v);
    }
    err
}

fn presign_error(e: PresignError) -> PyErr {
    Python::with_gil(|py| {
        raise(
            py,
            PresignError_::new_err(e.to_string()),
            &[("code", py_str(py, "invalid-argument"))],
        )
    })
}

fn py_str(py: Python<'_>, s: &str) -> PyObject {
    s.into_py_any(py).unwrap_or_else(|_| py.None())
}

fn py_opt<T: for<'a> IntoPyObject<'a>>(py: Python<'_>, v: Option<T>) -> PyObject {
    match v {
        Some(v) => v.into_py_any(py).unwrap_or_else(|_| py.None()),
        None => py.None(),
    }
}

fn descriptor_error(py: Python<'_>, message: String) -> PyErr {
    raise(
        py,
        DescriptorError::new_err(message),
        &[("code", py_str(py, "invalid-descriptor"))],
    )
}

fn upload_error(py: Python<'_>, e: &RustUploadError) -> PyErr {
    let upload_id = match e {
        RustUploadError::Multipart(signpost_upload::MultipartError::Kept { upload_id, .. }) => {
            Some(upload_id.clone())
        }
        _ => None,
    };
    raise(
        py,
        UploadError::new_err(e.to_string()),
        &[
            ("code", py_str(py, e.kind().as_str())),
            ("status", py_opt(py, e.status())),
            (
                "s3_code",
                py_opt(py, e.s3_code().map(|c| c.as_str().to_owned())),
            ),
            ("needs_new_target", py_opt(py, Some(e.needs_new_target()))),
            ("before_sending", py_opt(py, Some(e.before_sending()))),
            ("upload_id", py_opt(py, upload_id)),
        ],
    )
}

/// A `serde_json` value as Python objects (dicts keep the JSON's key order).
fn to_py(py: Python<'_>, v: &serde_json::Value) -> PyResult<PyObject> {
    use serde_json::Value;
    Ok(match v {
        Value::Null => py.None(),
        Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any().unbind(),
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => u.into_pyobject(py)?.into_any().unbind(),
            (None, Some(i)) => i.into_pyobject(py)?.into_any().unbind(),
            _ => n
                .as_f64()
                .unwrap_or(f64::NAN)
                .into_pyobject(py)?
                .into_any()
                .unbind(),
        },
        Value::String(s) => s.into_pyobject(py)?.into_any().unbind(),
        Value::Array(a) => {
            let l = PyList::empty(py);
            for x in a {
                l.append(to_py(py, x)?)?;
            }
            l.into_any().unbind()
        }
        Value::Object(m) => {
            let d = PyDict::new(py);
            for (k, x) in m {
                d.set_item(k, to_py(py, x)?)?;
            }
            d.into_any().unbind()
        }
    })
}

/// A descriptor as the wire format's dict.
fn descriptor_dict(py: Python<'_>, job: &RunnerJobCustomUpload) -> PyResult<PyObject> {
    let v = serde_json::to_value(job)
        .map_err(|e| descriptor_error(py, format!("the descriptor cannot be written: {e}")))?;
    to_py(py, &v)
}

/// A descriptor given as a dict (or a JSON string), read and validated.
fn read_descriptor(py: Python<'_>, d: &Bound<'_, PyAny>) -> PyResult<RunnerJobCustomUpload> {
    let text: String = if let Ok(s) = d.extract::<String>() {
        s
    } else {
        let json = py.import("json")?;
        json.call_method1("dumps", (d,))?.extract()?
    };
    RunnerJobCustomUpload::from_json(&text).map_err(|e| descriptor_error(py, e.to_string()))
}

/// The validity window: `expires` seconds (1 to 604800), signed now or at `signed_at`.
fn validity(expires: u64, signed_at: Option<&str>) -> PyResult<Validity> {
    let v = Validity::expires_in(Duration::from_secs(expires)).map_err(presign_error)?;
    match signed_at {
        None => Ok(v),
        Some(t) => {
            let at = signpost_wire::amz_date::parse_rfc3339(t).ok_or_else(|| {
                Python::with_gil(|py| {
                    raise(
                        py,
                        PresignError_::new_err(format!(
                            "signed_at {t:?} is not an RFC 3339 time (e.g. 2026-01-31T12:00:00Z)"
                        )),
                        &[("code", py_str(py, "invalid-argument"))],
                    )
                })
            })?;
            v.signed_at(at).map_err(presign_error)
        }
    }
}

/// Signs S3 requests: presigned PUT, GET, POST policies and multipart plans, each returned as
/// the descriptor a runner receives.
#[pyclass(name = "Presigner", module = "signpost", frozen)]
#[derive(Debug)]
struct Presigner_ {
    inner: Presigner,
}

#[pymethods]
impl Presigner_ {
    /// `endpoint`: a custom S3 endpoint (MinIO, Garage, `signpost serve`), path style unless
    /// `virtual_hosted`; `None`: AWS S3 for the region.
    #[new]
    #[pyo3(signature = (*, access_key_id, secret_access_key, session_token=None, endpoint=None, region="us-east-1", virtual_hosted=false))]
    fn new(
        access_key_id: String,
        secret_access_key: String,
        session_token: Option<String>,
        endpoint: Option<String>,
        region: &str,
        virtual_hosted: bool,
    ) -> PyResult<Self> {
        let endpoint = match endpoint {
            Some(url) => {
                let e = Endpoint::custom(&url, region).map_err(presign_error)?;
                if virtual_hosted {
                    e.with_addressing(Addressing::VirtualHosted)
                } else {
                    e
                }
            }
            None => Endpoint::aws(region).map_err(presign_error)?,
        };
        let mut credentials = Credentials::new(access_key_id, secret_access_key);
        if let Some(t) = session_token {
            credentials = credentials.with_session_token(t);
        }
        Ok(Presigner_ {
            inner: Presigner::new(credentials, endpoint),
        })
    }

    /// A presigned PUT, as a descriptor dict (`url`, `method`, `headers`,
    /// `expectedStatusCodes`). `content_length` signs an exact size; `metadata` signs
    /// `x-amz-meta-*` headers; `checksum_sha256` (base64) makes S3 verify the content.
    #[pyo3(signature = (*, bucket, key, expires=3600, content_type=None, content_length=None, metadata=None, checksum_sha256=None, signed_at=None))]
    #[allow(clippy::too_many_arguments)]
    fn presign_put(
        &self,
        py: Python<'_>,
        bucket: &str,
        key: &str,
        expires: u64,
        content_type: Option<&str>,
        content_length: Option<u64>,
        metadata: Option<Vec<(String, String)>>,
        checksum_sha256: Option<&str>,
        signed_at: Option<&str>,
    ) -> PyResult<PyObject> {
        let mut req =
            PresignRequest::put_object(bucket, key).validity(validity(expires, signed_at)?);
        if let Some(ct) = content_type {
            req = req.content_type(ct);
        }
        if let Some(n) = content_length {
            req = req.content_length(n);
        }
        for (k, v) in metadata.unwrap_or_default() {
            req = req.meta(&k, v);
        }
        if let Some(c) = checksum_sha256 {
            req = req.checksum_sha256(c);
        }
        let job = self
            .inner
            .presign(&req)
            .and_then(|r| r.to_descriptor())
            .map_err(presign_error)?;
        descriptor_dict(py, &job)
    }

    /// A presigned GET URL.
    #[pyo3(signature = (*, bucket, key, expires=3600, signed_at=None))]
    fn presign_get(
        &self,
        bucket: &str,
        key: &str,
        expires: u64,
        signed_at: Option<&str>,
    ) -> PyResult<String> {
        let r = self
            .inner
            .presign(
                &PresignRequest::get_object(bucket, key).validity(validity(expires, signed_at)?),
            )
            .map_err(presign_error)?;
        Ok(r.url().as_str().to_owned())
    }

    /// A POST policy form, as a descriptor dict (`url`, `method: "POST"`, ordered `fields`).
    /// Exactly one of `key` and `key_prefix` (the runner's file name is appended).
    #[pyo3(signature = (*, bucket, key=None, key_prefix=None, min_size=None, max_size=None, content_type=None, content_type_prefix=None, success_status=None, metadata=None, expires=3600, signed_at=None))]
    #[allow(clippy::too_many_arguments)]
    fn presign_post(
        &self,
        py: Python<'_>,
        bucket: &str,
        key: Option<&str>,
        key_prefix: Option<&str>,
        min_size: Option<u64>,
        max_size: Option<u64>,
        content_type: Option<&str>,
        content_type_prefix: Option<&str>,
        success_status: Option<u16>,
        metadata: Option<Vec<(String, String)>>,
        expires: u64,
        signed_at: Option<&str>,
    ) -> PyResult<PyObject> {
        let mut b = self
            .inner
            .post_policy(bucket)
            .validity(validity(expires, signed_at)?);
        b = match (key, key_prefix) {
            (Some(k), None) => b.key(k),
            (None, Some(p)) => b.key_starts_with(p),
            _ => {
                return Err(raise(
                    py,
                    PresignError_::new_err("give exactly one of key and key_prefix"),
                    &[("code", py_str(py, "invalid-argument"))],
                ));
            }
        };
        if min_size.is_some() || max_size.is_some() {
            b = b.content_length_range(
                min_size.unwrap_or(0),
                max_size.unwrap_or(signpost_wire::limits::MAX_PUT_SIZE),
            );
        }
        if let Some(ct) = content_type {
            b = b.content_type(ct);
        }
        if let Some(p) = content_type_prefix {
            b = b.content_type_starts_with(p);
        }
        if let Some(s) = success_status {
            b = b.success_action_status(s);
        }
        for (k, v) in metadata.unwrap_or_default() {
            b = b.meta(&k, v);
        }
        let form = b.build().map_err(presign_error)?;
        descriptor_dict(py, &form.to_descriptor())
    }

    /// The multipart descriptor for an upload already started (`upload_id`, from
    /// `create_multipart_upload`): a URL per part for a file of up to `max_size` bytes, the
    /// Complete, Abort and ListParts URLs. Signing again for the same id gives a fresh
    /// descriptor a runner resumes with.
    #[pyo3(signature = (*, bucket, key, upload_id, max_size, part_size=64 * 1024 * 1024, expires=3600, signed_at=None))]
    #[allow(clippy::too_many_arguments)]
    fn presign_multipart(
        &self,
        py: Python<'_>,
        bucket: &str,
        key: &str,
        upload_id: &str,
        max_size: u64,
        part_size: u64,
        expires: u64,
        signed_at: Option<&str>,
    ) -> PyResult<PyObject> {
        let v = validity(expires, signed_at)?;
        let job = MultipartPlan::builder(bucket, key, upload_id)
            .part_size(part_size)
            .max_object_size(max_size)
            .build()
            .and_then(|plan| plan.presign(&self.inner, v))
            .map_err(presign_error)?
            .into_descriptor();
        descriptor_dict(py, &job)
    }

    /// Starts a multipart upload on the endpoint (CreateMultipartUpload, retried) and returns
    /// its upload id. Releases the GIL while it waits.
    #[pyo3(signature = (*, bucket, key, content_type=None))]
    fn create_multipart_upload(
        &self,
        py: Python<'_>,
        bucket: &str,
        key: &str,
        content_type: Option<&str>,
    ) -> PyResult<String> {
        let mut req = PresignRequest::create_multipart_upload(bucket, key);
        if let Some(ct) = content_type {
            req = req.content_type(ct);
        }
        let signed = self.inner.presign(&req).map_err(presign_error)?;
        let result = py.allow_threads(|| {
            let rt = runtime()?;
            rt.block_on(async {
                let up = Uploader::builder().build()?;
                up.create_multipart_upload(signed.url().clone(), signed.headers())
                    .await
            })
        });
        result.map_err(|e| upload_error(py, &e))
    }

    fn __repr__(&self) -> String {
        format!(
            "Presigner(endpoint={:?}, region={:?})",
            self.inner.endpoint().url(),
            self.inner.endpoint().region()
        )
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, RustUploadError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| RustUploadError::Client(signpost_upload::ClientError::Runtime(e)))
}

/// Checks requests and forms as S3 would, for a receiver written in Python.
#[pyclass(name = "Verifier", module = "signpost", frozen)]
#[derive(Debug)]
struct Verifier_ {
    inner: RustVerifier,
}

fn verify_error(py: Python<'_>, e: &RustVerifyError) -> PyErr {
    raise(
        py,
        VerifyError::new_err(e.to_string()),
        &[
            ("code", py_str(py, "refused")),
            ("status", py_opt(py, Some(e.status()))),
            ("s3_code", py_str(py, e.s3_code())),
        ],
    )
}

#[pymethods]
impl Verifier_ {
    #[new]
    #[pyo3(signature = (*, access_key_id, secret_access_key, region="us-east-1"))]
    fn new(access_key_id: String, secret_access_key: String, region: &str) -> Self {
        Verifier_ {
            inner: RustVerifier::new(Credentials::new(access_key_id, secret_access_key), region),
        }
    }

    /// Verifies a presigned request as received (`headers`: a dict or a list of pairs, `Host`
    /// included); raises `VerifyError` with the rule that fails.
    #[pyo3(signature = (method, url, headers))]
    fn verify_presigned(
        &self,
        py: Python<'_>,
        method: &str,
        url: &str,
        headers: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let pairs = pairs(headers)?;
        let refs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.inner
            .verify_presigned(method, url, &refs, OffsetDateTime::now_utc())
            .map(|_| ())
            .map_err(|e| verify_error(py, &e))
    }

    /// Verifies a POST form's fields (in order; `file` and what follows it excluded) posted
    /// to `url`; raises `VerifyError` with the rule that fails.
    fn verify_post(&self, py: Python<'_>, url: &str, fields: &Bound<'_, PyAny>) -> PyResult<()> {
        let pairs = pairs(fields)?;
        self.inner
            .verify_post(
                url,
                pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                OffsetDateTime::now_utc(),
            )
            .map(|_| ())
            .map_err(|e| verify_error(py, &e))
    }
}

/// A dict or a sequence of `(name, value)` pairs, in order.
fn pairs(obj: &Bound<'_, PyAny>) -> PyResult<Vec<(String, String)>> {
    if let Ok(d) = obj.downcast::<PyDict>() {
        return d
            .iter()
            .map(|(k, v)| Ok((k.extract()?, v.extract()?)))
            .collect();
    }
    obj.extract()
}

/// Reads and validates a descriptor (a dict or a JSON string); returns it as the wire format's
/// dict, normalized (defaults filled in). Raises `DescriptorError` naming the field.
#[pyfunction]
fn parse_descriptor(py: Python<'_>, descriptor: &Bound<'_, PyAny>) -> PyResult<PyObject> {
    let job = read_descriptor(py, descriptor)?;
    descriptor_dict(py, &job)
}

/// Uploads `path` to `descriptor` (a dict or JSON string), blocking with the GIL released:
/// PUT, POST or multipart, retried, every ETag checked, resumable (a multipart upload's journal
/// under `state_dir`, else none). `progress(bytes_sent, total_bytes)` is called as bytes go
/// out. Returns the outcome as a dict; raises `UploadError` with `code`.
#[pyfunction]
#[pyo3(signature = (descriptor, path, *, progress=None, state_dir=None, on_failure=None, content_type=None, file_name=None, retries=3, concurrency=4))]
#[allow(clippy::too_many_arguments)]
fn upload(
    py: Python<'_>,
    descriptor: &Bound<'_, PyAny>,
    path: std::path::PathBuf,
    progress: Option<PyObject>,
    state_dir: Option<std::path::PathBuf>,
    on_failure: Option<&str>,
    content_type: Option<String>,
    file_name: Option<String>,
    retries: u32,
    concurrency: usize,
) -> PyResult<PyObject> {
    let job = read_descriptor(py, descriptor)?;
    let on_failure = match on_failure {
        None => OnFailure::KeepIfResumable,
        Some("keep") => OnFailure::Keep,
        Some("abort") => OnFailure::Abort,
        Some(other) => {
            return Err(raise(
                py,
                UploadError::new_err(format!("on_failure {other:?} is not \"keep\" or \"abort\"")),
                &[("code", py_str(py, "invalid-option"))],
            ));
        }
    };
    let progress_fn = progress.map(|cb| {
        let cb = Arc::new(cb);
        Arc::new(move |p: Progress| {
            Python::with_gil(|py| {
                if let Err(e) = cb.call1(py, (p.bytes_sent, p.total_bytes)) {
                    // A failing callback is reported, not fatal to the upload.
                    e.print(py);
                }
            });
        }) as signpost_upload::ProgressFn
    });
    let opts = UploadOptions {
        progress: progress_fn,
        file_name,
        content_type,
        resume: state_dir.map(|d| Arc::new(FileResumeStore::new(d)) as Arc<dyn ResumeStore>),
        on_failure,
        ..UploadOptions::default()
    };
    let result = py.allow_threads(|| {
        let rt = runtime()?;
        rt.block_on(async {
            let up = Uploader::builder()
                .retry(RetryPolicy {
                    max_attempts: retries + 1,
                    ..RetryPolicy::default()
                })
                .concurrency(concurrency)
                .build()?;
            up.upload_with(&job, &path, &opts).await
        })
    });
    let out = result.map_err(|e| upload_error(py, &e))?;
    let v = serde_json::to_value(&out)
        .map_err(|e| UploadError::new_err(format!("the outcome cannot be written: {e}")))?;
    to_py(py, &v)
}

#[pymodule]
fn _signpost(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<Presigner_>()?;
    m.add_class::<Verifier_>()?;
    m.add_function(wrap_pyfunction!(parse_descriptor, m)?)?;
    m.add_function(wrap_pyfunction!(upload, m)?)?;
    m.add("Error", py.get_type::<Error>())?;
    m.add("PresignError", py.get_type::<PresignError_>())?;
    m.add("DescriptorError", py.get_type::<DescriptorError>())?;
    m.add("VerifyError", py.get_type::<VerifyError>())?;
    m.add("UploadError", py.get_type::<UploadError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
