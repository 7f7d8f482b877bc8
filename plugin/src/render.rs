//! Message bodies as HTML, filled in as messages leave the server.
//!
//! Every message a client receives carries `html`: its body rendered by
//! [`transcript::render_html`], the renderer the no-JavaScript page and
//! transcript pages use, so live messages look exactly like them. Rendering
//! here rather than in the browser keeps pulldown-cmark (and its entity
//! table) out of the wasm bundle.
//!
//! The store keeps only the markdown. `html` is added at the few places
//! messages go out: [`crate::chat`] (each message it posts, edits or
//! deletes, once, before it goes on the bus and into the HTTP answer; the
//! NATS bus carries it to other nodes with the html), [`crate::feed`]
//! (messages replayed from the store to WebSocket, SSE and long-poll
//! readers) and the JSON answers in [`crate::api`] that read the store.

use protocol::Message;
use transcript::RenderOptions;

/// `message` with `html` set from its body; empty for a deleted message
/// (a tombstone has no body to show).
pub fn rendered(mut message: Message) -> Message {
    message.html = html(&message);
    message
}

/// [`rendered`] for each message.
pub fn all(messages: Vec<Message>) -> Vec<Message> {
    messages.into_iter().map(rendered).collect()
}

/// The body's HTML. The options are the defaults `popup::message_item`
/// renders the server's page with, so a message looks the same whether it
/// came with the page or arrived live.
fn html(message: &Message) -> String {
    if message.deleted_at.is_some() || message.body.is_empty() {
        return String::new();
    }
    // An action line's HTML is its text; the "* name" goes before it.
    let text = message.action().unwrap_or(&message.body);
    transcript::render_html(text, &RenderOptions::default())
}

/// A plain message for tests: `body` by alice in `room` at `seq`, sent at
/// 2026-11-22 08:15 UTC, not yet rendered.
#[cfg(test)]
pub(crate) fn sample(room: &protocol::RoomId, seq: u64, body: &str) -> Message {
    use chrono::TimeZone;
    Message {
        id: protocol::MessageId::new(format!("m{seq}")),
        room: room.clone(),
        seq,
        author: protocol::UserId::new("alice"),
        author_name: "Alice".into(),
        body: body.into(),
        html: String::new(),
        created_at: chrono::Utc
            .with_ymd_and_hms(2026, 11, 22, 8, 15, 0)
            .unwrap(),
        edited_at: None,
        deleted_at: None,
        reply_to: None,
        client_msg_id: None,
        mentions: vec![],
        attachments: vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::RoomId;

    fn message(body: &str) -> Message {
        sample(&RoomId::new("r1"), 1, body)
    }

    #[test]
    fn bodies_go_out_rendered_by_the_shared_renderer() {
        let sent = rendered(message("**hi** <script>x</script> [[Home]]"));
        assert_eq!(
            sent.html,
            transcript::render_html(&sent.body, &RenderOptions::default())
        );
        assert!(sent.html.contains("<strong>hi</strong>"), "{}", sent.html);
        assert!(!sent.html.contains("<script>"), "{}", sent.html);
        let json = serde_json::to_value(&sent).unwrap();
        assert_eq!(json["html"], sent.html.as_str());
    }

    #[test]
    fn edits_carry_the_new_html_and_tombstones_none() {
        let edited = rendered(message("now *this*"));
        assert!(edited.html.contains("<em>this</em>"), "{}", edited.html);

        let mut gone = message("");
        gone.deleted_at = Some(gone.created_at);
        gone.html = "<p>stale</p>".into();
        let gone = rendered(gone);
        assert_eq!(gone.html, "");
        let json = serde_json::to_value(&gone).unwrap();
        assert!(json.get("html").is_none(), "{json}");
    }
}
