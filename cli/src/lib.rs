//! The `signpost` command's library: the embedded S3 server, the round trip, and the helpers the
//! subcommands share. The signing and uploading logic lives in `signpost-presign` and
//! `signpost-upload`; this crate only wires them to a command line and a server.
#![deny(missing_docs)]

pub mod config;
pub mod fault_proxy;
pub mod gateway;
pub mod http;
pub mod inspect;
pub mod roundtrip;
mod running;
pub mod s3;
pub mod server;
pub mod share;
pub mod size;
