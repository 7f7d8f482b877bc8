//! The popup's HTTP requests to the JSON API: history pages, read state,
//! threads, edits and deletes, and the requests that stand in for frames on
//! transports without an upstream (sends, presence, typing, read marks).
//! Each answer goes back to [`state`](crate::state) as a [`Msg`].

use super::{spawn_request, warn, Inner};
use crate::dom::DomError;
use crate::http::{self, Answer};
use crate::state::{self, Msg};
use protocol::{ClientFrame, ErrorCode, Event, History, Message, ServerFrame, Thread, Unread};
use std::rc::Rc;

impl Inner {
    /// `GET /read`, answered with [`Msg::ReadState`].
    pub(super) fn fetch_read(self: &Rc<Self>) {
        let room = self.model.borrow().room.clone();
        spawn_request(
            self,
            "GET",
            http::room_api(&room, "/read"),
            None,
            |inner, a| {
                let unread = match a {
                    Ok(a) if a.ok() => serde_json::from_str::<Unread>(&a.text).ok(),
                    _ => None,
                };
                // Without the server's mark, no divider, but reading still marks.
                inner.dispatch(Msg::ReadState(unread.unwrap_or(Unread::new(0, 0))));
            },
        );
    }

    /// `GET /rooms/{id}/people`: the members panel as the server renders it
    /// for this reader, swapped in for the one on screen. A failure leaves
    /// the old panel (the next change or a reload brings it up to date).
    pub(super) fn refresh_people(self: &Rc<Self>) {
        let room = self.model.borrow().room.clone();
        spawn_request(
            self,
            "GET",
            format!("/rooms/{room}/people"),
            None,
            |inner, a| match a {
                Ok(a) if a.ok() => {
                    if let Err(err) = inner.view.replace_people(&a.text) {
                        super::warn(&err);
                    }
                }
                _ => {}
            },
        );
    }

    /// `GET /messages`, answered with [`Msg::History`] or [`Msg::HistoryFailed`].
    pub(super) fn fetch_history(self: &Rc<Self>, before: Option<u64>, older: bool) {
        let room = self.model.borrow().room.clone();
        let query = match before {
            Some(b) => format!("/messages?before={b}&limit={}", state::HISTORY_PAGE),
            None => format!("/messages?limit={}", state::HISTORY_PAGE),
        };
        spawn_request(
            self,
            "GET",
            http::room_api(&room, &query),
            None,
            move |inner, a| {
                let history = match a {
                    Ok(a) if a.ok() => serde_json::from_str::<History>(&a.text).ok(),
                    _ => None,
                };
                inner.dispatch(match history {
                    Some(h) => Msg::History {
                        messages: h.messages,
                        older,
                    },
                    None => Msg::HistoryFailed { older },
                });
            },
        );
    }

    /// `PATCH /messages/{seq}`.
    pub(super) fn patch_message(self: &Rc<Self>, seq: u64, body: String) {
        let room = self.model.borrow().room.clone();
        let json = serde_json::json!({ "body": body }).to_string();
        let url = http::room_api(&room, &format!("/messages/{seq}"));
        spawn_request(self, "PATCH", url, Some(json), |inner, a| {
            inner.changed(a, "Not edited", |message| Event::Edited { message });
        });
    }

    /// `DELETE /messages/{seq}`.
    pub(super) fn delete_message(self: &Rc<Self>, seq: u64) {
        let room = self.model.borrow().room.clone();
        let url = http::room_api(&room, &format!("/messages/{seq}"));
        spawn_request(self, "DELETE", url, None, |inner, a| {
            inner.changed(a, "Not deleted", |message| Event::Deleted { message });
        });
    }

    /// Fetches the thread of message `seq` for [`Msg::ThreadLoaded`].
    pub(super) fn fetch_thread(self: &Rc<Self>, seq: u64) {
        let room = self.model.borrow().room.clone();
        let url = http::room_api(&room, &format!("/messages/{seq}/thread"));
        spawn_request(self, "GET", url, None, |inner, answer| match answer {
            Ok(a) if a.ok() => match serde_json::from_str::<Thread>(&a.text) {
                Ok(thread) => inner.dispatch(Msg::ThreadLoaded(thread)),
                Err(err) => warn(&DomError::Js(err.to_string())),
            },
            Ok(a) => inner.dispatch(Msg::Failed(format!("No thread: {}", a.error().1))),
            Err(err) => warn(&err),
        });
    }

    /// The answer to an edit or delete: the changed message, applied at once
    /// (the stream's event for it changes nothing further).
    pub(super) fn changed(
        self: &Rc<Self>,
        answer: Result<Answer, DomError>,
        what: &str,
        event: fn(Message) -> Event,
    ) {
        match answer {
            Ok(a) if a.ok() => {
                if let Ok(message) = serde_json::from_str::<Message>(&a.text) {
                    let room = message.room.clone();
                    self.dispatch(Msg::Frame(ServerFrame::Event {
                        room,
                        event: event(message),
                    }));
                }
            }
            Ok(a) => self.dispatch(Msg::Failed(format!("{what}: {}", a.error().1))),
            Err(_) => self.dispatch(Msg::Failed(format!("{what}: the server is unreachable."))),
        }
    }

    /// Runs a command line on the server; its answer (or why not) goes
    /// above the input, a refused line back into it.
    pub(super) fn run_command(self: &Rc<Self>, text: String) {
        let room = self.model.borrow().room.clone();
        let json = serde_json::json!({ "text": text }).to_string();
        spawn_request(
            self,
            "POST",
            http::room_api(&room, "/commands"),
            Some(json),
            move |inner, answer| {
                let msg = match answer {
                    Ok(a) if a.ok() => {
                        let said = serde_json::from_str::<serde_json::Value>(&a.text)
                            .ok()
                            .and_then(|v| v["said"].as_str().map(str::to_owned));
                        Msg::Said(said.unwrap_or_default())
                    }
                    Ok(a) => Msg::CommandFailed {
                        text,
                        message: a.error().1,
                    },
                    Err(_) => Msg::CommandFailed {
                        text,
                        message: "The server is unreachable; try again.".into(),
                    },
                };
                inner.dispatch(msg);
            },
        );
    }

    /// A frame's request over HTTP, for transports without an upstream.
    pub(super) fn post(self: &Rc<Self>, frame: ClientFrame) {
        let room = self.model.borrow().room.clone();
        match frame {
            ClientFrame::Send {
                body,
                client_msg_id,
                reply_to,
                ..
            } => {
                let mut json = serde_json::json!({ "body": body, "client_msg_id": client_msg_id });
                if let Some(parent) = reply_to {
                    json["reply_to"] = parent.into();
                }
                let url = http::room_api(&room, "/messages");
                spawn_request(
                    self,
                    "POST",
                    url,
                    Some(json.to_string()),
                    move |inner, a| {
                        let msg = match a {
                            Ok(a) if a.ok() => match serde_json::from_str::<Message>(&a.text) {
                                Ok(message) => Msg::Posted {
                                    client_msg_id,
                                    message,
                                },
                                Err(_) => Msg::PostFailed { client_msg_id },
                            },
                            Ok(a) => {
                                let (code, message) = a.error();
                                Msg::Frame(ServerFrame::Error {
                                    code,
                                    message,
                                    client_msg_id: Some(client_msg_id),
                                })
                            }
                            Err(_) => Msg::PostFailed { client_msg_id },
                        };
                        inner.dispatch(msg);
                    },
                );
            }
            ClientFrame::Presence { status, .. } => {
                let json = serde_json::json!({ "status": status }).to_string();
                spawn_request(
                    self,
                    "POST",
                    http::room_api(&room, "/presence"),
                    Some(json),
                    ignore,
                );
            }
            ClientFrame::Typing { .. } => {
                spawn_request(self, "POST", http::room_api(&room, "/typing"), None, ignore);
            }
            ClientFrame::Read { seq, .. } => {
                let json = serde_json::json!({ "seq": seq }).to_string();
                spawn_request(
                    self,
                    "POST",
                    http::room_api(&room, "/read"),
                    Some(json),
                    ignore,
                );
            }
            ClientFrame::Subscribe { .. }
            | ClientFrame::Unsubscribe { .. }
            | ClientFrame::Notifications
            | ClientFrame::Ping => {}
        }
    }
}

/// For fire-and-forget requests (heartbeats, typing, read marks): the next
/// one repairs a lost one; a 401/403 is logged.
fn ignore(_inner: &Rc<Inner>, answer: Result<Answer, DomError>) {
    if let Ok(a) = answer {
        if !a.ok() && a.error().0 != ErrorCode::RateLimited {
            warn(&DomError::Js(a.error().1));
        }
    }
}
