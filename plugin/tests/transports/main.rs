//! The plugin's core (api, ws, sse, poll, feed) against `plugin::testing`'s
//! in-memory host: the real store, bus, feed and transports, reached only
//! through HTTP, WebSocket and SSE as a client would.
//!
//! One test binary with a module per transport, so the crate links once.
//! Every wait is bounded, so a hang fails fast instead of blocking.
#![allow(clippy::unwrap_used)]

mod api;
mod feed;
mod poll;
mod revocation;
mod sse;
mod ws;

use backchannel_tests::api::{Api, Socket};
use plugin::testing::{TestApp, TestServer};
use plugin::Access;
use protocol::{Message, PageId, RoomId, ServerFrame};
use std::time::Duration;

/// Long enough for anything that should happen; a test waiting this long
/// has failed.
const SOON: Duration = Duration::from_secs(5);
/// How long to listen for something that must not arrive.
const QUIET: Duration = Duration::from_millis(500);

/// One page, `Team`, with a room `Lobby`: alice and bob may post, rita may
/// only read, mallory is signed in but may not see the page.
struct Team {
    app: TestApp,
    page: PageId,
    room: RoomId,
}

async fn team() -> Team {
    let app = TestApp::new().unwrap();
    let page = app.host.add_page("Team");
    app.host.grant("alice", &page, Access::Write);
    app.host.grant("bob", &page, Access::Write);
    app.host.grant("rita", &page, Access::Read);
    app.host.add_user("mallory");
    let room = app.room(&page, "Lobby").await.unwrap();
    Team { app, page, room }
}

impl Team {
    /// The app on a loopback socket.
    async fn serve(&self) -> TestServer {
        self.app.serve().await.unwrap()
    }

    fn room(&self) -> &str {
        self.room.as_str()
    }
}

/// `user` talking to `server` with their bearer token.
fn client(server: &TestServer, user: &str) -> Api {
    Api::with_token(&server.base_url(), user).unwrap()
}

/// Posts `count` messages as `api`, bodies `{tag} 0`, `{tag} 1`, ...
async fn post_many(api: &Api, room: &str, count: usize, tag: &str) -> Vec<Message> {
    api.say_many(room, count, tag).await.unwrap()
}

/// A WebSocket of `user`'s following `room` from now on, past its
/// `subscribed` frame.
async fn follow(server: &TestServer, user: &str, room: &str) -> Socket {
    let mut socket = client(server, user).websocket().await.unwrap();
    socket.subscribe(room, None).await.unwrap();
    let subscribed = socket.next(SOON).await.unwrap();
    assert!(
        matches!(subscribed, Some(ServerFrame::Subscribed { .. })),
        "{user} expected `subscribed`, got {subscribed:?}"
    );
    socket
}

fn seqs(messages: &[Message]) -> Vec<u64> {
    messages.iter().map(|m| m.seq).collect()
}
