//! The bare baseline: a minimal tokio WebSocket broadcaster that speaks the
//! same frames as Backchannel (subscribe, send, event, ack) with no storage,
//! no authentication, no rooms beyond one channel. Backchannel's figures are
//! reported as a percentage of this one's: the ratio is the cost of being a
//! real chat (durable writes, access checks, per-room ordering).
//!
//! It does what any competent broadcaster does: each event is serialised once
//! and shared, each connection has a bounded queue, and what is queued for a
//! connection goes out in one write.

use anyhow::Result;
use chrono::Utc;
use futures_util::{SinkExt, StreamExt};
use protocol::{ClientFrame, Event, Message, MessageId, ServerFrame, UserId};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::{Message as WsMessage, Utf8Bytes};

/// Frames a slow listener may fall behind before it misses some.
const CHANNEL: usize = 1024;

struct Hub {
    events: broadcast::Sender<Utf8Bytes>,
    seq: AtomicU64,
}

/// Serves the baseline on `listen` until the process is killed.
pub async fn serve(listen: SocketAddr) -> Result<()> {
    let listener = TcpListener::bind(listen).await?;
    println!("baseline listening on {}", listener.local_addr()?);
    let hub = Arc::new(Hub {
        events: broadcast::channel(CHANNEL).0,
        seq: AtomicU64::new(0),
    });
    loop {
        let (stream, _) = listener.accept().await?;
        let hub = Arc::clone(&hub);
        tokio::spawn(async move {
            let _ = connection(hub, stream).await;
        });
    }
}

async fn connection(hub: Arc<Hub>, stream: TcpStream) -> Result<()> {
    stream.set_nodelay(true)?;
    let ws =
        tokio_tungstenite::accept_async_with_config(stream, Some(crate::client::buffers())).await?;
    let (mut sink, mut source) = ws.split();
    let (out, mut outgoing) = tokio::sync::mpsc::channel::<Utf8Bytes>(256);
    // Frames already queued go out in one write, as Backchannel does.
    let writer = tokio::spawn(async move {
        while let Some(frame) = outgoing.recv().await {
            if sink.feed(WsMessage::Text(frame)).await.is_err() {
                break;
            }
            let mut failed = false;
            while let Ok(frame) = outgoing.try_recv() {
                if sink.feed(WsMessage::Text(frame)).await.is_err() {
                    failed = true;
                    break;
                }
            }
            if failed || sink.flush().await.is_err() {
                break;
            }
        }
    });
    let mut forwarder: Option<tokio::task::JoinHandle<()>> = None;
    while let Some(Ok(frame)) = source.next().await {
        let WsMessage::Text(text) = frame else {
            continue;
        };
        let Ok(frame) = serde_json::from_str::<ClientFrame>(text.as_str()) else {
            continue;
        };
        match frame {
            ClientFrame::Subscribe { room, .. } => {
                let mut events = hub.events.subscribe();
                let to_client = out.clone();
                forwarder = Some(tokio::spawn(async move {
                    loop {
                        match events.recv().await {
                            Ok(frame) => {
                                if to_client.send(frame).await.is_err() {
                                    break;
                                }
                            }
                            Err(broadcast::error::RecvError::Lagged(_)) => continue,
                            Err(broadcast::error::RecvError::Closed) => break,
                        }
                    }
                }));
                let last_seq = hub.seq.load(Ordering::Acquire);
                out.send(encode(&ServerFrame::Subscribed { room, last_seq }))
                    .await?;
            }
            ClientFrame::Send {
                room,
                body,
                client_msg_id,
                reply_to,
            } => {
                let seq = hub.seq.fetch_add(1, Ordering::AcqRel) + 1;
                let id = MessageId::new(format!("{seq}"));
                let message = Message {
                    id: id.clone(),
                    room: room.clone(),
                    seq,
                    author: UserId::new("bench"),
                    author_name: "bench".into(),
                    body,
                    html: String::new(),
                    created_at: Utc::now(),
                    edited_at: None,
                    deleted_at: None,
                    reply_to,
                    client_msg_id: Some(client_msg_id.clone()),
                    mentions: Vec::new(),
                    attachments: Vec::new(),
                };
                let event = encode(&ServerFrame::Event {
                    room,
                    event: Event::Message { message },
                });
                let _ = hub.events.send(event);
                out.send(encode(&ServerFrame::Ack {
                    client_msg_id,
                    id,
                    seq,
                }))
                .await?;
            }
            ClientFrame::Ping => out.send(encode(&ServerFrame::Pong)).await?,
            _ => {}
        }
    }
    if let Some(forwarder) = forwarder {
        forwarder.abort();
    }
    writer.abort();
    Ok(())
}

fn encode(frame: &ServerFrame) -> Utf8Bytes {
    Utf8Bytes::from(serde_json::to_string(frame).unwrap_or_default())
}
