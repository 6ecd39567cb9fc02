//! `multipart/form-data` framing for a POST upload: fields in order, then the file part last
//! (S3 ignores fields after the file). The framing is computed up front so the request has an
//! exact `Content-Length`. See <https://www.rfc-editor.org/rfc/rfc7578>.

use bytes::Bytes;
use signpost_wire::OrderedPairs;

/// The bytes before and after the file, and the Content-Type header value.
#[derive(Clone, Debug)]
pub(crate) struct Framing {
    pub(crate) prefix: Bytes,
    pub(crate) suffix: Bytes,
    pub(crate) content_type: String,
}

/// A boundary that cannot occur in the fields: 40 random alphanumerics.
fn boundary() -> String {
    let mut b = String::from("signpost-");
    for _ in 0..40 {
        b.push(fastrand::alphanumeric());
    }
    b
}

/// Quotes a file name as browsers do (HTML's form encoding): `"`, CR and LF percent-encoded.
fn quote_filename(name: &str) -> String {
    name.replace('"', "%22")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

pub(crate) fn framing(fields: &OrderedPairs, file_name: &str, file_type: &str) -> Framing {
    let mut boundary = boundary();
    while fields.iter().any(|(_, v)| v.contains(&boundary)) {
        boundary = self::boundary();
    }
    let mut p = String::with_capacity(
        256 + fields
            .iter()
            .map(|(k, v)| k.len() + v.len() + 64)
            .sum::<usize>(),
    );
    for (name, value) in fields.iter() {
        p.push_str("--");
        p.push_str(&boundary);
        p.push_str("\r\nContent-Disposition: form-data; name=\"");
        p.push_str(name);
        p.push_str("\"\r\n\r\n");
        p.push_str(value);
        p.push_str("\r\n");
    }
    p.push_str("--");
    p.push_str(&boundary);
    p.push_str("\r\nContent-Disposition: form-data; name=\"file\"; filename=\"");
    p.push_str(&quote_filename(file_name));
    p.push_str("\"\r\nContent-Type: ");
    p.push_str(file_type);
    p.push_str("\r\n\r\n");
    let suffix = format!("\r\n--{boundary}--\r\n");
    Framing {
        prefix: Bytes::from(p),
        suffix: Bytes::from(suffix),
        content_type: format!("multipart/form-data; boundary={boundary}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_then_file_last() {
        let f = framing(
            &[("key", "a/b.mp4"), ("policy", "cG9s")]
                .into_iter()
                .collect(),
            "b\"x.mp4",
            "video/mp4",
        );
        let pre = std::str::from_utf8(&f.prefix).unwrap();
        let b = f
            .content_type
            .strip_prefix("multipart/form-data; boundary=")
            .unwrap();
        let key = pre.find("name=\"key\"").unwrap();
        let pol = pre.find("name=\"policy\"").unwrap();
        let file = pre.find("name=\"file\"; filename=\"b%22x.mp4\"").unwrap();
        assert!(key < pol && pol < file);
        assert!(pre.ends_with("Content-Type: video/mp4\r\n\r\n"));
        assert_eq!(
            std::str::from_utf8(&f.suffix).unwrap(),
            format!("\r\n--{b}--\r\n")
        );
    }
}
