//! A raw HTTP/1.1 client: the request line, headers and body written exactly as given, so a test
//! can send what HTTP libraries would normalise away (a lower-case method, no Host header, two
//! Host headers, a path with unusual escapes).

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What came back.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// The status code.
    pub status: u16,
    /// The headers, in order.
    pub headers: Vec<(String, String)>,
    /// The body as text (servers answer small XML documents here).
    pub body: String,
}

impl RawResponse {
    /// A header's value (names are case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends one request to `endpoint` (`http://host:port`) and reads the answer to the end of the
/// connection. `headers` are written in order and as given; `Connection: close` is added.
pub async fn send(
    endpoint: &str,
    method: &str,
    target: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> anyhow::Result<RawResponse> {
    let mut headers = headers.to_vec();
    headers.push(("Connection".into(), "close".into()));
    let mut stream = open(endpoint, method, target, &headers).await?;
    // A server may answer and close before reading the body; that is an answer, not a failure.
    let _ = stream.write_all(body).await;
    let _ = stream.flush().await;
    answer(stream).await
}

/// Reads the answer on `stream` to the end of the connection (the request asked for
/// `Connection: close`).
pub async fn answer(mut stream: TcpStream) -> anyhow::Result<RawResponse> {
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out).await;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no HTTP status in the answer: {text:?}"))?;
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let headers = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Ok(RawResponse {
        status,
        headers,
        body: body.to_owned(),
    })
}

/// Writes the request line, the headers and `partial` (less than the Content-Length the headers
/// announce), then closes the connection: a client that dies mid-upload.
pub async fn send_and_hang_up(
    endpoint: &str,
    method: &str,
    target: &str,
    headers: &[(String, String)],
    partial: &[u8],
) -> anyhow::Result<()> {
    let mut stream = open(endpoint, method, target, headers).await?;
    stream.write_all(partial).await?;
    stream.flush().await?;
    drop(stream);
    Ok(())
}

/// Like [`send_and_hang_up`], but holds the connection open for `hold` before closing it.
pub async fn send_and_wait(
    endpoint: &str,
    method: &str,
    target: &str,
    headers: &[(String, String)],
    partial: &[u8],
    hold: std::time::Duration,
) -> anyhow::Result<()> {
    let mut stream = open(endpoint, method, target, headers).await?;
    stream.write_all(partial).await?;
    stream.flush().await?;
    tokio::time::sleep(hold).await;
    Ok(())
}

/// Connects and writes the request line and `headers` (as given, nothing added): the body is the
/// caller's to write, at its own pace.
pub async fn open(
    endpoint: &str,
    method: &str,
    target: &str,
    headers: &[(String, String)],
) -> anyhow::Result<TcpStream> {
    let authority = endpoint
        .strip_prefix("http://")
        .ok_or_else(|| anyhow::anyhow!("the raw client speaks plain http only: {endpoint}"))?
        .trim_end_matches('/');
    let mut stream = TcpStream::connect(authority).await?;
    let mut head = format!("{method} {target} HTTP/1.1\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    Ok(stream)
}
