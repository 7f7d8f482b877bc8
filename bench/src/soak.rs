//! The soak: one steady load for a long time, watched for drift.
//!
//! Short runs hide what a day of chat does (issue 18 found RSS rising 3.5 MB
//! a minute and p99 climbing tenfold over ten minutes that an 8-second run
//! never showed). The soak first runs the same load for 8 seconds as the
//! reference, then keeps `listeners` WebSocket listeners in the Lobby while
//! one sender posts `rate` messages a second for `seconds`, and records:
//! - every 30 s: the server's RSS and the sizes of `wiki.db` and `chat.db`
//!   (each with its `-wal`), and how many messages were due by then;
//! - per minute of intended send time: post → deliver p50/p99/max over every
//!   listener (one histogram per minute, merged from the listeners, so an
//!   hour of 10,000 deliveries a second costs kilobytes, not gigabytes), and
//!   beside it the disk's own fsync latency from a probe in the data
//!   directory (a delivery waits for its COMMIT's fsync);
//! - at the end: messages lost, the RSS slope after warm-up (least squares
//!   over the samples taken after it, MB per minute) and the bytes each
//!   database grew per message over the same span.
//!
//! Warm-up is the first 5 minutes, or the first third of a shorter soak.

use crate::client::{self, Ws};
use crate::scenario::{self, Latency, Plan};
use crate::target::Target;
use anyhow::{Context, Result};
use futures_util::StreamExt;
use hdrhistogram::Histogram;
use serde::Serialize;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// How often memory and database sizes are read.
const SAMPLE_EVERY: Duration = Duration::from_secs(30);
/// The longest warm-up: samples before it do not count toward the slope.
const WARM_UP: Duration = Duration::from_secs(300);
/// How long listeners wait for stragglers after the last send.
const GRACE: Duration = Duration::from_secs(10);
/// 8-second runs at the same load before the soak; the median is the reference.
const REFERENCE_RUNS: usize = 3;
/// When the first message is due, after the listeners' epoch.
const START: Duration = Duration::from_millis(500);

/// What to run.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Options {
    pub seconds: u64,
    pub listeners: usize,
    pub rate: f64,
}

/// One reading of the server, every 30 s.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Sample {
    pub at_s: u64,
    pub rss_bytes: u64,
    /// What each database's data takes (pages in use).
    pub wiki_db_bytes: u64,
    pub chat_db_bytes: u64,
    /// Both databases' files on disk, write-ahead logs included.
    pub files_bytes: u64,
    /// Messages due by now (intended send times passed).
    pub messages: u64,
}

/// Post → deliver over one minute of intended send times.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Minute {
    pub minute: u64,
    pub latency: Latency,
    /// The disk's fsync latency over the same minute (see [`probe_disk`]).
    pub fsync: Latency,
}

/// A second in which some delivery took much longer than the reference's
/// p99 (seconds of intended send time after the soak's epoch).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Stall {
    pub second: u64,
    pub worst_ms: f64,
}

/// Everything the soak measured.
#[derive(Debug, Clone, Serialize)]
pub struct Soak {
    pub options: Options,
    /// The same load over 8 seconds, on the same fresh server, first: the
    /// median of [`REFERENCE_RUNS`] runs by p99, and each of them.
    pub reference: Latency,
    pub references: Vec<Latency>,
    pub samples: Vec<Sample>,
    pub minutes: Vec<Minute>,
    /// Seconds whose worst delivery took over 4x the reference's p99.
    pub stalls: Vec<Stall>,
    /// When the soak's clock started, for lining stalls up with the log.
    pub epoch_utc: String,
    pub sent: u64,
    pub acked: u64,
    pub delivered: u64,
    pub lost: u64,
    pub warm_up_s: u64,
    /// Least-squares RSS slope over the samples after warm-up, MB/min.
    pub rss_slope_mb_per_min: f64,
    pub rss_after_warm_up_bytes: u64,
    pub rss_end_bytes: u64,
    /// Growth of each database (with its WAL) per message after warm-up.
    pub wiki_bytes_per_message: f64,
    pub chat_bytes_per_message: f64,
    /// The worst minute's p99 over the reference's p99.
    pub worst_p99_ratio: f64,
}

impl Soak {
    /// The aims of issue 18: a flat footprint, a steady p99, nothing lost.
    pub fn met(&self) -> bool {
        self.lost == 0 && self.rss_slope_mb_per_min < 0.1 && self.worst_p99_ratio <= 2.0
    }

    /// The report as markdown: the verdict, the per-minute latencies and the
    /// samples.
    pub fn markdown(&self, machine: &crate::report::Machine, date: &str) -> String {
        use std::fmt::Write as _;
        let mb = |b: u64| b as f64 / 1_000_000.0;
        let mut out = String::new();
        let o = &self.options;
        let _ = writeln!(
            out,
            "Soak measured {date} on {} ({} cores, {} GiB, Linux {}): {} listeners in one room, \
             {} msg/s for {} s ({} min), release build, server pinned to one core.\n",
            machine.cpu,
            machine.cores,
            machine.memory_gib,
            machine.kernel,
            o.listeners,
            o.rate,
            o.seconds,
            o.seconds / 60
        );
        let worst = self
            .minutes
            .iter()
            .map(|m| m.latency.p99_ms)
            .fold(0.0, f64::max);
        let rows = [
            (
                "RSS slope after warm-up",
                "< 0.1 MB/min".to_owned(),
                format!(
                    "{:+.3} MB/min ({:.1} MB at {} s, {:.1} MB at the end)",
                    self.rss_slope_mb_per_min,
                    mb(self.rss_after_warm_up_bytes),
                    self.warm_up_s,
                    mb(self.rss_end_bytes)
                ),
                self.rss_slope_mb_per_min < 0.1,
            ),
            (
                "post → deliver p99, worst minute",
                format!(
                    "<= 2x the 8-second run ({:.1} ms, median of {})",
                    self.reference.p99_ms,
                    self.references
                        .iter()
                        .map(|r| format!("{:.1}", r.p99_ms))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                format!("{worst:.1} ms ({:.2}x)", self.worst_p99_ratio),
                self.worst_p99_ratio <= 2.0,
            ),
            (
                "deliveries",
                "none lost".to_owned(),
                format!(
                    "{} of {} ({} lost)",
                    self.delivered,
                    self.sent * o.listeners as u64,
                    self.lost
                ),
                self.lost == 0,
            ),
            (
                "database growth per message after warm-up",
                "linear".to_owned(),
                format!(
                    "wiki.db {:.0} B, chat.db {:.0} B",
                    self.wiki_bytes_per_message, self.chat_bytes_per_message
                ),
                true,
            ),
        ];
        out.push_str("| soak | aim | measured | met |\n|---|---|---|---|\n");
        for (what, aim, measured, met) in rows {
            let met = if met { "yes" } else { "**no**" };
            let _ = writeln!(out, "| {what} | {aim} | {measured} | {met} |");
        }
        if !self.stalls.is_empty() {
            let _ = writeln!(
                out,
                "\nSeconds (after {}) whose slowest delivery took over 4x the reference p99: {}.",
                self.epoch_utc,
                self.stalls
                    .iter()
                    .map(|s| format!("{} s ({:.0} ms)", s.second, s.worst_ms))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        out.push_str(
            "\n| minute | p50 ms | p99 ms | max ms | deliveries | disk fsync p50 / max ms |\n\
             |---|---|---|---|---|---|\n",
        );
        for m in &self.minutes {
            let _ = writeln!(
                out,
                "| {} | {:.1} | {:.1} | {:.1} | {} | {:.2} / {:.1} |",
                m.minute,
                m.latency.p50_ms,
                m.latency.p99_ms,
                m.latency.max_ms,
                m.latency.samples,
                m.fsync.p50_ms,
                m.fsync.max_ms
            );
        }
        out.push_str(
            "\n| at | RSS MB | wiki.db MB in use | chat.db MB in use | files on disk MB | messages |\n\
             |---|---|---|---|---|---|\n",
        );
        for s in &self.samples {
            let _ = writeln!(
                out,
                "| {} s | {:.1} | {:.2} | {:.2} | {:.1} | {} |",
                s.at_s,
                mb(s.rss_bytes),
                mb(s.wiki_db_bytes),
                mb(s.chat_db_bytes),
                mb(s.files_bytes),
                s.messages
            );
        }
        out
    }
}

/// Runs the reference and the soak against `target` (a fresh server).
pub async fn run(target: &Target, options: Options) -> Result<Soak> {
    // The machine's own noise moves one 8-second p99 by a factor of two or
    // more between runs here, so the reference is the median of three.
    let mut references = Vec::new();
    for _ in 0..REFERENCE_RUNS {
        let run = scenario::fanout(
            target,
            options.listeners,
            Plan {
                rate: options.rate,
                duration: Duration::from_secs(8),
                senders: 1,
            },
        )
        .await
        .context("an 8-second reference run")?;
        println!(
            "    reference (8 s): p50 {:.1} ms, p99 {:.1} ms, lost {}",
            run.latency.p50_ms, run.latency.p99_ms, run.lost
        );
        references.push(run.latency);
    }
    references.sort_by(|a, b| a.p99_ms.total_cmp(&b.p99_ms));
    let reference = references[references.len() / 2];

    let sockets = scenario::open_listeners(target, &target.room, options.listeners, 1_000).await?;
    let plan = Plan {
        rate: options.rate,
        duration: Duration::from_secs(options.seconds),
        senders: 1,
    };
    let minutes = Arc::new(Minutes::new(options.seconds));
    let done = Arc::new(AtomicBool::new(false));
    let expected = Arc::new(AtomicU64::new(0));
    let epoch = Instant::now();
    let epoch_utc = chrono::Utc::now();
    let listeners: Vec<_> = sockets
        .into_iter()
        .map(|ws| {
            tokio::spawn(listen(
                ws,
                epoch,
                Arc::clone(&minutes),
                Arc::clone(&expected),
                Arc::clone(&done),
            ))
        })
        .collect();
    let data = target
        .data_dir()
        .context("the soak needs a backchannel server")?
        .to_owned();
    let disk = tokio::task::spawn_blocking({
        let (data, done) = (data.clone(), Arc::clone(&done));
        move || probe_disk(&data, epoch, &done)
    });
    let sampler = {
        let pid_rss = target.rss_reader();
        let done = Arc::clone(&done);
        tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut every = tokio::time::interval_at(epoch.into(), SAMPLE_EVERY);
            while !done.load(Ordering::Relaxed) {
                every.tick().await;
                let at = epoch.elapsed();
                let due = at.saturating_sub(START).as_secs_f64() * plan.rate;
                let sample = Sample {
                    at_s: at.as_secs(),
                    rss_bytes: pid_rss().unwrap_or(0),
                    wiki_db_bytes: db_bytes(&data, "wiki.db"),
                    chat_db_bytes: db_bytes(&data, "chat.db"),
                    files_bytes: file_bytes(&data, "wiki.db") + file_bytes(&data, "chat.db"),
                    messages: (due as u64).min(plan.messages()),
                };
                println!(
                    "    {:>5} s: RSS {:.1} MB, wiki.db {:.2} MB, chat.db {:.2} MB \
                     ({:.1} MB of files), {} messages",
                    sample.at_s,
                    sample.rss_bytes as f64 / 1e6,
                    sample.wiki_db_bytes as f64 / 1e6,
                    sample.chat_db_bytes as f64 / 1e6,
                    sample.files_bytes as f64 / 1e6,
                    sample.messages
                );
                samples.push(sample);
            }
            samples
        })
    };

    let sent = scenario::send(
        target,
        std::slice::from_ref(&target.room),
        plan,
        epoch,
        START,
    )
    .await?;
    expected.store(sent.sent, Ordering::Release);
    tokio::time::sleep(GRACE).await;
    done.store(true, Ordering::Release);
    let mut delivered = 0;
    for listener in listeners {
        delivered += listener.await.context("listener")?;
    }
    let samples = sampler.await.context("sampler")?;
    let fsyncs = disk.await.context("disk probe")?;
    let stalls = minutes.stalls((reference.p99_ms * 4_000.0) as u64);
    let mut minutes = minutes.latencies();
    for minute in &mut minutes {
        if let Some(fsync) = fsyncs.get(minute.minute as usize) {
            minute.fsync = Latency::from_histogram(fsync);
        }
    }
    let mut soak = summarize(options, reference, samples, minutes, &sent, delivered);
    soak.stalls = stalls;
    soak.references = references;
    soak.epoch_utc = epoch_utc.to_rfc3339();
    Ok(soak)
}

/// The figures from the raw readings.
fn summarize(
    options: Options,
    reference: Latency,
    samples: Vec<Sample>,
    minutes: Vec<Minute>,
    sent: &scenario::Sent,
    delivered: u64,
) -> Soak {
    let warm_up = WARM_UP.min(Duration::from_secs(options.seconds / 3));
    let after: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.at_s >= warm_up.as_secs())
        .collect();
    let slope = |value: fn(&Sample) -> f64| -> f64 {
        least_squares(after.iter().map(|s| (s.at_s as f64 / 60.0, value(s))))
    };
    let rss_slope = slope(|s| s.rss_bytes as f64 / 1e6);
    let per_message = |value: fn(&Sample) -> u64| -> f64 {
        match (after.first(), after.last()) {
            (Some(first), Some(last)) if last.messages > first.messages => {
                (value(last) as f64 - value(first) as f64) / (last.messages - first.messages) as f64
            }
            _ => 0.0,
        }
    };
    let worst = minutes.iter().map(|m| m.latency.p99_ms).fold(0.0, f64::max);
    Soak {
        options,
        reference,
        sent: sent.sent,
        acked: sent.acked,
        delivered,
        lost: (sent.sent * options.listeners as u64).saturating_sub(delivered),
        warm_up_s: warm_up.as_secs(),
        rss_slope_mb_per_min: rss_slope,
        rss_after_warm_up_bytes: after.first().map_or(0, |s| s.rss_bytes),
        rss_end_bytes: samples.last().map_or(0, |s| s.rss_bytes),
        wiki_bytes_per_message: per_message(|s| s.wiki_db_bytes),
        chat_bytes_per_message: per_message(|s| s.chat_db_bytes),
        worst_p99_ratio: if reference.p99_ms > 0.0 {
            worst / reference.p99_ms
        } else {
            0.0
        },
        samples,
        minutes,
        stalls: Vec::new(),
        epoch_utc: String::new(),
        references: Vec::new(),
    }
}

/// The slope of the least-squares line through `points` (0 for fewer than two).
fn least_squares(points: impl Iterator<Item = (f64, f64)>) -> f64 {
    let points: Vec<(f64, f64)> = points.collect();
    let n = points.len() as f64;
    if points.len() < 2 {
        return 0.0;
    }
    let (mean_x, mean_y) = (
        points.iter().map(|p| p.0).sum::<f64>() / n,
        points.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let covariance: f64 = points
        .iter()
        .map(|(x, y)| (x - mean_x) * (y - mean_y))
        .sum();
    let variance: f64 = points.iter().map(|(x, _)| (x - mean_x).powi(2)).sum();
    if variance == 0.0 {
        0.0
    } else {
        covariance / variance
    }
}

/// The bytes a database's pages hold (page count less free pages, times
/// the page size), read through a read-only connection, so what is still
/// in the write-ahead log counts and a WAL file kept at its largest for
/// reuse does not: what the data takes, not what the files reserve. 0 when
/// it cannot be read.
fn db_bytes(dir: &Path, name: &str) -> u64 {
    let used = || -> rusqlite::Result<u64> {
        let conn = rusqlite::Connection::open_with_flags(
            dir.join(name),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        let pragma = |name: &str| -> rusqlite::Result<u64> {
            conn.query_row(&format!("PRAGMA {name}"), [], |row| row.get(0))
        };
        Ok((pragma("page_count")? - pragma("freelist_count")?) * pragma("page_size")?)
    };
    used().unwrap_or(0)
}

/// A database file with its write-ahead log as they stand on disk.
fn file_bytes(dir: &Path, name: &str) -> u64 {
    [name.to_owned(), format!("{name}-wal")]
        .iter()
        .filter_map(|file| std::fs::metadata(dir.join(file)).ok())
        .map(|meta| meta.len())
        .sum()
}

/// One latency histogram per minute of intended send time, shared by the
/// listeners: each keeps its own for the minute it is in and merges it here
/// when the minute changes. Also the worst latency of each second, to
/// line stalls up with what the server's log says it was doing.
struct Minutes {
    histograms: Mutex<Vec<Histogram<u64>>>,
    worst_us: Vec<AtomicU64>,
}

impl Minutes {
    fn new(seconds: u64) -> Self {
        let count = seconds.div_ceil(60) as usize + 1;
        Self {
            histograms: Mutex::new((0..count).map(|_| histogram()).collect()),
            worst_us: (0..seconds + 2).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    fn note(&self, intended: Duration, latency_us: u64) {
        if let Some(worst) = self.worst_us.get(intended.as_secs() as usize) {
            worst.fetch_max(latency_us, Ordering::Relaxed);
        }
    }

    /// The seconds (of intended send time) whose worst latency passed
    /// `limit_us`, with it.
    fn stalls(&self, limit_us: u64) -> Vec<Stall> {
        self.worst_us
            .iter()
            .enumerate()
            .map(|(second, worst)| (second, worst.load(Ordering::Relaxed)))
            .filter(|(_, worst)| *worst > limit_us)
            .map(|(second, worst)| Stall {
                second: second as u64,
                worst_ms: worst as f64 / 1000.0,
            })
            .collect()
    }

    fn merge(&self, minute: usize, from: &Histogram<u64>) {
        let mut all = self
            .histograms
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(into) = all.get_mut(minute) {
            let _ = into.add(from);
        }
    }

    fn latencies(&self) -> Vec<Minute> {
        let all = self
            .histograms
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        all.iter()
            .enumerate()
            .filter(|(_, h)| !h.is_empty())
            .map(|(minute, h)| Minute {
                minute: minute as u64,
                latency: Latency::from_histogram(h),
                fsync: Latency::default(),
            })
            .collect()
    }
}

/// How often the disk probe writes and syncs.
const PROBE_EVERY: Duration = Duration::from_millis(250);

/// Writes 8 KiB and fsyncs it in the server's data directory every
/// [`PROBE_EVERY`] until `done`, timing each fsync into one histogram per
/// minute. The chat acknowledges and delivers a message only after its
/// COMMIT is on disk (`synchronous = FULL`), so the disk's slow syncs are a
/// floor under the slowest deliveries: this says how slow they were here,
/// minute by minute, beside the latencies they explain.
fn probe_disk(dir: &Path, epoch: Instant, done: &AtomicBool) -> Vec<Histogram<u64>> {
    use std::io::Write as _;
    let mut minutes: Vec<Histogram<u64>> = Vec::new();
    let path = dir.join("bench-fsync-probe");
    let Ok(mut file) = std::fs::File::create(&path) else {
        return minutes;
    };
    let block = vec![0u8; 8 * 1024];
    while !done.load(Ordering::Relaxed) {
        std::thread::sleep(PROBE_EVERY);
        let minute = (epoch.elapsed().as_secs() / 60) as usize;
        let started = Instant::now();
        if file
            .write_all(&block)
            .and_then(|()| file.sync_data())
            .is_err()
        {
            break;
        }
        let micros = (started.elapsed().as_micros() as u64).max(1);
        while minutes.len() <= minute {
            minutes.push(histogram());
        }
        let _ = minutes[minute].record(micros);
    }
    let _ = std::fs::remove_file(&path);
    minutes
}

fn histogram() -> Histogram<u64> {
    // 1 us to 1 hour at 3 significant digits; bounds this wide cannot fail.
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

/// Reads bench messages until `done`, or until `expected` (once known)
/// have arrived; returns how many distinct ones did.
async fn listen(
    mut ws: Ws,
    epoch: Instant,
    minutes: Arc<Minutes>,
    expected: Arc<AtomicU64>,
    done: Arc<AtomicBool>,
) -> u64 {
    let mut received = 0u64;
    let mut seen = client::Seen::default();
    let (mut minute, mut current) = (0usize, histogram());
    loop {
        let want = expected.load(Ordering::Acquire);
        if (want > 0 && received >= want) || done.load(Ordering::Acquire) {
            break;
        }
        let frame = match tokio::time::timeout(Duration::from_secs(1), ws.next()).await {
            Err(_) => continue,
            Ok(Some(Ok(WsMessage::Text(text)))) => text,
            Ok(Some(Ok(_))) => continue,
            Ok(_) => break,
        };
        let Some((n, intended)) = client::bench_stamp(frame.as_str()) else {
            continue;
        };
        if !seen.first_time(n) {
            continue;
        }
        received += 1;
        let intended = Duration::from_nanos(intended);
        let latency = epoch.elapsed().saturating_sub(intended);
        let at_minute = (intended.as_secs() / 60) as usize;
        if at_minute != minute {
            minutes.merge(minute, &current);
            current.reset();
            minute = at_minute;
        }
        let micros = (latency.as_micros() as u64).max(1);
        minutes.note(intended, micros);
        let _ = current.record(micros);
    }
    minutes.merge(minute, &current);
    let _ = ws.close(None).await;
    received
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slope_of_a_line_is_its_gradient() {
        let line = (0..10).map(|x| (f64::from(x), 3.0 * f64::from(x) + 1.0));
        assert!((least_squares(line) - 3.0).abs() < 1e-9);
        let flat = (0..10).map(|x| (f64::from(x), 5.0));
        assert_eq!(least_squares(flat), 0.0);
        assert_eq!(least_squares(std::iter::once((1.0, 2.0))), 0.0);
    }
}
