//! File uploads. The DOM layer holds the files themselves (a `Blob`
//! cannot live here); this part decides what happens to them: size checks before any byte is sent,
//! one upload at a time in the order chosen, progress, and what to tell the
//! reader when the server says no. The message that shares a file comes back
//! in the upload's answer *and* over the live stream; it is shown once (by id),
//! like any message.

use super::{Effect, Model};
use protocol::Message;

/// What can happen to an upload.
#[derive(Debug, Clone, PartialEq)]
pub enum UploadMsg {
    /// The reader chose, dropped or pasted a file; the DOM layer holds it as `id`.
    Chosen { id: u32, name: String, size: u64 },
    /// `sent` bytes of upload `id` went out (the request body, so it can run
    /// a little past the file's size).
    Progress { id: u32, sent: u64 },
    /// The server stored the file and shared it as `message`.
    Done { id: u32, message: Box<Message> },
    /// The server refused, or there was no answer.
    Failed { id: u32, failure: UploadFailure },
    /// The reader cancelled upload `id`.
    Cancel(u32),
}

/// Why an upload did not go through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadFailure {
    /// The HTTP status; 0 when no answer came (network down, aborted).
    pub status: u16,
    /// The server's message, if it sent one in the API's error shape.
    pub message: Option<String>,
    /// `Retry-After` in seconds, on a 429.
    pub retry_after: Option<u32>,
}

/// An upload as the progress list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub id: u32,
    pub name: String,
    pub size: u64,
    /// Bytes sent so far.
    pub sent: u64,
    /// On its way (the others wait their turn).
    pub started: bool,
}

impl Upload {
    /// Whole percent sent, 0..=100.
    pub fn percent(&self) -> u8 {
        if self.size == 0 {
            return if self.started { 100 } else { 0 };
        }
        let pct = self.sent.min(self.size).saturating_mul(100) / self.size;
        u8::try_from(pct).unwrap_or(100)
    }
}

/// `bytes` as the server words its limit: "25 MiB", "512 KiB".
pub fn limit_text(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB && bytes % MIB == 0 {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= MIB {
        // Limits are far below 2^52: the conversion is exact enough for one decimal.
        format!("{:.1} MiB", bytes as f64 / MIB as f64)
    } else {
        format!("{} KiB", bytes.div_ceil(1024))
    }
}

/// A name for a pasted image (browsers call every one `image.png`):
/// `pasted-YYYY-MM-DD-HHMMSS.ext` in UTC, from its MIME type.
pub fn pasted_name(mime: &str, now_ms: f64) -> String {
    let ext = match mime {
        "image/jpeg" => "jpg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "image/png" => "png",
        other => other
            .strip_prefix("image/")
            .filter(|e| !e.is_empty() && e.chars().all(|c| c.is_ascii_alphanumeric()))
            .unwrap_or("bin"),
    };
    // Milliseconds since the epoch fit an i64 for any realistic clock.
    // By hand, like `day_label`: `format("%Y-...")` would bring chrono's
    // strftime machinery into the bundle for this one name.
    let stamp = chrono::DateTime::from_timestamp_millis(now_ms as i64)
        .map(|t| {
            use chrono::{Datelike, Timelike};
            format!(
                "{:04}-{:02}-{:02}-{:02}{:02}{:02}",
                t.year(),
                t.month(),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            )
        })
        .unwrap_or_else(|| "now".to_owned());
    format!("pasted-{stamp}.{ext}")
}

/// What to tell the reader when `name` was not uploaded.
pub fn upload_failure_text(name: &str, failure: &UploadFailure) -> String {
    let reason = match failure.status {
        0 => "the server is unreachable; check the connection and try again.".to_owned(),
        413 => match &failure.message {
            Some(m) if !m.is_empty() => format!("it is too large ({m})."),
            _ => "it is too large for this server.".to_owned(),
        },
        429 => match failure.retry_after {
            Some(s) => format!("too many uploads; try again in {s} s."),
            None => "too many uploads; wait a little and try again.".to_owned(),
        },
        401 => "you are signed out; sign in again and retry.".to_owned(),
        403 => "you may not share files in this room.".to_owned(),
        _ => match &failure.message {
            Some(m) if !m.is_empty() => format!("{m}."),
            _ => format!("the server answered {}.", failure.status),
        },
    };
    format!("“{name}” was not uploaded: {reason}")
}

impl Model {
    /// The uploads queued or in flight, in order.
    pub fn uploads(&self) -> &[Upload] {
        &self.uploads
    }

    pub(super) fn on_upload(&mut self, msg: UploadMsg, fx: &mut Vec<Effect>) {
        match msg {
            UploadMsg::Chosen { id, name, size } => {
                if !self.can_post {
                    fx.push(Effect::DropUpload { id });
                    fx.push(Effect::Notice(
                        "Sharing files needs edit rights on the page.".to_owned(),
                    ));
                    return;
                }
                if size == 0 {
                    fx.push(Effect::DropUpload { id });
                    fx.push(Effect::Notice(format!(
                        "“{name}” is empty; nothing to upload."
                    )));
                    return;
                }
                if self.max_upload_bytes > 0 && size > self.max_upload_bytes {
                    // Said before a byte goes out: the server would answer 413.
                    fx.push(Effect::DropUpload { id });
                    fx.push(Effect::Notice(format!(
                        "“{name}” is too large to upload: files may be at most {}.",
                        limit_text(self.max_upload_bytes)
                    )));
                    return;
                }
                self.uploads.push(Upload {
                    id,
                    name,
                    size,
                    sent: 0,
                    started: false,
                });
                self.next_upload(fx);
                fx.push(Effect::ShowUploads(self.uploads.clone()));
            }
            UploadMsg::Progress { id, sent } => {
                if let Some(u) = self.uploads.iter_mut().find(|u| u.id == id) {
                    let before = u.percent();
                    u.sent = u.sent.max(sent);
                    // Progress events come often; repaint only when the number moves.
                    if u.percent() != before {
                        fx.push(Effect::ShowUploads(self.uploads.clone()));
                    }
                }
            }
            UploadMsg::Done { id, message } => {
                let Some(upload) = self.finish_upload(id, fx) else {
                    return;
                };
                fx.push(Effect::Announce(format!("Uploaded {}.", upload.name)));
                // Shown now, not when the stream brings it (the stream's copy
                // is then a duplicate and dropped by id).
                self.on_message(*message, true, fx);
            }
            UploadMsg::Failed { id, failure } => {
                let Some(upload) = self.finish_upload(id, fx) else {
                    return;
                };
                fx.push(Effect::Notice(upload_failure_text(&upload.name, &failure)));
            }
            UploadMsg::Cancel(id) => {
                if let Some(upload) = self.finish_upload(id, fx) {
                    fx.push(Effect::Announce(format!(
                        "Upload of {} cancelled.",
                        upload.name
                    )));
                }
            }
        }
    }

    /// Takes upload `id` off the list, tells the DOM to let its file go,
    /// and starts the next one.
    pub(super) fn finish_upload(&mut self, id: u32, fx: &mut Vec<Effect>) -> Option<Upload> {
        let at = self.uploads.iter().position(|u| u.id == id)?;
        let upload = self.uploads.remove(at);
        fx.push(Effect::DropUpload { id });
        self.next_upload(fx);
        fx.push(Effect::ShowUploads(self.uploads.clone()));
        Some(upload)
    }

    /// Starts the first upload if none is on its way: one at a time, so the
    /// files arrive (and are shared) in the order chosen.
    pub(super) fn next_upload(&mut self, fx: &mut Vec<Effect>) {
        if self.uploads.iter().any(|u| u.started) {
            return;
        }
        if let Some(u) = self.uploads.first_mut() {
            u.started = true;
            fx.push(Effect::StartUpload { id: u.id });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::testing::{config, message};
    use crate::state::*;
    use chrono::{TimeZone, Utc};
    use protocol::{Event, RoomId, ServerFrame};

    fn model() -> Model {
        let mut m = Model::new(config(0), []);
        m.max_upload_bytes = 25 * 1024 * 1024;
        m
    }

    fn chosen(id: u32, size: u64) -> Msg {
        Msg::Upload(UploadMsg::Chosen {
            id,
            name: format!("f{id}.txt"),
            size,
        })
    }

    fn shared(seq: u64) -> Message {
        Message {
            body: "shared a file: f1.txt".into(),
            ..message(seq, "alice")
        }
    }

    fn started(fx: &[Effect]) -> Vec<u32> {
        fx.iter()
            .filter_map(|e| match e {
                Effect::StartUpload { id } => Some(*id),
                _ => None,
            })
            .collect()
    }

    fn notice(fx: &[Effect]) -> Option<&str> {
        fx.iter().find_map(|e| match e {
            Effect::Notice(t) => Some(t.as_str()),
            _ => None,
        })
    }

    #[test]
    fn uploads_go_one_at_a_time_in_the_order_chosen() {
        let mut m = model();
        assert_eq!(started(&update(&mut m, chosen(1, 10))), vec![1]);
        assert!(started(&update(&mut m, chosen(2, 10))).is_empty());
        assert_eq!(m.uploads().len(), 2);
        let fx = update(
            &mut m,
            Msg::Upload(UploadMsg::Done {
                id: 1,
                message: Box::new(shared(1)),
            }),
        );
        assert_eq!(started(&fx), vec![2]);
        assert!(fx.contains(&Effect::DropUpload { id: 1 }));
        assert!(fx
            .iter()
            .any(|e| matches!(e, Effect::RenderMessage(msg) if msg.seq == 1)));
        // The stream's copy of the same message is not shown twice.
        let again = update(
            &mut m,
            Msg::Frame(ServerFrame::Event {
                room: RoomId::new("r1"),
                event: Event::Message { message: shared(1) },
            }),
        );
        assert!(!again.iter().any(|e| matches!(e, Effect::RenderMessage(_))));
    }

    #[test]
    fn a_copy_with_html_redraws_one_shown_without_it_once() {
        let mut m = model();
        update(&mut m, chosen(1, 10));
        // The upload's answer carries no `html`: shown as plain text.
        update(
            &mut m,
            Msg::Upload(UploadMsg::Done {
                id: 1,
                message: Box::new(shared(1)),
            }),
        );
        let rendered = Message {
            html: "<p>shared a file: f1.txt</p>\n".into(),
            ..shared(1)
        };
        let event = |message: Message| {
            Msg::Frame(ServerFrame::Event {
                room: RoomId::new("r1"),
                event: Event::Message { message },
            })
        };
        let fx = update(&mut m, event(rendered.clone()));
        assert_eq!(
            fx.iter()
                .filter(|e| matches!(e, Effect::RenderMessage(msg) if msg.html == rendered.html))
                .count(),
            1,
            "{fx:?}"
        );
        // Nothing new: no news, no second drawing.
        assert!(!fx
            .iter()
            .any(|e| matches!(e, Effect::Beep | Effect::Announce(_))));
        assert!(update(&mut m, event(rendered)).is_empty());
        assert!(update(&mut m, event(shared(1))).is_empty());
    }

    #[test]
    fn progress_repaints_only_when_the_percentage_moves() {
        let mut m = model();
        update(&mut m, chosen(1, 1000));
        let fx = update(
            &mut m,
            Msg::Upload(UploadMsg::Progress { id: 1, sent: 500 }),
        );
        assert_eq!(m.uploads()[0].percent(), 50);
        assert!(matches!(fx.as_slice(), [Effect::ShowUploads(u)] if u[0].percent() == 50));
        assert!(update(
            &mut m,
            Msg::Upload(UploadMsg::Progress { id: 1, sent: 501 })
        )
        .is_empty());
        // The multipart body runs past the file: never above 100 %.
        update(
            &mut m,
            Msg::Upload(UploadMsg::Progress { id: 1, sent: 5000 }),
        );
        assert_eq!(m.uploads()[0].percent(), 100);
    }

    #[test]
    fn too_large_files_are_refused_before_sending() {
        let mut m = model();
        let fx = update(&mut m, chosen(1, 26 * 1024 * 1024));
        assert!(started(&fx).is_empty());
        assert!(fx.contains(&Effect::DropUpload { id: 1 }));
        assert_eq!(
            notice(&fx),
            Some("“f1.txt” is too large to upload: files may be at most 25 MiB.")
        );
        assert!(m.uploads().is_empty());
        // Without a known limit the server decides.
        m.max_upload_bytes = 0;
        assert_eq!(
            started(&update(&mut m, chosen(2, 26 * 1024 * 1024))),
            vec![2]
        );
    }

    #[test]
    fn readers_and_empty_files_upload_nothing() {
        let mut m = model();
        m.can_post = false;
        let fx = update(&mut m, chosen(1, 10));
        assert!(started(&fx).is_empty() && fx.contains(&Effect::DropUpload { id: 1 }));
        m.can_post = true;
        let fx = update(&mut m, chosen(2, 0));
        assert!(started(&fx).is_empty());
        assert!(notice(&fx).is_some_and(|t| t.contains("empty")));
    }

    #[test]
    fn refusals_say_why_and_the_queue_moves_on() {
        let mut m = model();
        update(&mut m, chosen(1, 10));
        update(&mut m, chosen(2, 10));
        let fx = update(
            &mut m,
            Msg::Upload(UploadMsg::Failed {
                id: 1,
                failure: UploadFailure {
                    status: 413,
                    message: Some("files may be at most 25 MiB".into()),
                    retry_after: None,
                },
            }),
        );
        assert_eq!(
            notice(&fx),
            Some("“f1.txt” was not uploaded: it is too large (files may be at most 25 MiB).")
        );
        assert_eq!(started(&fx), vec![2]);
        let fx = update(
            &mut m,
            Msg::Upload(UploadMsg::Failed {
                id: 2,
                failure: UploadFailure {
                    status: 429,
                    message: Some("too many uploads; wait a little".into()),
                    retry_after: Some(12),
                },
            }),
        );
        assert_eq!(
            notice(&fx),
            Some("“f2.txt” was not uploaded: too many uploads; try again in 12 s.")
        );
        assert!(m.uploads().is_empty());
        assert!(fx.contains(&Effect::ShowUploads(Vec::new())));
        let offline = UploadFailure {
            status: 0,
            message: None,
            retry_after: None,
        };
        assert!(upload_failure_text("a", &offline).contains("unreachable"));
    }

    #[test]
    fn cancelling_drops_the_file_and_starts_the_next() {
        let mut m = model();
        update(&mut m, chosen(1, 10));
        update(&mut m, chosen(2, 10));
        let fx = update(&mut m, Msg::Upload(UploadMsg::Cancel(1)));
        assert!(fx.contains(&Effect::DropUpload { id: 1 }));
        assert_eq!(started(&fx), vec![2]);
        assert!(notice(&fx).is_none());
        // A late answer for the cancelled upload changes nothing.
        let late = update(
            &mut m,
            Msg::Upload(UploadMsg::Failed {
                id: 1,
                failure: UploadFailure {
                    status: 0,
                    message: None,
                    retry_after: None,
                },
            }),
        );
        assert!(late.is_empty());
    }

    #[test]
    fn limits_and_pasted_names_read_well() {
        assert_eq!(limit_text(25 * 1024 * 1024), "25 MiB");
        assert_eq!(limit_text(1536 * 1024), "1.5 MiB");
        assert_eq!(limit_text(1000), "1 KiB");
        let at = Utc
            .with_ymd_and_hms(2026, 11, 22, 8, 15, 3)
            .unwrap()
            .timestamp_millis() as f64;
        assert_eq!(pasted_name("image/png", at), "pasted-2026-11-22-081503.png");
        assert_eq!(
            pasted_name("image/jpeg", at),
            "pasted-2026-11-22-081503.jpg"
        );
        assert_eq!(
            pasted_name("image/x/../y", at),
            "pasted-2026-11-22-081503.bin"
        );
    }
}
