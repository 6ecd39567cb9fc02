//! The one streaming reader of `multipart/form-data` bodies (S3's POST Object, the stock
//! runner's uploads): the fields before the file, held to a byte budget and a count, then the
//! file as a stream, never held whole.
//!
//! The budget counts the raw bytes the form parser takes from the body until the file part's
//! headers have been read: every field's name, value and part headers, the boundaries, any
//! preamble. It is enforced on the stream itself, so a part header that never ends, a preamble
//! of gigabytes or a hundred thousand empty fields cost at most the budget, before any policy or
//! signature is looked at (S3 answers `MaxPostPreDataLengthExceeded` past its 20 KB).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::Stream;
use http_body::Body as _;

use super::body::{BodyError, RequestBody};

/// Why a form could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FormError {
    /// More bytes before the file's data than the budget.
    #[error(
        "the POST request's fields preceding the upload file are over this server's limit of {limit} bytes"
    )]
    TooLarge {
        /// The budget.
        limit: usize,
    },
    /// More fields before the file than allowed.
    #[error("the POST request has more than {limit} fields before the file")]
    TooManyFields {
        /// The limit.
        limit: usize,
    },
    /// Not `multipart/form-data` as RFC 7578 has it.
    #[error("the body of the POST request is not well-formed multipart/form-data: {0}")]
    Malformed(String),
    /// The form ended without a `file` part.
    #[error("POST requires exactly one file upload per request: the form has no `file` field")]
    NoFile,
    /// The body itself failed (timeout, drain, the client left).
    #[error(transparent)]
    Body(#[from] BodyError),
}

impl FormError {
    /// S3's status and code.
    pub fn s3_code(&self) -> (u16, &'static str) {
        match self {
            FormError::TooLarge { .. } | FormError::TooManyFields { .. } => {
                (400, "MaxPostPreDataLengthExceeded")
            }
            FormError::Malformed(_) => (400, "MalformedPOSTRequest"),
            FormError::NoFile => (400, "InvalidArgument"),
            FormError::Body(b) => b.s3_code(),
        }
    }

    fn from_multer(e: multer::Error) -> Self {
        if let multer::Error::StreamReadFailed(inner) = &e
            && let Some(b) = inner.downcast_ref::<BodyError>()
        {
            return FormError::Body(match b {
                BodyError::Idle(d) => BodyError::Idle(*d),
                BodyError::Draining => BodyError::Draining,
                BodyError::Transport(_) => {
                    return FormError::Malformed("the client stopped sending".into());
                }
            });
        }
        FormError::Malformed(e.to_string())
    }
}

/// The multipart boundary of a `multipart/form-data` content type, if it is one.
pub fn boundary(content_type: &str) -> Option<String> {
    is_form_type(content_type)
        .then(|| multer::parse_boundary(content_type).ok())
        .flatten()
}

/// Whether a content type is `multipart/form-data` (any letter case, any parameters).
pub fn is_form_type(content_type: &str) -> bool {
    content_type
        .trim_start()
        .get(..19)
        .is_some_and(|t| t.eq_ignore_ascii_case("multipart/form-data"))
}

/// The budget shared by the stream and the reader.
#[derive(Debug)]
struct Budget {
    limit: usize,
    used: AtomicUsize,
    /// Still before the file: the budget applies.
    counting: AtomicBool,
    /// The parser wanted more than the budget allows.
    starved: AtomicBool,
}

/// The body as the parser reads it: within the budget while it is counting.
struct Budgeted {
    body: RequestBody,
    held: Option<Bytes>,
    budget: Arc<Budget>,
}

impl Stream for Budgeted {
    type Item = Result<Bytes, BodyError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let counting = this.budget.counting.load(Ordering::Acquire);
        let chunk = match this.held.take() {
            Some(c) => c,
            None => loop {
                match Pin::new(&mut this.body).poll_frame(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(None) => return Poll::Ready(None),
                    Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                    Poll::Ready(Some(Ok(frame))) => {
                        if let Ok(data) = frame.into_data()
                            && !data.is_empty()
                        {
                            break data;
                        }
                    }
                }
            },
        };
        if !counting {
            return Poll::Ready(Some(Ok(chunk)));
        }
        let used = this.budget.used.load(Ordering::Acquire);
        let left = this.budget.limit.saturating_sub(used);
        if left == 0 {
            // Not an error here: the parser may already hold all it needs for the file part.
            // The reader decides once the parser says it cannot go on.
            this.held = Some(chunk);
            this.budget.starved.store(true, Ordering::Release);
            return Poll::Pending;
        }
        let mut chunk = chunk;
        if chunk.len() > left {
            this.held = Some(chunk.split_off(left));
        }
        this.budget.used.fetch_add(chunk.len(), Ordering::AcqRel);
        Poll::Ready(Some(Ok(chunk)))
    }
}

/// A form's fields, up to the file, and the file.
pub struct Form {
    /// The fields before the file, in order, values as text.
    pub fields: Vec<(String, String)>,
    /// The file part.
    pub file: FilePart,
}

impl std::fmt::Debug for Form {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Form")
            .field("fields", &self.fields.len())
            .field("file", &self.file.file_name)
            .finish()
    }
}

/// The file part, read as it streams.
pub struct FilePart {
    field: multer::Field<'static>,
    /// The part's `filename`.
    pub file_name: String,
    /// The part's own `Content-Type`.
    pub content_type: Option<String>,
}

impl FilePart {
    /// The next chunk of the file, `None` at its end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, FormError> {
        self.field.chunk().await.map_err(FormError::from_multer)
    }

    /// The file as a stream of chunks.
    pub fn into_stream(self) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send {
        use futures_util::TryStreamExt;
        self.field.map_err(|e| {
            let e = FormError::from_multer(e);
            std::io::Error::other(e)
        })
    }
}

impl std::fmt::Debug for FilePart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FilePart")
            .field("file_name", &self.file_name)
            .field("content_type", &self.content_type)
            .finish_non_exhaustive()
    }
}

/// Polls `fut`; a parser that stalls because the budget is spent is refused, not waited on.
async fn within<T>(
    budget: &Budget,
    fut: impl Future<Output = Result<T, multer::Error>>,
) -> Result<T, FormError> {
    let mut fut = std::pin::pin!(fut);
    std::future::poll_fn(|cx| match fut.as_mut().poll(cx) {
        Poll::Ready(r) => Poll::Ready(r.map_err(FormError::from_multer)),
        Poll::Pending if budget.starved.load(Ordering::Acquire) => {
            Poll::Ready(Err(FormError::TooLarge {
                limit: budget.limit,
            }))
        }
        Poll::Pending => Poll::Pending,
    })
    .await
}

/// Reads the fields of a form up to its `file` part (S3 ignores what follows the file).
pub async fn read_until_file(
    body: RequestBody,
    boundary: String,
    max_bytes: usize,
    max_fields: usize,
) -> Result<Form, FormError> {
    let budget = Arc::new(Budget {
        limit: max_bytes,
        used: AtomicUsize::new(0),
        counting: AtomicBool::new(true),
        starved: AtomicBool::new(false),
    });
    let stream = Budgeted {
        body,
        held: None,
        budget: Arc::clone(&budget),
    };
    let mut form = multer::Multipart::new(stream, boundary);
    let mut fields = Vec::new();
    loop {
        let Some(mut field) = within(&budget, form.next_field()).await? else {
            return Err(FormError::NoFile);
        };
        let name = field.name().unwrap_or_default().to_owned();
        if name.eq_ignore_ascii_case("file") {
            budget.counting.store(false, Ordering::Release);
            let file_name = field.file_name().unwrap_or_default().to_owned();
            let content_type = field.content_type().map(|m| m.to_string());
            return Ok(Form {
                fields,
                file: FilePart {
                    field,
                    file_name,
                    content_type,
                },
            });
        }
        if fields.len() == max_fields {
            return Err(FormError::TooManyFields { limit: max_fields });
        }
        let mut value = Vec::new();
        while let Some(chunk) = within(&budget, field.chunk()).await? {
            value.extend_from_slice(&chunk);
        }
        fields.push((name, String::from_utf8_lossy(&value).into_owned()));
    }
}
