//! The file being uploaded: checked before anything is sent, read again (never written) on
//! every attempt, and checked once more at the end so an object is never completed from a file
//! that was still being written.

use crate::error::PreflightError;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::error::{FileChange, UploadError};

/// A regular file, readable, with the size and modification time it had when the upload began.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileSource {
    path: PathBuf,
    len: u64,
    modified: Option<SystemTime>,
}

impl FileSource {
    /// Checks that `path` is a readable regular file and records its size and time.
    pub fn open(path: &Path) -> Result<Self, UploadError> {
        let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => UploadError::Preflight(PreflightError::FileNotFound {
                path: path.to_owned(),
            }),
            _ => UploadError::FileUnreadable {
                path: path.to_owned(),
                source: e,
            },
        })?;
        if !meta.is_file() {
            return Err(UploadError::Preflight(PreflightError::NotAFile {
                path: path.to_owned(),
            }));
        }
        // Opening proves it is readable before anything is sent.
        std::fs::File::open(path).map_err(|e| UploadError::FileUnreadable {
            path: path.to_owned(),
            source: e,
        })?;
        Ok(FileSource {
            path: path.to_owned(),
            len: meta.len(),
            modified: meta.modified().ok(),
        })
    }

    /// The path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Its size when the upload began.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Its modification time when the upload began, when the platform has one.
    pub fn modified(&self) -> Option<SystemTime> {
        self.modified
    }

    /// An empty file.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The path's last component, the name a POST's file part carries by default.
    pub fn file_name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "file".into())
    }

    /// Fails if the file's size or modification time moved since [`open`](Self::open).
    pub fn check_unchanged(&self) -> Result<(), UploadError> {
        let meta = std::fs::metadata(&self.path).map_err(|e| UploadError::FileUnreadable {
            path: self.path.clone(),
            source: e,
        })?;
        let change = if meta.len() != self.len {
            FileChange::Resized {
                from: self.len,
                to: meta.len(),
            }
        } else if meta.modified().ok() != self.modified {
            FileChange::Modified
        } else {
            return Ok(());
        };
        Err(UploadError::FileChanged {
            path: self.path.clone(),
            change,
        })
    }
}
