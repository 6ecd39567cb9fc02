//! The `signpost` command's library: the round trip, and the helpers the subcommands share. The
//! signing, uploading and receiving logic lives in `signpost-presign`, `signpost-upload` and
//! `signpost-serve`; this crate only wires them to a command line.
#![deny(missing_docs)]

pub mod config;
pub mod fault_proxy;
pub mod http;
pub mod inspect;
pub mod remedy;
pub mod report;
pub mod roundtrip;
pub mod s3;
pub mod share;
pub mod size;
