//! Search over transcripts: a year and more of daily chat transcripts,
//! 1,000,000 messages in all, imported as the wiki pages the publisher
//! writes, then searched over HTTP as a signed-in reader would.
//!
//! The pages are rendered by `transcript::render_day`, the publisher's own
//! renderer, and put in place with `backchannel page import` (posting a
//! million messages and waiting for the publisher would measure the write
//! path, which the durable-writes row covers). Messages mix a vocabulary of
//! common words, a rarer word per day and a unique ticket number each, so
//! the queries hit long, medium and single-page posting lists. Latency is
//! measured per request, one request at a time (`GET /api/search`, first
//! result page with snippets and the permission filter).

use crate::report::Row;
use crate::scenario::Latency;
use crate::target::Target;
use ::transcript::{render_day, Day};
use anyhow::{bail, Context, Result};
use chrono::{NaiveDate, TimeDelta, TimeZone, Utc};
use protocol::{Message, MessageId, RoomId, UserId};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// The aim for one search, p99, in milliseconds.
const AIM_MS: f64 = 30.0;

/// Words every day uses, so common queries match every page.
const COMMON: [&str; 12] = [
    "deploy", "review", "ticket", "release", "lunch", "meeting", "design", "budget", "customer",
    "incident", "roadmap", "testing",
];

/// Renders `days` transcript pages of `per_day` messages under `dir`.
fn write_pages(dir: &Path, days: u64, per_day: u64) -> Result<()> {
    let room = RoomId::new("bench-search");
    let first = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap_or_default();
    for d in 0..days {
        let date = first + TimeDelta::days(d as i64);
        let start = Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).unwrap_or_default());
        let step = 86_000_000 / per_day as i64;
        let messages: Vec<Message> = (1..=per_day)
            .map(|i| {
                let seq = d * per_day + i;
                let word = COMMON[(seq % COMMON.len() as u64) as usize];
                let other = COMMON[((seq / 7) % COMMON.len() as u64) as usize];
                Message {
                    id: MessageId::new(format!("m{seq}")),
                    room: room.clone(),
                    seq,
                    author: UserId::new(format!("user{}", seq % 23)),
                    author_name: format!("User {}", seq % 23),
                    body: format!(
                        "the {word} for ticket{seq} needs a {other} before we ship it after lunch; \
                         day word dayword{d} and nothing else"
                    ),
                    html: String::new(),
                    created_at: start + TimeDelta::milliseconds(i as i64 * step),
                    edited_at: None,
                    deleted_at: None,
                    reply_to: None,
                    client_msg_id: None,
                    mentions: Vec::new(),
                    attachments: Vec::new(),
                }
            })
            .collect();
        let page = render_day(&Day {
            room_name: "Lobby",
            room_id: &room,
            page_title: "Team",
            page_url: "/pages/Team",
            date,
            zone: chrono_tz::UTC,
            messages: &messages,
            parents: &[],
        });
        std::fs::write(dir.join(format!("{date}.md")), page.markdown)?;
    }
    Ok(())
}

/// What the scenario found.
#[derive(Debug, serde::Serialize)]
pub struct Searching {
    pub messages: u64,
    pub pages: u64,
    pub import_seconds: f64,
    pub requests: usize,
    pub latency: Latency,
    /// The same requests by kind of query.
    pub by_kind: BTreeMap<String, Latency>,
}

/// Imports `days × per_day` messages of transcripts into `target` and runs
/// `requests` searches.
pub async fn measure(
    target: &Target,
    server: &Path,
    days: u64,
    per_day: u64,
    requests: usize,
) -> Result<Searching> {
    let pages = tempfile::Builder::new()
        .prefix("bc-bench-transcripts-")
        .tempdir()?;
    let chat = pages.path().join("Lobby");
    std::fs::create_dir_all(&chat)?;
    write_pages(&chat, days, per_day)?;
    let data = target
        .data_dir()
        .context("the target has no data directory")?;
    let started = Instant::now();
    let status = Command::new(server)
        .args(["page", "import"])
        .arg(pages.path())
        .args(["--under", "Welcome/Chat", "--data"])
        .arg(data)
        .envs(target.env().iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .status()
        .context("running backchannel page import")?;
    if !status.success() {
        bail!("`backchannel page import` failed ({status})");
    }
    let import_seconds = started.elapsed().as_secs_f64();

    // (kind, query): the kinds hit posting lists of very different lengths,
    // so each gets its own figure beside the overall one.
    let mut queries: Vec<(&str, String)> = COMMON
        .iter()
        .map(|w| ("common word (every page)", (*w).to_owned()))
        .collect();
    queries.extend(
        (0..days)
            .step_by((days as usize / 20).max(1))
            .map(|d| ("word of one day", format!("dayword{d}"))),
    );
    queries.extend((0..20u64).map(|i| {
        let ticket = (i * 7_919 * per_day / 13) % (days * per_day) + 1;
        ("ticket number (one message)", format!("ticket{ticket}"))
    }));
    queries.push(("phrase in every message", "\"ship it after lunch\"".into()));
    queries.push(("prefix", "deplo*".into()));

    // Every query must find something, or the figure would be for nothing.
    for (_, query) in &queries {
        let body: serde_json::Value = serde_json::from_str(&target.search(query).await?)?;
        if body["total"].as_u64().unwrap_or(0) == 0 {
            bail!("the search for {query:?} found nothing: {body}");
        }
    }
    let mut micros = Vec::with_capacity(requests);
    let mut by_kind: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for i in 0..requests {
        let (kind, query) = &queries[i % queries.len()];
        let started = Instant::now();
        target.search(query).await?;
        let took = started.elapsed().as_micros() as u64;
        micros.push(took);
        by_kind.entry(kind).or_default().push(took);
    }
    let by_kind: BTreeMap<String, Latency> = by_kind
        .into_iter()
        .map(|(kind, samples)| (kind.to_owned(), Latency::from_micros(samples)))
        .collect();
    for (kind, latency) in &by_kind {
        println!(
            "    {kind:<28} p50 {:>7.1} ms  p99 {:>7.1} ms",
            latency.p50_ms, latency.p99_ms
        );
    }
    Ok(Searching {
        messages: days * per_day,
        pages: days,
        import_seconds,
        requests,
        latency: Latency::from_micros(micros),
        by_kind,
    })
}

/// The report row.
pub fn row(result: Result<Searching>, messages: u64) -> Row {
    let scenario = format!(
        "search over {} messages in transcripts, over HTTP",
        crate::thousands(messages)
    );
    match result {
        Ok(s) => Row {
            scenario,
            aim: format!("p99 < {AIM_MS:.0} ms"),
            measured: format!(
                "p50 {:.1} ms, p99 {:.1} ms",
                s.latency.p50_ms, s.latency.p99_ms
            ),
            baseline: None,
            percent_of_baseline: None,
            met: Some(s.latency.p99_ms < AIM_MS),
            note: Some(format!(
                "{} transcript pages, imported in {:.0} s",
                s.pages, s.import_seconds
            )),
            detail: serde_json::to_value(&s).unwrap_or_default(),
        },
        Err(e) => Row {
            scenario,
            aim: format!("p99 < {AIM_MS:.0} ms"),
            measured: "failed".into(),
            baseline: None,
            percent_of_baseline: None,
            met: Some(false),
            note: Some(format!("{e:#}")),
            detail: serde_json::Value::Null,
        },
    }
}
