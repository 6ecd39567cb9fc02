//! A POST form as a web developer pastes it: an HTML `<form>` (the fields in order, the file
//! input last), or a `curl` command (as `mc share upload` prints one).

use signpost_presign::PostForm;

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A page with the form: hidden inputs for the fields, in the order S3 needs them before the
/// file, then the file input and a submit button.
pub fn html_form(form: &PostForm) -> String {
    let mut s = String::from(
        "<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\"><title>Upload</title></head>\n<body>\n",
    );
    s.push_str(&format!(
        "<form action=\"{}\" method=\"post\" enctype=\"multipart/form-data\">\n",
        html_escape(form.url.as_str())
    ));
    for (name, value) in form.fields.iter() {
        s.push_str(&format!(
            "  <input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
            html_escape(name),
            html_escape(value)
        ));
    }
    // A policy that takes any Content-Type under a prefix: the form carries the prefix as a
    // placeholder, and the page puts the chosen file's own type there (checked by S3 against the
    // prefix), so the object is not stored with the bare prefix as its type.
    let type_prefix = form.policy.conditions.iter().any(|c| {
        matches!(c, signpost_wire::Condition::StartsWith { field, .. } if field == "content-type")
    });
    if type_prefix {
        s.push_str("  <input type=\"file\" name=\"file\" onchange=\"if (this.files[0] &amp;&amp; this.files[0].type) this.form.elements['Content-Type'].value = this.files[0].type\">\n");
    } else {
        s.push_str("  <input type=\"file\" name=\"file\">\n");
    }
    s.push_str("  <input type=\"submit\" value=\"Upload\">\n</form>\n</body>\n</html>\n");
    s
}

/// Single-quotes `s` for a POSIX shell.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A `curl` command that posts the form: each field with `--form-string` (taken literally: no
/// `@`, `<` or `;type=` interpretation), the file last with `-F file=@FILE`.
pub fn curl_command(form: &PostForm) -> String {
    let mut s = String::from("curl -sS -w '%{http_code}\\n'");
    for (name, value) in form.fields.iter() {
        s.push_str(" \\\n  --form-string ");
        s.push_str(&shell_quote(&format!("{name}={value}")));
    }
    s.push_str(" \\\n  -F 'file=@FILE' \\\n  ");
    s.push_str(&shell_quote(form.url.as_str()));
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use signpost_presign::{Credentials, Endpoint, Presigner};

    fn form() -> PostForm {
        Presigner::new(
            Credentials::new("AKID", "SECRET"),
            Endpoint::custom("http://127.0.0.1:9000", "us-east-1").unwrap(),
        )
        .post_policy("b")
        .key_starts_with("it's <here>/")
        .build()
        .unwrap()
    }

    #[test]
    fn html_has_the_fields_in_order_then_the_file() {
        let f = form();
        let html = html_form(&f);
        assert!(html.contains("action=\"http://127.0.0.1:9000/b\""));
        assert!(
            html.contains("value=\"it&#39;s &lt;here&gt;/${filename}\""),
            "{html}"
        );
        let key = html.find("name=\"key\"").unwrap();
        let policy = html.find("name=\"policy\"").unwrap();
        let file = html.find("type=\"file\" name=\"file\"").unwrap();
        assert!(key < policy && policy < file);
    }

    #[test]
    fn a_content_type_prefix_form_takes_the_files_type() {
        let f = Presigner::new(
            Credentials::new("AKID", "SECRET"),
            Endpoint::custom("http://127.0.0.1:9000", "us-east-1").unwrap(),
        )
        .post_policy("b")
        .key("k")
        .content_type_starts_with("video/")
        .build()
        .unwrap();
        let html = html_form(&f);
        assert!(
            html.contains("this.form.elements['Content-Type'].value = this.files[0].type"),
            "{html}"
        );
        assert!(!html_form(&form()).contains("onchange"));
    }

    #[test]
    fn curl_quotes_each_field_and_sends_the_file_last() {
        let c = curl_command(&form());
        assert!(
            c.contains(r"--form-string 'key=it'\''s <here>/${filename}'"),
            "{c}"
        );
        let file = c.find("-F 'file=@FILE'").unwrap();
        assert!(c.find("--form-string 'x-amz-signature=").unwrap() < file);
        assert!(c.trim_end().ends_with("'http://127.0.0.1:9000/b'"));
    }
}
