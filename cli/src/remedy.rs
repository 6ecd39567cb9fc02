//! The library's [`Remedy`] values said as this command's flags: the one place the command
//! turns "trust the CA" into `--ca-bundle`, "abort the kept upload" into `signpost upload
//! --abort`, "leave the option out" into the flag given.

use signpost_upload::{ClientError, Remedy, UploadError, UploadOption};

/// The flag that sets `option`.
pub fn flag(option: UploadOption) -> &'static str {
    match option {
        UploadOption::FileName => "--file-name",
        UploadOption::ContentType => "--content-type",
        UploadOption::KeepOnFailure => "--on-failure keep",
        UploadOption::PutDigest => "--put-digest",
        _ => "the option",
    }
}

/// `remedy` as the command line does it; `job` is the descriptor file, when there is one.
pub fn say(remedy: &Remedy, job: Option<&str>) -> Option<String> {
    let job = job.unwrap_or("JOB");
    Some(match remedy {
        Remedy::TrustCa => {
            "give that CA's certificate with --ca-bundle FILE or AWS_CA_BUNDLE".to_owned()
        }
        Remedy::FixCaBundle => "fix the file given by --ca-bundle or AWS_CA_BUNDLE".to_owned(),
        Remedy::ResumeOrAbort { .. } => format!(
            "resume with the same command, or abort with signpost upload --abort --job {job}"
        ),
        Remedy::AbortThenNewTarget { .. } => {
            format!("abort with signpost upload --abort --job {job}")
        }
        Remedy::GiveContentType => "give it with --content-type TYPE".to_owned(),
        Remedy::LeaveOut(option) => format!("leave out {}", flag(*option)),
        _ => return None,
    })
}

/// The remedies of every [`UploadError`] and [`ClientError`] in `e`'s chain, said as flags,
/// each once: `""`, or `"; on the command line: …"` to append to the error's line.
pub fn suffix(e: &(dyn std::error::Error + 'static), job: Option<&str>) -> String {
    let mut said: Vec<String> = Vec::new();
    let mut cause = Some(e);
    while let Some(c) = cause {
        let remedies = if let Some(u) = c.downcast_ref::<UploadError>() {
            u.remedies()
        } else if let Some(client) = c.downcast_ref::<ClientError>() {
            client.remedy().into_iter().collect()
        } else {
            Vec::new()
        };
        for line in remedies.iter().filter_map(|r| say(r, job)) {
            if !said.contains(&line) {
                said.push(line);
            }
        }
        cause = c.source();
    }
    if said.is_empty() {
        String::new()
    } else {
        format!("; on the command line: {}", said.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_remedy_is_said_once_as_a_flag() {
        let kept = UploadError::Multipart(signpost_upload::MultipartError::Kept {
            source: Box::new(UploadError::Preflight(
                signpost_upload::PreflightError::ContentTypeNotInForm,
            )),
            upload_id: "U1".into(),
            stored: 1,
            parts: 3,
        });
        let s = suffix(&kept, Some("job.json"));
        assert_eq!(
            s,
            "; on the command line: resume with the same command, or abort with signpost upload --abort --job job.json"
        );
        assert!(!kept.to_string().contains("--"), "{kept}");
        let refused =
            UploadError::Preflight(signpost_upload::PreflightError::OptionNotApplicable {
                option: UploadOption::FileName,
                upload: "a stream",
            });
        assert_eq!(
            suffix(&refused, None),
            "; on the command line: leave out --file-name"
        );
        assert_eq!(
            suffix(
                &UploadError::Preflight(signpost_upload::PreflightError::NotMultipart),
                None
            ),
            ""
        );
    }
}
