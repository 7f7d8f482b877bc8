//! The scenarios: each drives a [`Target`] and returns figures.
//!
//! Sending is open-loop: message `n` has an intended send time fixed before
//! the run (`n / rate` after the start) and latency is measured from it, so a
//! server that stalls is charged for the whole stall.

use crate::client::{self, Heard, Ws};
use crate::target::{Kind, Target};
use anyhow::{bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// Connections opened at once while setting up listeners.
const CONNECT_PARALLEL: usize = 256;
/// How long listeners wait for stragglers after the last send.
const GRACE: Duration = Duration::from_secs(5);

/// Latency figures in milliseconds.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Latency {
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub samples: u64,
}

impl Latency {
    pub fn from_micros(samples: impl IntoIterator<Item = u64>) -> Self {
        let mut histogram = match Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3) {
            Ok(h) => h,
            Err(_) => return Self::default(),
        };
        for us in samples {
            let _ = histogram.record(us.max(1));
        }
        Self::from_histogram(&histogram)
    }

    /// The figures of a histogram of microseconds.
    pub fn from_histogram(histogram: &Histogram<u64>) -> Self {
        let ms = |us: u64| us as f64 / 1000.0;
        Self {
            p50_ms: ms(histogram.value_at_quantile(0.50)),
            p99_ms: ms(histogram.value_at_quantile(0.99)),
            max_ms: ms(histogram.max()),
            samples: histogram.len(),
        }
    }
}

/// Opens `count` subscribed WebSocket listeners in `room`.
pub async fn open_listeners(
    target: &Target,
    room: &str,
    count: usize,
    offset: usize,
) -> Result<Vec<Ws>> {
    let url = target.ws_url();
    let mut listeners = Vec::with_capacity(count);
    let mut started = 0;
    while started < count {
        let batch = CONNECT_PARALLEL.min(count - started);
        let mut tasks = Vec::with_capacity(batch);
        for index in started..started + batch {
            let (url, room) = (url.clone(), room.to_owned());
            let token = target.token(index + 1).map(str::to_owned);
            let addr = target.addr;
            let source = client::source_for(offset + index);
            tasks.push(tokio::spawn(async move {
                let mut ws = client::connect(&url, addr, token.as_deref(), source).await?;
                client::subscribe(&mut ws, &room).await?;
                anyhow::Ok(ws)
            }));
        }
        for task in tasks {
            listeners.push(task.await.context("listener task")??);
        }
        started += batch;
    }
    Ok(listeners)
}

/// One open-loop sending plan.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Messages per second, over all senders.
    pub rate: f64,
    pub duration: Duration,
    /// Sending connections; message `n` goes out on sender `n % senders`.
    pub senders: usize,
}

impl Plan {
    pub fn messages(&self) -> u64 {
        (self.rate * self.duration.as_secs_f64()).round().max(1.0) as u64
    }
}

/// What the senders saw.
#[derive(Debug, Default)]
pub struct Sent {
    pub sent: u64,
    pub acked: u64,
    pub ack_latency: Latency,
    pub took: Duration,
}

/// One sender's count: sent, acked, and each ack's latency in microseconds.
type SenderTally = (u64, u64, Vec<u64>);

/// Sends `plan` into `rooms` (message `n` to room `n % rooms.len()`) and
/// counts acks. `epoch` is the listeners' clock; the first message is
/// intended for `start` after it.
pub async fn send(
    target: &Target,
    rooms: &[String],
    plan: Plan,
    epoch: Instant,
    start: Duration,
) -> Result<Sent> {
    let total = plan.messages();
    let run = RUN.fetch_add(1, Ordering::Relaxed);
    let period = Duration::from_secs_f64(1.0 / plan.rate);
    let intended = move |n: u64| start + period.mul_f64(n as f64);
    let mut tasks: Vec<JoinHandle<Result<SenderTally>>> = Vec::new();
    for sender in 0..plan.senders {
        let url = target.ws_url();
        let token = target.token(sender).map(str::to_owned);
        let addr = target.addr;
        let rooms = rooms.to_vec();
        let senders = plan.senders as u64;
        tasks.push(tokio::spawn(async move {
            let ws =
                client::connect(&url, addr, token.as_deref(), client::source_for(sender)).await?;
            let (mut sink, mut stream) = ws.split();
            let mine = (sender as u64..total).step_by(senders as usize).count() as u64;
            let acks = tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(mine as usize);
                while (latencies.len() as u64) < mine {
                    let frame = match tokio::time::timeout(GRACE * 2, stream.next()).await {
                        Ok(Some(Ok(WsMessage::Text(text)))) => text,
                        Ok(Some(Ok(_))) => continue,
                        _ => break,
                    };
                    let text = frame.as_str();
                    if let Some(n) = ack_number(text) {
                        let at = epoch.elapsed().saturating_sub(intended(n));
                        latencies.push(at.as_micros() as u64);
                    } else if text.contains("\"type\":\"error\"") {
                        eprintln!("send refused: {text}");
                    }
                }
                latencies
            });
            let mut sent = 0;
            for n in (sender as u64..total).step_by(senders as usize) {
                let due = epoch + intended(n);
                tokio::time::sleep_until(due.into()).await;
                let room = &rooms[(n % rooms.len() as u64) as usize];
                let nanos = intended(n).as_nanos() as u64;
                sink.send(WsMessage::text(client::send_frame(room, run, n, nanos)))
                    .await?;
                sent += 1;
            }
            let latencies = acks.await.unwrap_or_default();
            let _ = sink.close().await;
            Ok((sent, latencies.len() as u64, latencies))
        }));
    }
    let began = Instant::now();
    let mut result = Sent::default();
    let mut all = Vec::new();
    for task in tasks {
        let (sent, acked, latencies) = task.await.context("sender task")??;
        result.sent += sent;
        result.acked += acked;
        all.extend(latencies);
    }
    result.took = began.elapsed();
    result.ack_latency = Latency::from_micros(all);
    Ok(result)
}

/// Numbers each sending run, for unique client_msg_ids.
static RUN: AtomicU64 = AtomicU64::new(0);

/// The message number in an ack frame (`"client_msg_id":"r<run>b<n>"`).
fn ack_number(text: &str) -> Option<u64> {
    if !text.contains("\"type\":\"ack\"") {
        return None;
    }
    const MARK: &str = "\"client_msg_id\":\"r";
    let after_run = text.find(MARK)? + MARK.len();
    let start = after_run + text[after_run..].find('b')? + 1;
    let digits: String = text[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Fan-out figures: one room, many listeners.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Fanout {
    pub listeners: usize,
    pub rate: f64,
    pub sent: u64,
    pub delivered: u64,
    pub lost: u64,
    pub deliveries_per_sec: f64,
    pub latency: Latency,
}

/// `listeners` listen in the target's room while `plan` is sent into it.
pub async fn fanout(target: &Target, listeners: usize, plan: Plan) -> Result<Fanout> {
    fanout_across(target, target, listeners, plan).await
}

/// `plan` is sent to `target` while `listeners` listen in the same room on
/// `listen_on`: another node of the same cluster, or `target` itself.
pub async fn fanout_across(
    target: &Target,
    listen_on: &Target,
    listeners: usize,
    plan: Plan,
) -> Result<Fanout> {
    let sockets = open_listeners(listen_on, &target.room, listeners, plan.senders).await?;
    let epoch = Instant::now();
    let expected = Arc::new(AtomicU64::new(0));
    let (stop, stopped) = watch::channel(false);
    let tasks: Vec<JoinHandle<Heard>> = sockets
        .into_iter()
        .map(|ws| {
            tokio::spawn(client::listen(
                ws,
                epoch,
                Arc::clone(&expected),
                stopped.clone(),
            ))
        })
        .collect();
    let sent = send(
        target,
        std::slice::from_ref(&target.room),
        plan,
        epoch,
        Duration::from_millis(200),
    )
    .await?;
    expected.store(sent.sent, Ordering::Release);
    let stopper = stop_after_grace(stop);
    let mut delivered = 0;
    let mut latencies = Vec::new();
    let mut last = Duration::ZERO;
    for task in tasks {
        let heard = task.await.context("listener")?;
        delivered += heard.received;
        last = last.max(heard.last_at.unwrap_or_default());
        latencies.extend(heard.latencies_us);
    }
    stopper.abort();
    let expected_total = sent.sent * listeners as u64;
    let span = last
        .saturating_sub(Duration::from_millis(200))
        .as_secs_f64()
        .max(plan.duration.as_secs_f64());
    Ok(Fanout {
        listeners,
        rate: plan.rate,
        sent: sent.sent,
        delivered,
        lost: expected_total.saturating_sub(delivered),
        deliveries_per_sec: delivered as f64 / span,
        latency: Latency::from_micros(latencies),
    })
}

/// The highest rate on `ladder` that delivers everything with p99 under
/// `p99_limit`; all attempts are returned too.
pub async fn max_fanout(
    target: &Target,
    listeners: usize,
    ladder: &[f64],
    duration: Duration,
    p99_limit_ms: f64,
) -> Result<(Option<Fanout>, Vec<Fanout>)> {
    let mut best = None;
    let mut tried = Vec::new();
    for &rate in ladder {
        let plan = Plan {
            rate,
            duration,
            senders: senders_for(rate),
        };
        let run = fanout(target, listeners, plan).await?;
        println!(
            "    {:>8.0} msg/s x {listeners}: {:>10.0} deliveries/s, p99 {:.1} ms, lost {}",
            rate, run.deliveries_per_sec, run.latency.p99_ms, run.lost
        );
        tried.push(run);
        if run.lost == 0 && run.latency.p99_ms < p99_limit_ms {
            best = Some(run);
        } else {
            break;
        }
    }
    Ok((best, tried))
}

/// Enough sending connections that one connection's round trips do not cap
/// the rate.
fn senders_for(rate: f64) -> usize {
    ((rate / 100.0).ceil() as usize).clamp(1, 16)
}

/// Time for one message to reach the last of `listeners`.
pub async fn last_listener(target: &Target, listeners: usize) -> Result<Fanout> {
    let plan = Plan {
        rate: 1.0,
        duration: Duration::from_secs(1),
        senders: 1,
    };
    fanout(target, listeners, plan).await
}

/// Server memory per idle (connected, subscribed) WebSocket.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct IdleMemory {
    pub connections: usize,
    pub rss_before: u64,
    pub rss_after: u64,
    pub bytes_per_connection: f64,
}

pub async fn idle_memory(target: &Target, connections: usize) -> Result<IdleMemory> {
    let rss_before = target.rss_bytes()?;
    let sockets = open_listeners(target, &target.room, connections, 0).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_after = target.rss_bytes()?;
    drop(sockets);
    Ok(IdleMemory {
        connections,
        rss_before,
        rss_after,
        bytes_per_connection: rss_after.saturating_sub(rss_before) as f64 / connections as f64,
    })
}

/// Durable writes: acked-after-commit messages per second over many rooms.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Writes {
    pub rooms: usize,
    pub writers: usize,
    pub rate: f64,
    pub acked: u64,
    pub acked_per_sec: f64,
    pub ack_latency: Latency,
}

pub async fn durable_writes(target: &Target, rooms: usize, plan: Plan) -> Result<Writes> {
    let mut ids = Vec::with_capacity(rooms);
    for index in 0..rooms {
        ids.push(target.room(&format!("bench-{index}")).await?);
    }
    let epoch = Instant::now();
    let sent = send(target, &ids, plan, epoch, Duration::from_millis(100)).await?;
    if sent.acked < sent.sent {
        eprintln!(
            "    {} of {} writes were not acknowledged",
            sent.sent - sent.acked,
            sent.sent
        );
    }
    Ok(Writes {
        rooms,
        writers: plan.senders,
        rate: plan.rate,
        acked: sent.acked,
        // Over the sending window, as fan-out counts deliveries: whether the
        // server kept up shows in the ack latency beside it.
        acked_per_sec: sent.acked as f64 / plan.duration.as_secs_f64(),
        ack_latency: sent.ack_latency,
    })
}

/// Fills a fresh room with `messages` messages as fast as acks come back.
pub async fn fill(target: &Target, name: &str, messages: u64) -> Result<String> {
    let room = target.room(name).await?;
    let rate = 20_000.0;
    let plan = Plan {
        rate,
        duration: Duration::from_secs_f64(messages as f64 / rate),
        senders: 16,
    };
    let sent = send(
        target,
        std::slice::from_ref(&room),
        plan,
        Instant::now(),
        Duration::ZERO,
    )
    .await?;
    if sent.acked < messages {
        bail!(
            "filling {name}: only {} of {messages} messages were acknowledged",
            sent.acked
        );
    }
    Ok(room)
}

/// Latency of `GET /api/rooms/{room}/messages?limit=50`, one request at a time.
pub async fn latest_fifty(target: &Target, room: &str, requests: usize) -> Result<Latency> {
    let client = reqwest::Client::new();
    let url = format!("http://{}/api/rooms/{room}/messages?limit=50", target.addr);
    let token = target.token(0).unwrap_or_default().to_owned();
    let mut samples = Vec::with_capacity(requests);
    for _ in 0..requests {
        let began = Instant::now();
        let response = client.get(&url).bearer_auth(&token).send().await?;
        if !response.status().is_success() {
            bail!("GET {url}: {}", response.status());
        }
        let body = response.bytes().await?;
        if body.len() < 100 {
            bail!("GET {url}: suspiciously short answer");
        }
        samples.push(began.elapsed().as_micros() as u64);
    }
    Ok(Latency::from_micros(samples))
}

/// Which HTTP transport a listener uses.
#[derive(Debug, Clone, Copy)]
pub enum Http {
    Sse,
    LongPoll,
}

/// `listeners` SSE or long-poll readers while `plan` is sent.
pub async fn http_listeners(
    target: &Target,
    transport: Http,
    listeners: usize,
    plan: Plan,
) -> Result<Fanout> {
    if target.kind != Kind::Backchannel {
        bail!("only Backchannel has SSE and long-poll");
    }
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(listeners)
        .build()?;
    let epoch = Instant::now();
    let expected = Arc::new(AtomicU64::new(0));
    let (stop, stopped) = watch::channel(false);
    let ready = Arc::new(AtomicU64::new(0));
    let base = format!("http://{}/api/rooms/{}", target.addr, target.room);
    let mut tasks = Vec::with_capacity(listeners);
    for index in 0..listeners {
        let (client, base) = (client.clone(), base.clone());
        let token = target.token(index + 1).unwrap_or_default().to_owned();
        let (expected, stopped) = (Arc::clone(&expected), stopped.clone());
        let listening = Listening {
            epoch,
            expected,
            ready: Arc::clone(&ready),
            stop: stopped,
        };
        tasks.push(tokio::spawn(async move {
            match transport {
                Http::Sse => sse_listener(client, base, token, listening).await,
                Http::LongPoll => poll_listener(client, base, token, listening).await,
            }
        }));
    }
    // Sending starts once every stream is established (an SSE stream starts
    // "from now": one that connects late would miss the first messages).
    let deadline = Instant::now() + Duration::from_secs(60);
    while ready.load(Ordering::Acquire) < listeners as u64 {
        if Instant::now() > deadline {
            bail!(
                "only {} of {listeners} listeners were ready after a minute",
                ready.load(Ordering::Acquire)
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let start = epoch.elapsed() + Duration::from_millis(200);
    let sent = send(
        target,
        std::slice::from_ref(&target.room),
        plan,
        epoch,
        start,
    )
    .await?;
    expected.store(sent.sent, Ordering::Release);
    let stopper = stop_after_grace(stop);
    let mut delivered = 0;
    let mut latencies = Vec::new();
    for task in tasks {
        let heard = task.await.context("listener")??;
        delivered += heard.received;
        latencies.extend(heard.latencies_us);
    }
    stopper.abort();
    Ok(Fanout {
        listeners,
        rate: plan.rate,
        sent: sent.sent,
        delivered,
        lost: (sent.sent * listeners as u64).saturating_sub(delivered),
        deliveries_per_sec: delivered as f64 / plan.duration.as_secs_f64(),
        latency: Latency::from_micros(latencies),
    })
}

/// Tells the listeners to stop once [`GRACE`] has passed after the last send
/// (they stop sooner when everything expected has arrived).
fn stop_after_grace(stop: watch::Sender<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        tokio::time::sleep(GRACE).await;
        let _ = stop.send(true);
    })
}

/// Records one bench body seen at `now`; false if it was a repeat.
fn record(
    heard: &mut Heard,
    seen: &mut std::collections::HashSet<u64>,
    text: &str,
    epoch: Instant,
) {
    if let Some((n, intended)) = client::bench_stamp(text) {
        if seen.insert(n) {
            let now = epoch.elapsed();
            heard.received += 1;
            heard.latencies_us.push(
                now.saturating_sub(Duration::from_nanos(intended))
                    .as_micros() as u64,
            );
            heard.last_at = Some(now);
        }
    }
}

fn done(heard: &Heard, expected: &AtomicU64) -> bool {
    let want = expected.load(Ordering::Acquire);
    want > 0 && heard.received >= want
}

/// What every HTTP listener shares with the scenario.
struct Listening {
    epoch: Instant,
    /// How many messages were sent, once sending is over (0 before).
    expected: Arc<AtomicU64>,
    /// Counts listeners whose stream is established.
    ready: Arc<AtomicU64>,
    stop: watch::Receiver<bool>,
}

async fn sse_listener(
    client: reqwest::Client,
    base: String,
    token: String,
    mut listening: Listening,
) -> Result<Heard> {
    let mut response = client
        .get(format!("{base}/stream"))
        .bearer_auth(&token)
        .send()
        .await?
        .error_for_status()?;
    let mut heard = Heard::default();
    let mut seen = std::collections::HashSet::new();
    let mut buffer = String::new();
    let mut subscribed = false;
    while !done(&heard, &listening.expected) {
        let chunk = tokio::select! {
            chunk = response.chunk() => chunk,
            _ = listening.stop.changed() => break,
        };
        let Ok(Some(chunk)) = chunk else { break };
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            if !subscribed && event.contains("event: subscribed") {
                subscribed = true;
                listening.ready.fetch_add(1, Ordering::AcqRel);
            }
            record(&mut heard, &mut seen, &event, listening.epoch);
        }
    }
    Ok(heard)
}

async fn poll_listener(
    client: reqwest::Client,
    base: String,
    token: String,
    mut listening: Listening,
) -> Result<Heard> {
    let mut heard = Heard::default();
    let mut seen = std::collections::HashSet::new();
    let info: serde_json::Value = client
        .get(&base)
        .bearer_auth(&token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    // Polls resume from this cursor, so nothing sent from now on is missed.
    listening.ready.fetch_add(1, Ordering::AcqRel);
    let mut after = info["last_seq"].as_u64().unwrap_or(0);
    while !done(&heard, &listening.expected) {
        let request = client
            .get(format!("{base}/events?after={after}&wait=10"))
            .bearer_auth(&token)
            .send();
        let response = tokio::select! {
            response = request => response?,
            _ = listening.stop.changed() => break,
        };
        let answer: serde_json::Value = response.error_for_status()?.json().await?;
        after = answer["last_seq"].as_u64().unwrap_or(after);
        if let Some(events) = answer["events"].as_array() {
            for event in events {
                record(&mut heard, &mut seen, &event.to_string(), listening.epoch);
            }
        }
    }
    Ok(heard)
}
