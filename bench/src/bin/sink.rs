//! A loopback HTTP sink for upload benchmarks: reads every request body to its end, throws the
//! bytes away and answers `200` with an ETag, so an uploader is measured rather than a server's
//! disk. Prints its address, then serves until killed.
//!
//! `cargo run --release -p signpost-bench --bin sink [ADDR]` (default `127.0.0.1:0`)

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

async fn drain(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut body = req.into_body();
    let mut n = 0u64;
    while let Some(Ok(frame)) = body.frame().await {
        if let Ok(d) = frame.into_data() {
            n += d.len() as u64;
        }
    }
    let mut r = Response::new(Full::new(Bytes::new()));
    if let Ok(v) = format!("\"sink-{n}\"").parse() {
        r.headers_mut().insert("etag", v);
    }
    Ok(r)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let listener = TcpListener::bind(&addr).await?;
    println!("http://{}", listener.local_addr()?);
    loop {
        let (sock, _) = listener.accept().await?;
        tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(sock), service_fn(drain))
                .await;
        });
    }
}
