//! The load generator's clients: WebSocket connections from many loopback
//! source addresses, the frames they send, and listeners that time every
//! delivery.
//!
//! A bench message body is `bench <n> <nanos>`: its number and its intended
//! send time in nanoseconds since the run's epoch. Latency is measured from
//! that *intended* time, not from when the sender got round to sending, so a
//! stalled server cannot hide its stall (no coordinated omission).

use anyhow::{bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use protocol::{ClientFrame, RoomId};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::WebSocketStream;

pub type Ws = WebSocketStream<TcpStream>;

/// Connections per loopback source address before moving to the next one.
/// Each address has ~28,000 ephemeral ports, and closed connections keep
/// theirs in TIME_WAIT for a minute, so scenarios that open tens of thousands
/// of connections one after another must not reuse the same addresses.
const PER_SOURCE: usize = 4_000;

/// Connections opened so far in this run.
static OPENED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A loopback source address for the next connection: 127.0.0.2 for the
/// first 4,000, then 127.0.0.3, ... cycling over 250 addresses (a million
/// connections) so a run never runs out of ports. The index is unused; it
/// is kept for call sites that number their clients.
pub fn source_for(_index: usize) -> Ipv4Addr {
    let n = OPENED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let host = 2 + (n / PER_SOURCE) % 250;
    Ipv4Addr::new(127, 0, 0, u8::try_from(host).unwrap_or(2))
}

/// Opens a WebSocket to `url` (ws://host:port/path) from `source`, with a
/// bearer token if given.
pub async fn connect(
    url: &str,
    server: SocketAddr,
    token: Option<&str>,
    source: Ipv4Addr,
) -> Result<Ws> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source.into(), 0))?;
    let stream = socket
        .connect(server)
        .await
        .with_context(|| format!("connecting to {server} from {source}"))?;
    stream.set_nodelay(true)?;
    let mut request = url.into_client_request()?;
    if let Some(token) = token {
        request.headers_mut().insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {token}"))?,
        );
    }
    let (ws, _) = tokio_tungstenite::client_async_with_config(request, stream, Some(buffers()))
        .await
        .with_context(|| format!("WebSocket handshake with {url}"))?;
    Ok(ws)
}

/// Socket buffers for the load generator's clients and the baseline, the
/// size Backchannel uses. tungstenite zero-fills its whole read buffer
/// before every read, so its default 128 KiB made memset half of the load
/// generator's time: the generator, not the server, set the ceiling.
pub fn buffers() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(4 * 1024)
}

pub fn subscribe_frame(room: &str) -> String {
    frame(&ClientFrame::Subscribe {
        room: RoomId::new(room),
        after: None,
    })
}

/// A `send` frame for bench message `n` of run `run`. The client_msg_id
/// must be unique across runs: the server rightly treats a repeated one from
/// the same user as a retry and stores nothing new.
pub fn send_frame(room: &str, run: u64, n: u64, intended_nanos: u64) -> String {
    frame(&ClientFrame::Send {
        room: RoomId::new(room),
        body: format!("bench {n} {intended_nanos}"),
        client_msg_id: format!("r{run}b{n}"),
        reply_to: None,
    })
}

fn frame(frame: &ClientFrame) -> String {
    serde_json::to_string(frame).unwrap_or_default()
}

/// Finds a bench body (`bench <n> <nanos>`) in a frame without parsing the
/// whole JSON: listeners must keep up with hundreds of thousands of frames
/// a second on one core.
pub fn bench_stamp(text: &str) -> Option<(u64, u64)> {
    const MARK: &str = "\"body\":\"bench ";
    let start = text.find(MARK)? + MARK.len();
    let rest = &text[start..];
    let end = rest.find('"')?;
    let (n, nanos) = rest[..end].split_once(' ')?;
    Some((n.parse().ok()?, nanos.parse().ok()?))
}

/// Subscribes `ws` to `room` and waits for the `subscribed` answer.
pub async fn subscribe(ws: &mut Ws, room: &str) -> Result<()> {
    ws.send(WsMessage::text(subscribe_frame(room))).await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let next = tokio::time::timeout(Duration::from_secs(30), ws.next()).await;
        match next {
            Ok(Some(Ok(WsMessage::Text(text)))) => {
                if text.as_str().contains("\"type\":\"subscribed\"") {
                    return Ok(());
                }
                if text.as_str().contains("\"type\":\"error\"") {
                    bail!("subscribe refused: {}", text.as_str());
                }
            }
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(e))) => return Err(e.into()),
            Ok(None) | Err(_) => break,
        }
    }
    bail!("no `subscribed` answer within 30 s")
}

/// The bench message numbers a listener has had, one bit each:
/// at-least-once delivery may repeat one.
#[derive(Default)]
pub struct Seen(Vec<u64>);

impl Seen {
    /// Whether `n` is new (and marks it seen).
    pub fn first_time(&mut self, n: u64) -> bool {
        let (word, bit) = ((n / 64) as usize, 1u64 << (n % 64));
        if self.0.len() <= word {
            self.0.resize(word + 1, 0);
        }
        let new = self.0[word] & bit == 0;
        self.0[word] |= bit;
        new
    }
}

/// What one listener saw.
#[derive(Debug, Default)]
pub struct Heard {
    /// Distinct bench messages received.
    pub received: u64,
    /// Latency of each, intended send time to receipt, in microseconds.
    pub latencies_us: Vec<u64>,
    /// When the last one arrived, relative to the epoch.
    pub last_at: Option<Duration>,
}

/// Reads bench messages until `stop` turns true, or `expected` messages
/// (when known, non-zero) have all arrived.
pub async fn listen(
    mut ws: Ws,
    epoch: Instant,
    expected: Arc<AtomicU64>,
    mut stop: watch::Receiver<bool>,
) -> Heard {
    let mut heard = Heard::default();
    let mut seen = Seen::default();
    loop {
        let want = expected.load(Ordering::Acquire);
        if want > 0 && heard.received >= want {
            break;
        }
        let frame = tokio::select! {
            frame = ws.next() => frame,
            _ = stop.changed() => break,
        };
        let text = match frame {
            Some(Ok(WsMessage::Text(text))) => text,
            Some(Ok(_)) => continue,
            _ => break,
        };
        let Some((n, intended)) = bench_stamp(text.as_str()) else {
            continue;
        };
        if !seen.first_time(n) {
            continue;
        }
        let now = epoch.elapsed();
        let latency = now.saturating_sub(Duration::from_nanos(intended));
        heard.received += 1;
        heard.latencies_us.push(latency.as_micros() as u64);
        heard.last_at = Some(now);
    }
    let _ = ws.close(None).await;
    heard
}
