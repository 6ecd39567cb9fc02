//! Riding over a storage node failure: a 3-node Garage cluster (replication factor 3, writes on 2
//! of 3 nodes), one node SIGKILLed while the `signpost` binary has parts in flight to another;
//! the upload completes and the object is byte-identical.
//!
//! Needs the cluster `GARAGE_NODES=3 tests/servers/garage.sh` starts (it exports the other nodes'
//! PIDs as SIGNPOST_TEST_GARAGE_PEERS), so it is ignored by the plain test command and run by CI:
//!
//!     GARAGE_NODES=3 tests/servers/garage.sh cargo test -p signpost-tests --test cluster -- --ignored

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use signpost_presign::{MultipartPlan, Validity};
use signpost_tests::proxy::{ProxyRules, TestProxy};
use signpost_tests::{TestTarget, binary, job_file, random_bytes, upload_args};

const MIB: u64 = 1 << 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a 3-node Garage cluster: GARAGE_NODES=3 tests/servers/garage.sh (run by .ci/run)"]
async fn a_storage_node_killed_mid_upload_the_upload_completes_byte_identical() {
    let peers = std::env::var("SIGNPOST_TEST_GARAGE_PEERS")
        .expect("SIGNPOST_TEST_GARAGE_PEERS: run under GARAGE_NODES=3 tests/servers/garage.sh");
    let victim: u32 = peers.split_whitespace().last().unwrap().parse().unwrap();
    // The PID must be the storage node itself, not a shell that started it.
    let comm = std::fs::read_to_string(format!("/proc/{victim}/comm")).unwrap();
    assert_eq!(
        comm.trim(),
        "garage",
        "PID {victim} is not a garage process"
    );
    let t = TestTarget::start().await.unwrap();
    assert_eq!(t.server, "garage-cluster");

    let dir = tempfile::tempdir().unwrap();
    let size = 200 * MIB + 4321;
    let bytes = random_bytes(size).unwrap();
    let file = dir.path().join("video.mp4");
    std::fs::write(&file, &bytes).unwrap();
    let key = t.key("cluster.mp4");
    let p = t.presigner().unwrap();
    let id = signpost::s3::create_multipart(
        &signpost::http::caller().unwrap(),
        &p,
        &t.bucket,
        &key,
        None,
    )
    .await
    .unwrap();
    let job = MultipartPlan::builder(&*t.bucket, &key, id)
        .part_size(8 * MIB)
        .max_object_size(size)
        .build()
        .unwrap()
        .presign(&p, Validity::default())
        .unwrap()
        .into_descriptor();
    // The proxy only counts, to kill the node with parts in flight.
    let proxy = TestProxy::start(&t.endpoint, ProxyRules::default())
        .await
        .unwrap();
    let jf = job_file(dir.path(), "job.json", &job, &t, Some(&proxy));

    let mut child = tokio::process::Command::new(binary());
    child
        .env_clear()
        .env("SIGNPOST_LOG", "warn")
        .env("SIGNPOST_STATE_DIR", dir.path().join("state"))
        .kill_on_drop(true);
    upload_args(&mut child, &jf, &file);
    let mut child = child.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while proxy.put_bytes() < 60 * MIB {
        assert!(Instant::now() < deadline, "the upload made no progress");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the upload ended before the node was killed"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &victim.to_string()])
        .status()
        .unwrap();
    assert!(killed.success(), "SIGKILL garage node {victim}");
    // Gone (a zombie of the script's until it is reaped, but no longer serving). SIGKILL is
    // delivered at once but the exit takes a moment: poll for it rather than guess a delay.
    let gone = |state: &str| state.is_empty() || state.split_whitespace().nth(2) == Some("Z");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let state = std::fs::read_to_string(format!("/proc/{victim}/stat")).unwrap_or_default();
        if gone(&state) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "garage node {victim} still runs 30 s after SIGKILL: {state}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let out = child.wait_with_output().await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["bytes"], size);
    eprintln!("node {victim} killed at 60 MiB sent; the CLI said {result}; its warnings: {stderr}");
    let (status, back) = t.get(&key).await.unwrap();
    assert_eq!(status, 200);
    assert!(
        Sha256::digest(&back) == Sha256::digest(&bytes),
        "byte-identical"
    );
}
