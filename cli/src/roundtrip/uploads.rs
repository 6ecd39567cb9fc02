//! The uploads of the round trip: PUT, POST and multipart, each read back and compared.

use std::sync::Arc;

use anyhow::Context;
use signpost_presign::{MultipartPlan, PresignRequest, S3Operation};

use super::{Ctx, Row, fail};
use crate::fault_proxy::FaultProxy;
use crate::s3;

pub(super) async fn put(ctx: &Ctx) -> Row {
    let key = format!("{}/put.bin", ctx.prefix);
    let r = async {
        let signed = ctx.presigner.presign(
            &PresignRequest::put_object(&*ctx.bucket, &*key)
                .content_type("video/mp4")
                .meta("signpost-case", "put")
                .validity(Ctx::validity()?),
        )?;
        ctx.upload_timed(&signed.to_descriptor()?).await
    }
    .await;
    match r {
        Ok((out, started)) => {
            ctx.check_back("put", &key, format!("HTTP {}", out.status), started)
                .await
        }
        Err(e) => fail("put", "error".into(), format!("{e:#}")),
    }
}

pub(super) async fn post(ctx: &Ctx) -> Row {
    let prefix = format!("{}/post/", ctx.prefix);
    let r = async {
        let form = ctx
            .presigner
            .post_policy(&*ctx.bucket)
            .key_starts_with(&*prefix)
            .content_length_range(ctx.size, ctx.size)
            .content_type("video/mp4")
            .success_action_status(201)
            .validity(Ctx::validity()?)
            .build()?;
        ctx.upload_timed(&form.to_descriptor()).await
    }
    .await;
    match r {
        Ok((out, started)) => {
            let key = out
                .post_response
                .as_ref()
                .and_then(|p| p.key.clone())
                .unwrap_or_else(|| format!("{prefix}roundtrip.bin"));
            let mut row = ctx
                .check_back("post", &key, format!("HTTP {}", out.status), started)
                .await;
            if out.post_response.is_none() {
                row.passed = false;
                row.detail = format!(
                    "{}; no PostResponse document for success_action_status=201",
                    row.detail
                );
            }
            row
        }
        Err(e) => fail("post", "error".into(), format!("{e:#}")),
    }
}

fn default_part_size(size: u64) -> u64 {
    const MIB: u64 = 1 << 20;
    (size.div_ceil(16).div_ceil(MIB) * MIB).max(5 * MIB)
}

pub(super) async fn multipart(ctx: &Ctx, part_size: Option<u64>) -> Row {
    let case = "multipart (a part fails twice)";
    let key = format!("{}/multipart.bin", ctx.prefix);
    let part_size = part_size.unwrap_or_else(|| default_part_size(ctx.size));
    let r = async {
        let upload_id = s3::create_multipart(
            &ctx.uploader,
            &ctx.presigner,
            &ctx.bucket,
            &key,
            Some("video/mp4"),
        )
        .await?;
        let plan = MultipartPlan::builder(&*ctx.bucket, &*key, upload_id)
            .part_size(part_size)
            .max_object_size(ctx.size.max(1))
            .build()?;
        let mut job = plan
            .presign(&ctx.presigner, Ctx::validity()?)?
            .into_descriptor();
        // The last part goes through a proxy that answers 503 SlowDown twice.
        let mp = job.multipart.as_mut().context("plan without parts")?;
        let victim = mp.parts_needed(ctx.size) as usize;
        let proxy = FaultProxy::start(
            ctx.client().clone(),
            ctx.endpoint_url.clone(),
            2,
            Arc::new(move |m: &str, pq: &str| {
                m == "PUT" && pq.contains(&format!("partNumber={victim}&"))
            }),
        )
        .await?;
        let url = &mut mp.parts[victim - 1];
        *url = url.replacen(&ctx.endpoint_url, &proxy.base, 1).into();
        let (out, started) = ctx.upload_timed(&job).await?;
        anyhow::Ok((out, started, proxy.failed(), victim))
    }
    .await;
    match r {
        Ok((out, started, failed, victim)) => {
            let status = format!("HTTP {}, {} parts", out.status, out.parts.unwrap_or(0));
            let mut row = ctx.check_back(case, &key, status, started).await;
            if failed != 2 {
                row.passed = false;
                row.detail = format!("part {victim} was failed {failed} times, not 2");
            } else {
                row.detail = format!("{}; part {victim} retried after 2 failures", row.detail);
            }
            row
        }
        Err(e) => fail(case, "error".into(), format!("{e:#}")),
    }
}

pub(super) async fn multipart_abort(ctx: &Ctx) -> Row {
    let case = "multipart abort leaves nothing";
    let key = format!("{}/aborted.bin", ctx.prefix);
    let r = async {
        let client = &ctx.uploader;
        let p = &ctx.presigner;
        let upload_id = s3::create_multipart(client, p, &ctx.bucket, &key, None).await?;
        let part = p.presign(&PresignRequest::upload_part(
            &*ctx.bucket,
            &*key,
            &*upload_id,
            1,
        ))?;
        let first = s3::send(client, &part, Some(vec![7u8; 1024])).await?;
        anyhow::ensure!(first.status == 200, "UploadPart before abort: {}", first);
        let abort = p.presign(&PresignRequest::abort_multipart_upload(
            &*ctx.bucket,
            &*key,
            &*upload_id,
        ))?;
        let a = s3::send(client, &abort, None).await?;
        anyhow::ensure!(
            a.status == 204 || a.status == 200,
            "AbortMultipartUpload: {}",
            a
        );
        let after = s3::send(client, &part, Some(vec![7u8; 1024])).await?;
        anyhow::ensure!(
            after.is_s3_refusal(),
            "UploadPart to the aborted upload was not refused: {}",
            after
        );
        let list = p.presign(&PresignRequest::bucket(
            S3Operation::ListMultipartUploads,
            &*ctx.bucket,
        ))?;
        let l = s3::send(client, &list, None).await?;
        let listed = match l.status {
            200 if l.body.contains(&upload_id) => {
                anyhow::bail!("ListMultipartUploads still lists {upload_id}")
            }
            200 => "not listed by ListMultipartUploads",
            _ => "ListMultipartUploads not implemented by this server",
        };
        anyhow::Ok(format!("{}; {listed}", after))
    }
    .await;
    match r {
        Ok(detail) => Row {
            case: case.into(),
            status: "aborted".into(),
            bytes: 0,
            mbps: None,
            passed: true,
            detail: format!("part upload refused after abort ({detail})"),
        },
        Err(e) => fail(case, "error".into(), format!("{e:#}")),
    }
}
