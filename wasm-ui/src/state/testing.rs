//! Helpers for the state tests: a model connected as Alice in room `r1`,
//! messages, frames, and picking effects out of an answer.

use super::{update, Config, Effect, Model, Msg};
use chrono::{TimeZone, Utc};
use protocol::{ClientFrame, Event, Message, MessageId, RoomId, ServerFrame, UserId};

pub(super) fn config(last_seq: u64) -> Config {
    Config {
        room: RoomId::new("r1"),
        me: UserId::new("alice"),
        my_name: "Alice".into(),
        last_seq,
        can_post: true,
        commands: vec!["me".into(), "topic".into(), "help".into()],
    }
}

pub(super) fn message(seq: u64, author: &str) -> Message {
    Message {
        id: MessageId::new(format!("m{seq}")),
        room: RoomId::new("r1"),
        seq,
        author: UserId::new(author),
        author_name: author.into(),
        body: format!("message {seq}"),
        html: String::new(),
        created_at: Utc.with_ymd_and_hms(2026, 11, 22, 8, 15, 0).unwrap(),
        edited_at: None,
        deleted_at: None,
        reply_to: None,
        client_msg_id: None,
        mentions: vec![],
        attachments: vec![],
    }
}

pub(super) fn event(message: Message) -> Msg {
    Msg::Frame(ServerFrame::Event {
        room: RoomId::new("r1"),
        event: Event::Message { message },
    })
}

pub(super) fn ev(event: Event) -> Msg {
    Msg::Frame(ServerFrame::Event {
        room: RoomId::new("r1"),
        event,
    })
}

pub(super) fn subscribed() -> Msg {
    Msg::Frame(ServerFrame::Subscribed {
        room: RoomId::new("r1"),
        last_seq: 0,
    })
}

/// A model that went through start, open and subscribe.
pub(super) fn connected(last_seq: u64) -> Model {
    let mut m = Model::new(config(last_seq), []);
    update(&mut m, Msg::Start);
    update(&mut m, Msg::SocketOpened);
    update(&mut m, subscribed());
    m
}

pub(super) fn rendered(fx: &[Effect]) -> Vec<u64> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::RenderMessage(m) => Some(m.seq),
            _ => None,
        })
        .collect()
}

pub(super) fn sent(fx: &[Effect]) -> Vec<ClientFrame> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Send(f) => Some(f.clone()),
            _ => None,
        })
        .collect()
}

pub(super) fn sent_ids(fx: &[Effect]) -> Vec<String> {
    sent(fx)
        .into_iter()
        .filter_map(|f| match f {
            ClientFrame::Send { client_msg_id, .. } => Some(client_msg_id),
            _ => None,
        })
        .collect()
}

pub(super) fn posted(fx: &[Effect]) -> Vec<ClientFrame> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Post(f) => Some(f.clone()),
            _ => None,
        })
        .collect()
}

pub(super) fn submit(m: &mut Model, body: &str, id: &str) -> Vec<Effect> {
    update(
        m,
        Msg::Submit {
            body: body.into(),
            client_msg_id: id.into(),
        },
    )
}

pub(super) fn edited(mut msg: Message, body: &str) -> Message {
    msg.body = body.into();
    msg.edited_at = Some(msg.created_at);
    msg
}
