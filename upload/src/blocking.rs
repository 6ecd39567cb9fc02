//! A blocking wrapper for programs without an async runtime.
//!
//! ```no_run
//! use signpost_upload::blocking::BlockingUploader;
//! use signpost_upload::RunnerJobCustomUpload;
//! let job = RunnerJobCustomUpload::from_json(r#"{"url":"http://127.0.0.1:9000/b/k?X-Amz-Signature=…"}"#)?;
//! let up = BlockingUploader::new()?;
//! let outcome = up.upload(&job, "output.mp4")?;
//! println!("{} bytes, HTTP {}", outcome.bytes, outcome.status);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::Path;

use signpost_wire::RunnerJobCustomUpload;

use crate::error::{ClientError, UploadError};
use crate::outcome::UploadOutcome;
use crate::plan::UploadOptions;
use crate::uploader::Uploader;

/// Runs an [`Uploader`] on its own single-threaded runtime. Do not call it from inside an async
/// runtime (use [`Uploader`] there).
#[derive(Debug)]
pub struct BlockingUploader {
    rt: tokio::runtime::Runtime,
    inner: Uploader,
}

impl BlockingUploader {
    /// With default settings.
    pub fn new() -> Result<Self, UploadError> {
        Self::with(Uploader::builder())
    }

    /// With the builder's settings.
    pub fn with(builder: crate::uploader::UploaderBuilder) -> Result<Self, UploadError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| UploadError::Client(ClientError::Runtime(e)))?;
        // reqwest's client must be built inside the runtime that drives it.
        let inner = rt.block_on(async { builder.build() })?;
        Ok(BlockingUploader { rt, inner })
    }

    /// Uploads `path` to `job`, blocking until done.
    pub fn upload(
        &self,
        job: &RunnerJobCustomUpload,
        path: impl AsRef<Path>,
    ) -> Result<UploadOutcome, UploadError> {
        self.upload_with(job, path, &UploadOptions::default())
    }

    /// Uploads with options.
    pub fn upload_with(
        &self,
        job: &RunnerJobCustomUpload,
        path: impl AsRef<Path>,
        opts: &UploadOptions,
    ) -> Result<UploadOutcome, UploadError> {
        self.rt.block_on(self.inner.upload_with(job, path, opts))
    }
}
