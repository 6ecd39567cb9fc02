//! # signpost-serve: the receivers, on one hardened HTTP core
//!
//! Two programs receive uploads from strangers: the embedded S3 server ([`server`], `signpost
//! serve`: browsers post to it with policies handed out to anyone) and the gateway ([`gateway`],
//! `signpost gateway`: every stock PeerTube runner of an instance uploads through it). Both run
//! on one core ([`core`]): one listener and accept loop, one set of [`Limits`] on everything a
//! client controls (header, body and send timeouts, connections, header and form sizes), one S3
//! error answer, one streaming form reader, one access log, `/healthz`, `/readyz` and
//! `/metrics`, optional TLS and a graceful drain.
//!
//! What a client sends is judged before anything is stored: signatures by signpost's
//! [`Verifier`](signpost_presign::Verifier), keys by the rules of [`keys`] (no key becomes a
//! path outside its bucket), sizes by the limits. A client's mistake is answered with a 4xx and
//! S3's code, never a 5xx.
#![deny(missing_docs)]

pub mod client;
pub mod core;
mod error;
pub mod gateway;
pub mod keys;
mod limits;
pub mod server;

pub use crate::core::{Metrics, Running, TlsFiles};
pub use error::ServeError;
pub use limits::Limits;
