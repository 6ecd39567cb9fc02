//! `signpost serve` as a browser sees it: POST forms with `${filename}`, the headers a 201 and
//! a 204 carry, `success_action_redirect`, CORS preflights and headers, and a bucket's own CORS
//! configuration. Always against the embedded server: these are its behaviours.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, SystemTime};

use signpost_presign::{Credentials, Endpoint, PostForm, PresignRequest, Presigner};
use signpost_serve::server::{CorsOrigins, EmbeddedServer, ServeOptions};
use signpost_tests::raw;

const AK: &str = "serve-test";
const SK: &str = "serve-test-secret";

async fn server(cors: CorsOrigins) -> (EmbeddedServer, Presigner) {
    let s = EmbeddedServer::start(ServeOptions {
        buckets: vec!["web".into()],
        cors,
        ..ServeOptions::new("127.0.0.1:0".parse().unwrap(), AK, SK)
    })
    .await
    .unwrap();
    let p = Presigner::new(
        Credentials::new(AK, SK),
        Endpoint::custom(&s.endpoint, "us-east-1").unwrap(),
    );
    (s, p)
}

fn host(endpoint: &str) -> String {
    endpoint.trim_start_matches("http://").to_owned()
}

/// A browser's form body: the fields, then the file part named `file_name`.
fn form_body(form: &PostForm, file_name: &str, file: &[u8]) -> (Vec<(String, String)>, Vec<u8>) {
    let boundary = "----WebKitFormBoundaryS1gnp0st";
    let mut body = Vec::new();
    for (k, v) in form.fields.iter() {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let headers = vec![
        (
            "Content-Type".to_owned(),
            format!("multipart/form-data; boundary={boundary}"),
        ),
        ("Content-Length".to_owned(), body.len().to_string()),
    ];
    (headers, body)
}

async fn get(s: &EmbeddedServer, p: &Presigner, key: &str) -> (u16, Vec<u8>) {
    let url = p
        .presign(&PresignRequest::get_object("web", key))
        .unwrap()
        .url()
        .as_str()
        .to_owned();
    let resp = signpost::http::client()
        .unwrap()
        .get(&url)
        .send()
        .await
        .unwrap();
    let _ = s;
    (resp.status().as_u16(), resp.bytes().await.unwrap().to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_form_lands_under_the_substituted_file_name() {
    let (s, p) = server(CorsOrigins::Loopback).await;
    let form = p
        .post_policy("web")
        .key_starts_with("browser/")
        .content_length_range(1, 1 << 20)
        .success_action_status(201)
        .build()
        .unwrap();
    let name = "my clip ü 2 日本.bin";
    let data = b"uploaded from a browser".to_vec();
    let (mut headers, body) = form_body(&form, name, &data);
    headers.insert(0, ("Host".into(), host(&s.endpoint)));
    let resp = raw::send(&s.endpoint, "POST", "/web", &headers, &body)
        .await
        .unwrap();
    assert_eq!(resp.status, 201, "{}", resp.body);
    let key = format!("browser/{name}");
    assert!(
        resp.body.contains(&format!("<Key>{key}</Key>")),
        "{}",
        resp.body
    );
    assert!(resp.body.contains("<ETag>"), "{}", resp.body);
    let (status, back) = get(&s, &p, &key).await;
    assert_eq!((status, back), (200, data));
    let (status, _) = get(&s, &p, "browser/${filename}").await;
    assert_eq!(status, 404, "nothing stored under the literal placeholder");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_form_answers_etag_and_location_headers_and_redirects() {
    let (s, p) = server(CorsOrigins::Loopback).await;
    let client = signpost::http::client().unwrap();
    // Default status 204, then 201: both carry the ETag and Location headers, as AWS sends them.
    for status in [None, Some(201)] {
        let mut b = p.post_policy("web").key("headers.bin");
        if let Some(st) = status {
            b = b.success_action_status(st);
        }
        let form = b.build().unwrap();
        let mut multipart = reqwest::multipart::Form::new();
        for (k, v) in form.fields.iter() {
            multipart = multipart.text(k.to_owned(), v.to_owned());
        }
        multipart = multipart.part(
            "file",
            reqwest::multipart::Part::bytes(b"abc".to_vec()).file_name("a.bin"),
        );
        let resp = client
            .post(form.url.as_str())
            .multipart(multipart)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), status.unwrap_or(204));
        let etag = resp.headers().get("etag").unwrap().to_str().unwrap();
        assert_eq!(etag, "\"900150983cd24fb0d6963f7d28e17f72\"", "MD5 of abc");
        let location = resp.headers().get("location").unwrap().to_str().unwrap();
        assert_eq!(location, format!("{}/web/headers.bin", s.endpoint));
    }
    // success_action_redirect: 303 to the page, with bucket, key and ETag.
    let form = p
        .post_policy("web")
        .key("redirected.bin")
        .success_action_redirect("http://127.0.0.1:1/done")
        .build()
        .unwrap();
    let mut multipart = reqwest::multipart::Form::new();
    for (k, v) in form.fields.iter() {
        multipart = multipart.text(k.to_owned(), v.to_owned());
    }
    multipart = multipart.part("file", reqwest::multipart::Part::bytes(b"abc".to_vec()));
    let resp = client
        .post(form.url.as_str())
        .multipart(multipart)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 303);
    let to = resp.headers().get("location").unwrap().to_str().unwrap();
    assert!(
        to.starts_with("http://127.0.0.1:1/done?bucket=web&key=redirected.bin&etag="),
        "{to}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_preflights_and_headers_for_loopback_origins_by_default() {
    let (s, p) = server(CorsOrigins::Loopback).await;
    let h = host(&s.endpoint);
    let preflight = |origin: &str| {
        vec![
            ("Host".to_owned(), h.clone()),
            ("Origin".to_owned(), origin.to_owned()),
            ("Access-Control-Request-Method".to_owned(), "PUT".to_owned()),
            (
                "Access-Control-Request-Headers".to_owned(),
                "content-type".to_owned(),
            ),
        ]
    };
    let ok = raw::send(
        &s.endpoint,
        "OPTIONS",
        "/web/a.bin",
        &preflight("http://localhost:5173"),
        b"",
    )
    .await
    .unwrap();
    assert_eq!(ok.status, 200);
    assert_eq!(
        ok.header("access-control-allow-origin"),
        Some("http://localhost:5173")
    );
    assert!(
        ok.header("access-control-allow-methods")
            .unwrap()
            .contains("PUT")
    );
    assert_eq!(
        ok.header("access-control-allow-headers"),
        Some("content-type")
    );
    let refused = raw::send(
        &s.endpoint,
        "OPTIONS",
        "/web/a.bin",
        &preflight("https://evil.example"),
        b"",
    )
    .await
    .unwrap();
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.body.contains("AccessForbidden"));

    // The actual upload from the page: the answer names the origin and exposes the ETag.
    let put = p
        .presign(&PresignRequest::put_object("web", "xhr.bin"))
        .unwrap();
    let resp = signpost::http::client()
        .unwrap()
        .put(put.url().as_str())
        .header("Origin", "http://127.0.0.1:8080")
        .body("from a page")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let hd = resp.headers();
    assert_eq!(
        hd.get("access-control-allow-origin").unwrap(),
        "http://127.0.0.1:8080"
    );
    assert!(
        hd.get("access-control-expose-headers")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("ETag")
    );
    let other = signpost::http::client()
        .unwrap()
        .get(
            p.presign(&PresignRequest::get_object("web", "xhr.bin"))
                .unwrap()
                .url()
                .as_str(),
        )
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status().as_u16(), 200);
    assert!(other.headers().get("access-control-allow-origin").is_none());
}

/// A presigned `?cors` request, signed by aws-sigv4 (signpost presigns uploads, not bucket
/// configuration).
fn cors_url(endpoint: &str, method: &str, headers: &[(&str, &str)]) -> String {
    use aws_sigv4::http_request::{
        PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
        UriPathNormalizationMode, sign,
    };
    let identity = aws_credential_types::Credentials::new(AK, SK, None, None, "t").into();
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(Duration::from_secs(300));
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("s3")
        .time(SystemTime::now())
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let url = format!("{endpoint}/web?cors=");
    let signable = SignableRequest::new(
        method,
        &url,
        headers.iter().copied(),
        SignableBody::UnsignedPayload,
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let mut req = http::Request::builder()
        .method(method)
        .uri(&url)
        .body(())
        .unwrap();
    instructions.apply_to_request_http1x(&mut req);
    req.uri().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bucket_cors_configuration_governs_its_bucket() {
    let (s, _p) = server(CorsOrigins::Loopback).await;
    let client = signpost::http::client().unwrap();
    let none = client
        .get(cors_url(&s.endpoint, "GET", &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status().as_u16(), 404);
    assert!(
        none.text()
            .await
            .unwrap()
            .contains("NoSuchCORSConfiguration")
    );
    let xml = "<CORSConfiguration><CORSRule><AllowedOrigin>https://app.example</AllowedOrigin><AllowedMethod>PUT</AllowedMethod><AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>600</MaxAgeSeconds></CORSRule></CORSConfiguration>";
    use base64::Engine as _;
    let md5 = base64::engine::general_purpose::STANDARD.encode(md5_of(xml.as_bytes()));
    let put = client
        .put(cors_url(&s.endpoint, "PUT", &[]))
        .header("Content-MD5", md5)
        .body(xml)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status().as_u16(), 200, "{:?}", put.text().await);
    let back = client
        .get(cors_url(&s.endpoint, "GET", &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(back.status().as_u16(), 200);
    assert!(back.text().await.unwrap().contains("https://app.example"));
    // The bucket's rule admits its origin, and now only its origin.
    let preflight = |origin: &str, method: &str| {
        vec![
            ("Host".to_owned(), host(&s.endpoint)),
            ("Origin".to_owned(), origin.to_owned()),
            (
                "Access-Control-Request-Method".to_owned(),
                method.to_owned(),
            ),
        ]
    };
    let ok = raw::send(
        &s.endpoint,
        "OPTIONS",
        "/web/k",
        &preflight("https://app.example", "PUT"),
        b"",
    )
    .await
    .unwrap();
    assert_eq!(ok.status, 200);
    assert_eq!(
        ok.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert_eq!(ok.header("access-control-max-age"), Some("600"));
    for (origin, method) in [
        ("http://localhost:5173", "PUT"),
        ("https://app.example", "DELETE"),
    ] {
        let r = raw::send(
            &s.endpoint,
            "OPTIONS",
            "/web/k",
            &preflight(origin, method),
            b"",
        )
        .await
        .unwrap();
        assert_eq!(r.status, 403, "{origin} {method}");
    }
    let del = client
        .delete(cors_url(&s.endpoint, "DELETE", &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(del.status().as_u16(), 204);
    let r = raw::send(
        &s.endpoint,
        "OPTIONS",
        "/web/k",
        &preflight("http://localhost:5173", "PUT"),
        b"",
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "the server's default again");
}

fn md5_of(data: &[u8]) -> [u8; 16] {
    use md5::Digest;
    md5::Md5::digest(data).into()
}
