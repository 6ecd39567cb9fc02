//! The listings: ListParts and ListObjectsV2 answers.

use serde::Deserialize;

use super::Document;

/// One part in a [`ListPartsResult`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
#[non_exhaustive]
pub struct ListedPart {
    /// Its number.
    pub part_number: u32,
    /// Its ETag.
    #[serde(rename = "ETag")]
    pub etag: String,
    /// Its size in bytes.
    pub size: u64,
}

/// ListParts's answer: the parts a multipart upload holds (one page).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
#[non_exhaustive]
pub struct ListPartsResult {
    /// The upload.
    pub upload_id: String,
    /// Whether another page follows.
    pub is_truncated: bool,
    /// Where the next page starts.
    pub next_part_number_marker: Option<u32>,
    /// The parts of this page.
    #[serde(rename = "Part")]
    pub parts: Vec<ListedPart>,
}

impl Document for ListPartsResult {
    const ROOTS: &'static [&'static str] = &["ListPartsResult"];
}

/// One object in a [`ListBucketResult`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
#[non_exhaustive]
pub struct ListedObject {
    /// Its key.
    pub key: String,
    /// When it was last written, as the server wrote it (ISO 8601, e.g. `2026-12-07T12:00:00.000Z`).
    pub last_modified: String,
    /// Its size in bytes.
    pub size: u64,
}

/// ListObjectsV2's answer: the objects under a prefix (one page).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
#[non_exhaustive]
pub struct ListBucketResult {
    /// Whether another page follows.
    pub is_truncated: bool,
    /// The `continuation-token` of the next page.
    pub next_continuation_token: Option<String>,
    /// The objects of this page.
    #[serde(rename = "Contents")]
    pub contents: Vec<ListedObject>,
}

impl Document for ListBucketResult {
    const ROOTS: &'static [&'static str] = &["ListBucketResult"];
}
