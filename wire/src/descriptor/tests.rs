//! The descriptor's parsing and validation rules.

use super::*;
use proptest::prelude::*;

#[test]
fn peertube_shapes_parse_unchanged() {
    let put = RunnerJobCustomUpload::from_json(
        r#"{"url":"http://127.0.0.1:9000/b/k?X-Amz-Signature=ab&X-Amz-Date=1"}"#,
    )
    .unwrap();
    assert_eq!(put.method, UploadMethod::Put);
    assert_eq!(
        put.url,
        "http://127.0.0.1:9000/b/k?X-Amz-Signature=ab&X-Amz-Date=1"
    );
    let post =
        RunnerJobCustomUpload::from_json(r#"{"url":"https://x.example/up","method":"POST"}"#)
            .unwrap();
    assert_eq!(post.method, UploadMethod::Post);
    assert_eq!(post.expected_status_codes, vec![200, 201, 204]);
}

#[test]
fn fields_keep_document_order() {
    let d = RunnerJobCustomUpload::from_json(
        r#"{"url":"https://x.example/","method":"POST","fields":{"z":"1","key":"a","a":"2","policy":"p"}}"#,
    )
    .unwrap();
    let names: Vec<_> = d.fields.iter().map(|(k, _)| k).collect();
    assert_eq!(names, ["z", "key", "a", "policy"]);
    let back = serde_json::to_string(&d).unwrap();
    assert!(
        back.contains(r#""fields":{"z":"1","key":"a","a":"2","policy":"p"}"#),
        "{back}"
    );
}

fn err(json: &str) -> String {
    RunnerJobCustomUpload::from_json(json)
        .unwrap_err()
        .to_string()
}

#[test]
fn refusals_name_the_field() {
    let patch = err(r#"{"url":"http://h/","method":"PATCH"}"#);
    assert!(
        patch.starts_with(
            r#"malformed upload descriptor: method: "PATCH" is not an upload method; use "PUT" or "POST""#
        ),
        "{patch}"
    );
    assert_eq!(patch.matches("PATCH").count(), 1, "named once: {patch}");
    assert!(err(r#"{"url":"http://h/","fields":{"key":"k"}}"#).contains("`fields` but method PUT"));
    assert!(err(r#"{"url":"http://h/","method":"POST","fields":{"File":"x"}}"#).contains("`file`"));
    assert!(err(r#"{"url":"ftp://h/"}"#).contains("unsupported scheme `ftp`"));
    assert!(err(r#"{"url":""}"#).contains("`url` is empty"));
    assert!(err(r#"{"url":"not a url"}"#).contains("not a valid URL"));
    assert!(err(r#"{"url":"http://h/","checksum":"x"}"#).contains("unknown field `checksum`"));
    // A fixed-size PUT carries the size it signs; anything else is the uploader's to set.
    assert!(
        RunnerJobCustomUpload::from_json(r#"{"url":"http://h/","headers":{"Content-Length":"3"}}"#)
            .is_ok()
    );
    for bad in [
        r#"{"url":"http://h/","headers":{"Content-Length":"3 "}}"#,
        r#"{"url":"http://h/","headers":{"Content-Length":"-3"}}"#,
        r#"{"url":"http://h/","headers":{"Content-Length":""}}"#,
        r#"{"url":"http://h/","method":"POST","headers":{"Content-Length":"3"}}"#,
    ] {
        assert!(err(bad).contains("Content-Length"), "{bad}");
    }
    assert!(
        err(r#"{"url":"http://h/","headers":{"Transfer-Encoding":"chunked"}}"#)
            .contains("Transfer-Encoding")
    );
    assert!(err(r#"{"url":"http://h/","headers":{"a":"1","A":"2"}}"#).contains("twice"));
    assert!(err(r#"{"url":"http://h/","expectedStatusCodes":[]}"#).contains("empty"));
    assert!(err(r#"{"url":"http://h/","expectedStatusCodes":[403]}"#).contains("403"));
    assert!(err(r#"{"url":"http://h/","expectedStatusCodes":[200,301]}"#).contains("redirect"));
    assert!(
        RunnerJobCustomUpload::from_json(
            r#"{"url":"http://h/b","method":"POST","fields":{"success_action_redirect":"http://x/"},"expectedStatusCodes":[303]}"#
        )
        .is_ok()
    );
    assert!(err(r#"{"method":"PUT"}"#).contains("missing field `url`"));
    assert!(err("{").contains("malformed"));
}

#[test]
fn multipart_rules() {
    let ok = r#"{"url":"http://h/b/k?uploadId=1","method":"POST","multipart":{"partSize":5242880,"parts":["http://h/b/k?partNumber=1"],"abortUrl":"http://h/b/k?uploadId=1"}}"#;
    let d = RunnerJobCustomUpload::from_json(ok).unwrap();
    let mp = d.multipart.as_ref().unwrap();
    assert_eq!(mp.capacity(), 5_242_880);
    assert_eq!(mp.parts_needed(0), 1);
    assert_eq!(mp.parts_needed(5_242_881), 2);
    assert!(err(&ok.replace("5242880", "1024")).contains("partSize 1024"));
    assert!(err(&ok.replace(r#""method":"POST","#, "")).contains("POST"));
    assert!(err(&ok.replace(r#"["http://h/b/k?partNumber=1"]"#, "[]")).contains("no `parts`"));
}

#[test]
fn debug_redacts_signatures() {
    let mut d = RunnerJobCustomUpload::put(
        "https://b.s3.amazonaws.com/k?X-Amz-Security-Token=TOKEN123&X-Amz-Signature=SIG456",
    );
    d.headers.push("x-amz-security-token", "TOKEN123");
    let s = format!("{d:?}");
    assert!(!s.contains("TOKEN123") && !s.contains("SIG456"), "{s}");
    assert!(s.contains("******"));
}

fn arb_pairs() -> impl Strategy<Value = OrderedPairs> {
    proptest::collection::btree_map("[a-z][a-z0-9-]{0,12}", "[ -~]{0,20}", 0..5)
        .prop_map(|m| m.into_iter().collect())
}

proptest! {
    #[test]
    fn serialize_then_deserialize_is_identity(
        path in "[a-z0-9/._-]{0,30}",
        post in any::<bool>(),
        fields in arb_pairs(),
        headers in arb_pairs(),
        codes in proptest::collection::vec(200u16..400, 1..4),
    ) {
        let d = RunnerJobCustomUpload {
            url: format!("https://h.example/{path}?X-Amz-Signature=00").into(),
            method: if post { UploadMethod::Post } else { UploadMethod::Put },
            fields: if post { fields } else { OrderedPairs::default() },
            headers,
            expected_status_codes: codes,
            multipart: None,
        };
        let json = serde_json::to_string(&d).unwrap();
        let back: RunnerJobCustomUpload = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back, d);
    }

    #[test]
    fn arbitrary_text_never_panics(s in ".{0,200}") {
        let _ = RunnerJobCustomUpload::from_json(&s);
    }

    #[test]
    fn arbitrary_json_values_never_panic(
        url in proptest::option::of(".{0,30}"),
        method in proptest::option::of(".{0,6}"),
        extra in proptest::option::of("[a-zA-Z]{1,8}"),
        codes in proptest::collection::vec(any::<u16>(), 0..4),
    ) {
        let mut m = serde_json::Map::new();
        if let Some(u) = url { m.insert("url".into(), u.into()); }
        if let Some(me) = method { m.insert("method".into(), me.into()); }
        if let Some(e) = extra { m.insert(e, serde_json::Value::Null); }
        m.insert("expectedStatusCodes".into(), codes.into());
        let _ = RunnerJobCustomUpload::from_json(&serde_json::Value::Object(m).to_string());
    }
}
