//! Never lose work, never store a wrong byte: the `signpost` binary killed mid-upload and run
//! again, bytes damaged on the way, standard input from another process, URLs that expire
//! during an upload, and clocks that are off, against a real server (the embedded one, or
//! SIGNPOST_TEST_ENDPOINT: Garage, Ceph, MinIO).

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use signpost_presign::{MultipartPlan, PresignRequest, Validity};
use signpost_tests::proxy::{self, ProxyRules, TestProxy};
use signpost_tests::{TestTarget, binary, job_file, random_bytes, upload_args};
use signpost_upload::{Clock, RunnerJobCustomUpload, UploadError, UploadOptions, Uploader};
use tokio::process::Command;

const MIB: u64 = 1 << 20;
const PART: u64 = 5 * MIB;

/// The CLI with this server's credentials, quiet, with its journals in `state`.
fn signpost(t: &TestTarget, state: &Path) -> Command {
    let mut c = Command::new(binary());
    c.env_clear()
        .envs(t.cli_env())
        .env("SIGNPOST_STATE_DIR", state)
        .kill_on_drop(true);
    c
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `len` random bytes, written to `dir/name`.
fn random_file(dir: &Path, name: &str, len: u64) -> (PathBuf, Vec<u8>) {
    let bytes = random_bytes(len).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, &bytes).unwrap();
    (path, bytes)
}

async fn stored(t: &TestTarget, key: &str) -> Vec<u8> {
    let (status, body) = t.get(key).await.unwrap();
    assert_eq!(status, 200, "GET {key}");
    body
}

fn same(a: &[u8], b: &[u8]) -> bool {
    Sha256::digest(a) == Sha256::digest(b)
}

/// Starts a multipart upload of `key` and presigns a descriptor for it.
async fn multipart(
    t: &TestTarget,
    key: &str,
    max: u64,
    validity: Validity,
) -> (String, RunnerJobCustomUpload) {
    let p = t.presigner().unwrap();
    let id = signpost::s3::create_multipart(
        &signpost::http::caller().unwrap(),
        &p,
        &t.bucket,
        key,
        None,
    )
    .await
    .unwrap();
    let job = resign(t, key, &id, max, validity);
    (id, job)
}

/// A fresh descriptor for the existing upload `id`.
fn resign(
    t: &TestTarget,
    key: &str,
    id: &str,
    max: u64,
    validity: Validity,
) -> RunnerJobCustomUpload {
    MultipartPlan::builder(&*t.bucket, key, id)
        .part_size(PART)
        .max_object_size(max)
        .build()
        .unwrap()
        .presign(&t.presigner().unwrap(), validity)
        .unwrap()
        .into_descriptor()
}

fn put_job(t: &TestTarget, key: &str) -> RunnerJobCustomUpload {
    t.presigner()
        .unwrap()
        .presign(&PresignRequest::put_object(&*t.bucket, key))
        .unwrap()
        .to_descriptor()
        .unwrap()
}

/// Every file in the state directory.
fn state_files(state: &Path) -> Vec<String> {
    std::fs::read_dir(state)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn journals(state: &Path) -> usize {
    std::fs::read_dir(state)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "journal"))
                .count()
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_ten_times_then_finished_byte_identical_resending_only_parts_in_flight() {
    let t = TestTarget::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let size = 200 * MIB + 12_345;
    let (file, bytes) = random_file(dir.path(), "video.mp4", size);
    let key = t.key("killed.mp4");
    let (_, job) = multipart(&t, &key, size, Validity::default()).await;
    let proxy = TestProxy::start(&t.endpoint, ProxyRules::default())
        .await
        .unwrap();
    let jf = job_file(dir.path(), "job.json", &job, &t, Some(&proxy));
    let concurrency = 4u64;
    let upload = || {
        let mut c = signpost(&t, &state);
        upload_args(&mut c, &jf, &file);
        c
    };
    let mut kills = 0u32;
    while kills < 10 {
        let mut child = upload().spawn().unwrap();
        // Killed once it has sent between 2 and 12 MiB more: at a random point of a part, of
        // the journal's writes, of the server's answers.
        let before = proxy.put_bytes();
        let more = fastrand::u64(2 * MIB..12 * MIB);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                let out = child.wait_with_output().await.unwrap();
                panic!(
                    "the upload ended ({status}) before kill {}: {}",
                    kills + 1,
                    text(&out.stderr)
                );
            }
            if proxy.put_bytes() - before >= more {
                break;
            }
            assert!(Instant::now() < deadline, "no progress in 60 s");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        child.start_kill().unwrap(); // SIGKILL, by PID
        child.wait().await.unwrap();
        kills += 1;
        // The parts it had in flight end at the proxy (cut, or stored upstream) before the next
        // run, so each is counted with the kill that cut it.
        let deadline = Instant::now() + Duration::from_secs(30);
        while proxy.in_flight() > 0 {
            assert!(
                Instant::now() < deadline,
                "the proxy still forwards after 30 s"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    assert_eq!(journals(&state), 1, "the interrupted upload has a journal");
    let out = upload().output().await.unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(result["partsReused"].as_u64().unwrap() > 0, "{result}");
    assert!(
        same(&stored(&t, &key).await, &bytes),
        "the object is the file"
    );
    // Every part was stored once: a part the server answered 200 (its answer journaled or not
    // when the kill came) is never sent again; only the parts a kill cut are.
    let number = |target: &str| -> Option<u64> {
        let query = target.split_once('?')?.1;
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "partNumber")?
            .1
            .parse()
            .ok()
    };
    let puts: Vec<_> = proxy
        .seen()
        .into_iter()
        .filter(|r| r.method == "PUT" && number(&r.target).is_some())
        .collect();
    for n in 1..=size.div_ceil(PART) {
        let stored = puts
            .iter()
            .filter(|r| r.status == 200 && number(&r.target) == Some(n))
            .count();
        assert_eq!(stored, 1, "part {n} was stored {stored} times");
    }
    let cut: Vec<_> = puts.iter().filter(|r| r.status != 200).collect();
    assert!(
        cut.len() as u64 <= u64::from(kills) * concurrency,
        "{} parts cut over {kills} kills of {concurrency} parts at once",
        cut.len()
    );
    let resent = proxy.put_bytes() - size;
    let bound = cut.len() as u64 * PART;
    eprintln!(
        "{}: {kills} kills, {} parts cut, {resent} bytes sent again (bound {bound}), {} parts reused by the last run",
        t.server,
        cut.len(),
        result["partsReused"]
    );
    assert!(
        resent <= bound,
        "{resent} bytes sent again over {kills} kills; the {} parts they cut allow {bound}",
        cut.len()
    );
    assert_eq!(journals(&state), 0, "the journal is removed after Complete");
    assert_eq!(state_files(&state), Vec::<String>::new(), "nor its lock");
}

/// A proxy that flips a byte in the first `n` requests `which` selects.
async fn flipping(t: &TestTarget, which: proxy::Matcher, n: u32) -> TestProxy {
    let rules = ProxyRules {
        flip: Some((which, n)),
        ..Default::default()
    };
    TestProxy::start(&t.endpoint, rules).await.unwrap()
}

/// Runs an upload through `proxy` and returns (success, stdout, stderr).
async fn upload_via(
    t: &TestTarget,
    dir: &Path,
    job: &RunnerJobCustomUpload,
    file: &Path,
    proxy: &TestProxy,
    extra: &[&str],
) -> (bool, String, String) {
    let jf = job_file(
        dir,
        &format!("job-{}.json", fastrand::u32(..)),
        job,
        t,
        Some(proxy),
    );
    let mut c = signpost(t, &dir.join("state"));
    c.args(["upload", "--no-progress", "--json", "--job"])
        .arg(&jf)
        .args(extra)
        .arg(file);
    let out = c.output().await.unwrap();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flipped_byte_is_refused_or_caught_and_sent_again_never_stored() {
    let t = TestTarget::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let size = 2 * PART + 3 * MIB + 7;
    let (file, bytes) = random_file(dir.path(), "video.mp4", size);

    // Multipart, with Content-MD5 and without: part 2 is damaged once.
    for extra in [&[][..], &["--no-content-md5"][..]] {
        let key = t.key("flip-part.mp4");
        let (_, job) = multipart(&t, &key, size, Validity::default()).await;
        let p = flipping(&t, proxy::part(2), 1).await;
        let (ok, _, err) = upload_via(&t, dir.path(), &job, &file, &p, extra).await;
        assert!(ok, "{extra:?}: {err}");
        assert_eq!(p.flipped(), 1);
        let part2: Vec<_> = p
            .seen()
            .into_iter()
            .filter(|s| s.method == "PUT" && s.target.contains("partNumber=2&"))
            .collect();
        assert!(
            part2.len() >= 2,
            "{extra:?}: part 2 was sent again: {part2:?}"
        );
        if extra.is_empty() && t.server != "s3s-fs" {
            // Garage and Ceph check Content-MD5 on UploadPart (s3s-fs does not: there the ETag
            // comparison catches it).
            assert_eq!(part2[0].status, 400, "{}: BadDigest", t.server);
        }
        assert!(
            same(&stored(&t, &key).await, &bytes),
            "{extra:?}: the object is the file"
        );
    }

    // A single PUT, its MD5 worked out first (the server refuses the damaged body) and while
    // sending (the server stores it, the ETag gives it away, the file is sent again).
    for (digest, first_status) in [("first", 400), ("while-sending", 200)] {
        let key = t.key("flip-put.mp4");
        let p = flipping(&t, proxy::object_puts(), 1).await;
        let (ok, _, err) = upload_via(
            &t,
            dir.path(),
            &put_job(&t, &key),
            &file,
            &p,
            &["--put-digest", digest],
        )
        .await;
        assert!(ok, "{digest}: {err}");
        let puts: Vec<_> = p.seen().into_iter().filter(|s| s.method == "PUT").collect();
        assert_eq!(puts.len(), 2, "{digest}: {puts:?}");
        assert_eq!(puts[0].status, first_status, "{digest}");
        assert!(
            same(&stored(&t, &key).await, &bytes),
            "{digest}: the object is the file"
        );
    }

    // Every attempt damaged: a failure that says so, never success.
    let key = t.key("flip-always.mp4");
    let p = flipping(&t, proxy::object_puts(), u32::MAX).await;
    let (ok, _, err) = upload_via(
        &t,
        dir.path(),
        &put_job(&t, &key),
        &file,
        &p,
        &["--put-digest", "while-sending", "--retries", "1"],
    )
    .await;
    assert!(!ok, "never exit 0 with wrong bytes stored");
    assert!(err.contains("stored other bytes than were sent"), "{err}");
    assert!(err.contains("holds those wrong bytes"), "{err}");

    let key = t.key("flip-part-always.mp4");
    let (_, job) = multipart(&t, &key, size, Validity::default()).await;
    let p = flipping(&t, proxy::part(3), u32::MAX).await;
    let (ok, _, err) = upload_via(
        &t,
        dir.path(),
        &job,
        &file,
        &p,
        &[
            "--no-content-md5",
            "--retries",
            "1",
            "--on-failure",
            "abort",
        ],
    )
    .await;
    assert!(!ok, "never exit 0 with a wrong part");
    assert!(err.contains("part 3 of 3 failed"), "{err}");
    assert!(err.contains("aborted"), "{err}");
    assert_eq!(t.get(&key).await.unwrap().0, 404, "no object was completed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standard_input_from_a_generator_process() {
    let t = TestTarget::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key = t.key("stdin.mp4");
    let size = 3 * PART + 1_000_001;
    let (_, job) = multipart(&t, &key, 64 * MIB, Validity::default()).await;
    let jf = job_file(dir.path(), "job.json", &job, &t, None);
    let copy = dir.path().join("generated.bin");
    // The generator writes as it goes (an encoder's pipe); tee keeps what it wrote.
    let script = format!(
        "head -c {size} /dev/urandom | tee '{}' | '{}' upload --no-progress --json --job '{}' -",
        copy.display(),
        binary().display(),
        jf.display()
    );
    let mut c = {
        let mut s = Command::new("sh");
        s.env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("SIGNPOST_LOG", "off")
            .env("SIGNPOST_STATE_DIR", dir.path().join("state"))
            .args(["-c", &script]);
        s
    };
    let out = c.output().await.unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["parts"], 4);
    assert_eq!(result["bytes"], size);
    let generated = std::fs::read(&copy).unwrap();
    assert_eq!(generated.len() as u64, size);
    assert!(same(&stored(&t, &key).await, &generated));

    // A PUT descriptor cannot take a stream of unknown length: said so, nothing sent.
    let jf = job_file(
        dir.path(),
        "put.json",
        &put_job(&t, &t.key("stdin-put")),
        &t,
        None,
    );
    let mut c = signpost(&t, &dir.path().join("state"));
    c.args(["upload", "--job"])
        .arg(&jf)
        .arg("-")
        .stdin(Stdio::piped());
    let out = c.output().await.unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("multipart descriptor"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn urls_expire_mid_upload_then_a_fresh_descriptor_sends_only_the_missing_parts() {
    let t = TestTarget::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let size = 5 * PART + 3 * MIB;
    let (file, bytes) = random_file(dir.path(), "video.mp4", size);
    let key = t.key("expired.mp4");
    let (id, job) = multipart(
        &t,
        &key,
        size,
        Validity::expires_in(Duration::from_secs(4)).unwrap(),
    )
    .await;
    // Parts 3 to 6 reach the server only after their URLs expired.
    let later = Instant::now() + Duration::from_secs(6);
    let held: proxy::Matcher = std::sync::Arc::new(|m, t| {
        m == "PUT"
            && !["partNumber=1&", "partNumber=2&"]
                .iter()
                .any(|p| t.contains(p))
    });
    let p = TestProxy::start(
        &t.endpoint,
        ProxyRules {
            hold: Some((held, later)),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let (ok, _, err) = upload_via(&t, dir.path(), &job, &file, &p, &["--concurrency", "2"]).await;
    assert!(!ok);
    assert!(
        err.contains(&format!(
            "the multipart upload {id} is kept with 2 of 6 parts stored"
        )),
        "{err}"
    );
    assert!(err.contains("signpost upload --abort --job"), "{err}");

    // The server signs the upload's URLs again; the runner resumes it.
    let fresh = resign(&t, &key, &id, size, Validity::default());
    let p = TestProxy::start(&t.endpoint, ProxyRules::default())
        .await
        .unwrap();
    let (ok, out, err) = upload_via(&t, dir.path(), &fresh, &file, &p, &[]).await;
    assert!(ok, "{err}");
    let result: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(result["partsReused"], 2, "{result}");
    assert_eq!(result["bytesSent"], size - 2 * PART, "{result}");
    assert_eq!(
        p.put_bytes(),
        size - 2 * PART,
        "only the missing parts went over the wire"
    );
    assert!(same(&stored(&t, &key).await, &bytes));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_upload_is_aborted_on_request_and_a_changed_file_is_never_resumed() {
    let t = TestTarget::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let size = 2 * PART + 100;
    let (file, _) = random_file(dir.path(), "video.mp4", size);
    let key = t.key("kept.mp4");
    let (id, job) = multipart(&t, &key, size, Validity::default()).await;
    let p = flipping(&t, proxy::part(3), u32::MAX).await;
    let (ok, _, err) = upload_via(
        &t,
        dir.path(),
        &job,
        &file,
        &p,
        &["--no-content-md5", "--retries", "0"],
    )
    .await;
    assert!(!ok);
    assert!(
        err.contains(&format!("{id} is kept with 2 of 3 parts stored")),
        "{err}"
    );
    assert_eq!(journals(&state), 1);

    // The file changes: its parts on the server are not this file's.
    let f = std::fs::File::options().write(true).open(&file).unwrap();
    f.set_modified(std::time::SystemTime::now() + Duration::from_secs(5))
        .unwrap();
    drop(f);
    let (ok, _, err) = upload_via(&t, dir.path(), &job, &file, &p, &[]).await;
    assert!(!ok);
    assert!(
        err.contains(&format!(
            "cannot resume multipart upload {id}: the file was modified since its parts were sent, so they are not this file's bytes"
        )),
        "{err}"
    );
    assert!(
        !err.contains("was not modified"),
        "no claim that contradicts it: {err}"
    );
    assert!(
        p.seen().iter().filter(|s| s.method == "PUT").count() <= 4,
        "nothing more was sent"
    );

    let jf = job_file(dir.path(), "abort.json", &job, &t, None);
    let mut c = signpost(&t, &state);
    c.args(["upload", "--abort", "--job"]).arg(&jf);
    let out = c.output().await.unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("aborted"));
    assert_eq!(journals(&state), 0, "the journal is forgotten");
    assert_eq!(state_files(&state), Vec::<String>::new(), "and its lock");
    // The server no longer has it: a new run says so.
    let (ok, _, err) = upload_via(&t, dir.path(), &job, &file, &p, &[]).await;
    assert!(!ok);
    assert!(err.contains("NoSuchUpload"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_ten_minutes_off_either_way_is_no_refusal() {
    let t = TestTarget::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (file, bytes) = random_file(dir.path(), "clip.mp4", PART + 77);
    let five_minutes = Validity::expires_in(Duration::from_secs(300)).unwrap();
    for minutes in [10i64, -10] {
        let uploader = Uploader::builder()
            .clock(Clock::offset(time::Duration::minutes(minutes)))
            .build()
            .unwrap();
        let key = t.key("clock-put.mp4");
        let job = t
            .presigner()
            .unwrap()
            .presign(&PresignRequest::put_object(&*t.bucket, &key).validity(five_minutes))
            .unwrap()
            .to_descriptor()
            .unwrap();
        uploader
            .upload(&job, &file)
            .await
            .unwrap_or_else(|e| panic!("{minutes} min: {e}"));
        assert!(same(&stored(&t, &key).await, &bytes));

        let key = t.key("clock-mp.mp4");
        let (_, job) = multipart(&t, &key, 2 * PART, five_minutes).await;
        uploader
            .upload(&job, &file)
            .await
            .unwrap_or_else(|e| panic!("{minutes} min: {e}"));
        let mut stdin_like = std::io::Cursor::new(bytes.clone());
        let key2 = t.key("clock-stream.mp4");
        let (_, job2) = multipart(&t, &key2, 2 * PART, five_minutes).await;
        uploader
            .upload_stream(&job2, &mut stdin_like, &UploadOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{minutes} min, stream: {e}"));
        assert!(same(&stored(&t, &key).await, &bytes));
        assert!(same(&stored(&t, &key2).await, &bytes));
    }

    // Expired by the server's clock too: the error gives both times.
    let uploader = Uploader::builder()
        .clock(Clock::offset(time::Duration::minutes(5)))
        .build()
        .unwrap();
    let past = Validity::expires_in(Duration::from_secs(60))
        .unwrap()
        .signed_at(time::OffsetDateTime::now_utc() - time::Duration::minutes(2))
        .unwrap();
    let job = t
        .presigner()
        .unwrap()
        .presign(&PresignRequest::put_object(&*t.bucket, t.key("late")).validity(past))
        .unwrap()
        .to_descriptor()
        .unwrap();
    let e = uploader.upload(&job, &file).await.unwrap_err();
    match &e {
        UploadError::Preflight(signpost_upload::PreflightError::ExpiredByServerClock {
            local_ahead_secs,
            ..
        }) => {
            assert!((295..=305).contains(local_ahead_secs), "{e}");
        }
        other => panic!("{other}"),
    }
    let s = e.to_string();
    assert!(s.contains("the server's clock says it is now"), "{s}");
    assert!(s.contains("s ahead"), "{s}");
}

/// Sends `signal` (`INT`, `TERM`) to `pid`.
fn signal(pid: u32, signal: &str) {
    let ok = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{signal} {pid}");
}

/// Parts recorded in the one journal of `state`.
fn journaled_parts(state: &Path) -> usize {
    std::fs::read_dir(state)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "journal"))
        .map(|e| {
            std::fs::read_to_string(e.path())
                .unwrap_or_default()
                .lines()
                .filter(|l| l.contains("\"etag\""))
                .count()
        })
        .sum()
}

/// Runs a command line the binary printed, with `signpost` on the PATH.
async fn run_printed(t: &TestTarget, line: &str) -> std::process::Output {
    let dir = binary().parent().unwrap().to_owned();
    let path = format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new("sh")
        .args(["-c", line])
        .env_clear()
        .envs(t.cli_env())
        .env("PATH", path)
        .output()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_keeps_what_is_stored_and_prints_the_commands_that_resume_or_abort() {
    let t = TestTarget::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let size = 3 * PART + 123;
    let (file, bytes) = random_file(dir.path(), "video.mp4", size);
    let key = t.key("interrupted.mp4");
    let (id, job) = multipart(&t, &key, size, Validity::default()).await;
    // Parts 3 and 4 are held at the proxy while this run lasts: the signal finds them in flight.
    let holding = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let h = std::sync::Arc::clone(&holding);
    let proxy = TestProxy::start(
        &t.endpoint,
        ProxyRules {
            hold: Some((
                std::sync::Arc::new(move |m: &str, target: &str| {
                    h.load(std::sync::atomic::Ordering::SeqCst)
                        && m == "PUT"
                        && (target.contains("partNumber=3&") || target.contains("partNumber=4&"))
                }),
                Instant::now() + Duration::from_secs(20),
            )),
            ..ProxyRules::default()
        },
    )
    .await
    .unwrap();
    let jf = job_file(dir.path(), "job.json", &job, &t, Some(&proxy));
    let mut c = signpost(&t, &state);
    c.args(["upload", "--no-progress", "--concurrency", "4", "--job"])
        .arg(&jf)
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = c.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while journaled_parts(&state) < 2 {
        assert!(
            Instant::now() < deadline,
            "parts 1 and 2 were not journaled in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    signal(child.id().unwrap(), "INT");
    let out = child.wait_with_output().await.unwrap();
    holding.store(false, std::sync::atomic::Ordering::SeqCst);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(
        err.contains(&format!(
            "interrupted by SIGINT: the multipart upload {id} is kept with 2 of 4 parts stored ({} bytes), recorded in its journal",
            2 * PART
        )),
        "{err}"
    );
    assert_eq!(
        err.lines().filter(|l| !l.is_empty()).count(),
        1,
        "one line: {err}"
    );
    let resume = err
        .split("Resume it (only the missing parts are sent): ")
        .nth(1)
        .and_then(|r| r.split("; or abort it: ").next())
        .unwrap_or_else(|| panic!("no resume command: {err}"))
        .to_owned();
    let abort = err
        .split("; or abort it: ")
        .nth(1)
        .unwrap()
        .trim()
        .to_owned();
    assert!(
        abort.starts_with("signpost upload") && abort.contains("--abort --job"),
        "{abort}"
    );
    assert_eq!(journals(&state), 1, "the journal stays");

    // The printed command resumes: only the missing parts are sent; the rate is for those.
    let out = run_printed(&t, &resume).await;
    let said = text(&out.stdout);
    assert!(out.status.success(), "{resume}: {}", text(&out.stderr));
    assert!(
        said.contains(&format!("uploaded {size} bytes, "))
            && said.contains(" of them sent in this run in ")
            && said.contains("(2 already stored by an earlier run, not sent again)"),
        "{said}"
    );
    assert!(
        same(&stored(&t, &key).await, &bytes),
        "the object is the file"
    );
    assert_eq!(
        journals(&state),
        0,
        "the journal is forgotten once completed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_put_says_nothing_was_stored_and_exits_143() {
    let t = TestTarget::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Larger than the sockets' buffers, so the held request is cut mid-body.
    let (file, _) = random_file(dir.path(), "video.mp4", 40 * MIB);
    let key = t.key("terminated.mp4");
    let proxy = TestProxy::start(
        &t.endpoint,
        ProxyRules {
            hold: Some((
                proxy::object_puts(),
                Instant::now() + Duration::from_secs(30),
            )),
            ..ProxyRules::default()
        },
    )
    .await
    .unwrap();
    let jf = job_file(dir.path(), "put.json", &put_job(&t, &key), &t, Some(&proxy));
    let mut c = signpost(&t, &dir.path().join("state"));
    c.args(["upload", "--no-progress", "--json", "--job"])
        .arg(&jf)
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = c.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while proxy.in_flight() == 0 {
        assert!(Instant::now() < deadline, "the PUT never reached the proxy");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    signal(child.id().unwrap(), "TERM");
    let out = child.wait_with_output().await.unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{err}");
    assert!(
        err.contains("interrupted by SIGTERM: nothing was stored"),
        "{err}"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["error"]["kind"], "interrupted");
    assert_eq!(v["error"]["signal"], "SIGTERM");
    assert_eq!(t.get(&key).await.unwrap().0, 404, "nothing stored");
}
