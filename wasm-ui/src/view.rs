//! The popup's DOM: reads what the server rendered and applies [`Effect`]s to it.
//!
//! New messages use exactly the server's markup, so CSS, the no-JS page and
//! end-to-end tests see one shape:
//!
//! ```html
//! <li class="bc-msg" id="m-SEQ" data-seq="SEQ" data-id="ID" data-author="USER">
//!   <span class="bc-avatar" aria-hidden="true">A</span><span class="bc-author">alice</span>
//!   <time datetime="2026-11-22T08:15:00.000Z" title="2026-11-22 09:15:00 UTC+01:00">09:15</time>
//!   <div class="bc-body">…transcript::render_html…</div></li>
//! ```
//!
//! (`plugin::popup::message_item` is the server's side of this contract.) Times
//! are shown in the reader's time zone: live ones when they arrive, and the
//! server-rendered ones (in the page's zone) are relabelled on start.
//!
//! Names and other plain text go in with `text_content`; only the body goes in
//! as HTML, and only after the shared safe renderer has escaped it.
//!
//! [`Effect`]: crate::state::Effect

use crate::dom::{self, DomError};
use crate::state::{Config, ConnState, Known};
use chrono::SecondsFormat;
use protocol::{Message, MessageId, RoomId, UserId};
use wasm_bindgen::JsValue;
use web_sys::{Document, Element, HtmlElement, HtmlFormElement, HtmlTextAreaElement, Node};

/// How close to the bottom (in CSS pixels) still counts as "reading the newest".
const BOTTOM_SLACK_PX: i32 = 48;

/// Handles on the popup's elements.
pub struct View {
    doc: Document,
    body: HtmlElement,
    /// `#bc-messages`: the `<ol>` of `li.bc-msg`, in seq order.
    list: Element,
    /// The element that scrolls: `#bc-conversation`, or the list without it.
    scroller: Element,
    /// `#bc-conn`, the connection status text.
    conn: Option<Element>,
    /// `#bc-form`: absent for readers who may not post.
    form: Option<HtmlFormElement>,
    /// `#bc-input`, the textarea inside the form.
    input: Option<HtmlTextAreaElement>,
}

impl View {
    /// Finds the popup's elements in `doc`; `#bc-messages` and a body are required.
    pub fn attach(doc: &Document) -> Result<View, DomError> {
        let body = doc
            .body()
            .ok_or_else(|| DomError::Missing("body".to_owned()))?;
        let list: Element = dom::find(doc, "#bc-messages")?;
        let scroller =
            dom::find_optional::<Element>(doc, "#bc-conversation")?.unwrap_or_else(|| list.clone());
        Ok(View {
            doc: doc.clone(),
            body,
            list,
            scroller,
            conn: dom::find_optional(doc, "#bc-conn")?,
            form: dom::find_optional(doc, "#bc-form")?,
            input: dom::find_optional(doc, "#bc-input")?,
        })
    }

    /// The room, user and cursor from `body[data-*]`.
    pub fn config(&self) -> Result<Config, DomError> {
        let body: &Element = self.body.as_ref();
        let room = dom::data(body, "room")
            .filter(|r| !r.is_empty())
            .ok_or_else(|| DomError::Missing("body[data-room]".to_owned()))?;
        let me = dom::data(body, "user").unwrap_or_default();
        Ok(Config {
            room: RoomId::new(room),
            my_name: dom::data(body, "user-name").unwrap_or_else(|| me.clone()),
            me: UserId::new(me),
            last_seq: dom::data(body, "last-seq")
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(0),
            can_post: dom::data(body, "can-post").as_deref() == Some("true")
                && self.form.is_some()
                && self.input.is_some(),
        })
    }

    /// The messages the server rendered into the page.
    pub fn known_messages(&self) -> Vec<Known> {
        dom::query_all(&self.list, "li.bc-msg[data-seq][data-id]")
            .iter()
            .filter_map(|li| {
                Some(Known {
                    seq: dom::data(li, "seq")?.parse().ok()?,
                    id: MessageId::new(dom::data(li, "id")?),
                })
            })
            .collect()
    }

    /// Relabels server-rendered `<time datetime>` (in the page's zone) in the
    /// reader's zone, like the messages that arrive live.
    pub fn localize_times(&self) {
        for time in dom::query_all(&self.list, "time[datetime]") {
            let Some(stamp) = time.get_attribute("datetime") else {
                continue;
            };
            let date = js_sys::Date::new(&JsValue::from_str(&stamp));
            if let Some((label, title)) = local_time(&date) {
                time.set_text_content(Some(&label));
                // Relabelling is cosmetic: the server's label stays if this fails.
                let _ = time.set_attribute("title", &title);
            }
        }
    }

    /// The form, for wiring listeners.
    pub fn form(&self) -> Option<&HtmlFormElement> {
        self.form.as_ref()
    }

    /// The `#bc-input` textarea, if the reader may post.
    pub fn input(&self) -> Option<&HtmlTextAreaElement> {
        self.input.as_ref()
    }

    /// The text in the input.
    pub fn input_value(&self) -> String {
        self.input.as_ref().map(|i| i.value()).unwrap_or_default()
    }

    /// Empties the input after a send and keeps the caret there.
    pub fn clear_input(&self) {
        if let Some(input) = &self.input {
            input.set_value("");
            // Focus is a convenience; a browser refusing it changes nothing.
            let _ = input.focus();
        }
    }

    /// Puts `text` back into the input when it is empty.
    pub fn restore_input(&self, text: &str) {
        if let Some(input) = &self.input {
            if input.value().is_empty() {
                input.set_value(text);
            }
        }
    }

    /// Shows the connection state in `#bc-conn` and `body[data-connected]`.
    pub fn show_connection(&self, state: ConnState) -> Result<(), DomError> {
        if let Some(conn) = &self.conn {
            conn.set_text_content(Some(state.label()));
            conn.set_attribute("data-state", state_name(state))?;
        }
        let connected = if state == ConnState::Connected {
            "true"
        } else {
            "false"
        };
        self.body.set_attribute("data-connected", connected)?;
        Ok(())
    }

    /// Records the resume cursor in `body[data-last-seq]`.
    pub fn show_cursor(&self, last_seq: u64) -> Result<(), DomError> {
        self.body
            .set_attribute("data-last-seq", &last_seq.to_string())?;
        Ok(())
    }

    /// Shows `message` at its seq position, replacing an earlier rendering of
    /// the same seq (an edit, a delete, or a duplicate delivery).
    pub fn render_message(&self, message: &Message) -> Result<(), DomError> {
        let follow = self.at_bottom();
        let li = message_element(&self.doc, message)?;
        let existing = self
            .doc
            .get_element_by_id(&format!("m-{}", message.seq))
            .filter(|el| self.list.contains(Some(el.as_ref())));
        match existing {
            Some(old) => {
                self.list.replace_child(&li, &old)?;
            }
            None => {
                let next = self.first_after(message.seq);
                self.list
                    .insert_before(&li, next.as_ref().map(AsRef::<Node>::as_ref))?;
            }
        }
        self.remove_empty_note();
        if follow {
            self.scroll_to_bottom();
        }
        Ok(())
    }

    /// Shows a "sending…" placeholder for a message of mine at the bottom.
    /// It has no `data-seq`: the real message replaces it when it arrives.
    pub fn show_pending(
        &self,
        client_msg_id: &str,
        body: &str,
        my_name: &str,
    ) -> Result<(), DomError> {
        let doc = &self.doc;
        let li = dom::element(doc, "li", "bc-msg bc-pending")?;
        li.set_attribute("data-client-msg-id", client_msg_id)?;
        append(&li, &avatar(doc, my_name)?)?;
        append(&li, &dom::text_element(doc, "span", "bc-author", my_name)?)?;
        append(&li, &doc.create_text_node(" "))?;
        append(
            &li,
            &dom::text_element(doc, "span", "bc-status", "sending…")?,
        )?;
        let content = dom::element(doc, "div", "bc-body")?;
        // The shared renderer escapes raw HTML and drops unsafe links.
        content.set_inner_html(&transcript::render_html(body, &Default::default()));
        append(&li, &content)?;
        append(&self.list, &li)?;
        self.remove_empty_note();
        // The reader just sent this: show it even if they had scrolled up.
        self.scroll_to_bottom();
        Ok(())
    }

    /// Removes the placeholder for `client_msg_id`, if it is there.
    pub fn remove_pending(&self, client_msg_id: &str) {
        for li in dom::query_all(&self.list, "li.bc-pending") {
            if dom::data(&li, "client-msg-id").as_deref() == Some(client_msg_id) {
                li.remove();
            }
        }
    }

    /// Shows `text` in `#bc-error` (the server's slot for a failed post,
    /// created before the form on first use); empty text hides it.
    pub fn notice(&self, text: &str) -> Result<(), DomError> {
        let el = match self.doc.get_element_by_id("bc-error") {
            Some(el) => el,
            None if text.is_empty() => return Ok(()),
            None => {
                let el = dom::element(&self.doc, "p", "")?;
                el.set_id("bc-error");
                el.set_attribute("role", "alert")?;
                let before = self.form.as_ref().map(AsRef::<Node>::as_ref);
                self.body.insert_before(&el, before)?;
                el
            }
        };
        el.set_text_content(Some(text));
        if let Some(html) = dom::html(&el) {
            html.set_hidden(text.is_empty());
        }
        Ok(())
    }

    /// Reloads the page (the server renders the room afresh).
    pub fn reload(&self) -> Result<(), DomError> {
        dom::window()?.location().reload()?;
        Ok(())
    }

    /// Whether the reader is looking at the newest messages.
    pub fn at_bottom(&self) -> bool {
        let s = &self.scroller;
        s.scroll_height() - s.scroll_top() - s.client_height() <= BOTTOM_SLACK_PX
    }

    /// Scrolls the conversation to the newest message.
    pub fn scroll_to_bottom(&self) {
        self.scroller.set_scroll_top(self.scroller.scroll_height());
    }

    /// Drops the server's "No messages yet" line once there is one.
    fn remove_empty_note(&self) {
        if let Some(empty) = self.doc.get_element_by_id("bc-empty") {
            empty.remove();
        }
    }

    /// The first list item that must come after `seq`: a later message or a
    /// placeholder (placeholders stay below every delivered message).
    fn first_after(&self, seq: u64) -> Option<Element> {
        let children = self.list.children();
        (0..children.length())
            .filter_map(|i| children.item(i))
            .find(|li| {
                li.class_list().contains("bc-pending")
                    || dom::data(li, "seq")
                        .and_then(|s| s.parse::<u64>().ok())
                        .is_some_and(|s| s > seq)
            })
    }
}

/// `child` appended to `parent`.
fn append(parent: &Element, child: &impl AsRef<Node>) -> Result<(), DomError> {
    parent.append_child(child.as_ref())?;
    Ok(())
}

/// One message as the server's `message_item` renders it. Names go in as
/// text; the body goes in as HTML only after the shared safe renderer.
pub fn message_element(doc: &Document, m: &Message) -> Result<Element, DomError> {
    let li = dom::element(doc, "li", "bc-msg")?;
    li.set_id(&format!("m-{}", m.seq));
    li.set_attribute("data-seq", &m.seq.to_string())?;
    li.set_attribute("data-id", m.id.as_str())?;
    li.set_attribute("data-author", m.author.as_str())?;

    append(&li, &avatar(doc, &m.author_name)?)?;
    append(
        &li,
        &dom::text_element(doc, "span", "bc-author", &m.author_name)?,
    )?;
    append(&li, &doc.create_text_node(" "))?;

    let time = doc.create_element("time")?;
    time.set_attribute(
        "datetime",
        &m.created_at.to_rfc3339_opts(SecondsFormat::Millis, true),
    )?;
    // Milliseconds since the epoch fit an f64 exactly for any realistic date.
    let date = js_sys::Date::new(&JsValue::from_f64(m.created_at.timestamp_millis() as f64));
    if let Some((label, title)) = local_time(&date) {
        time.set_text_content(Some(&label));
        time.set_attribute("title", &title)?;
    }
    append(&li, &time)?;

    if m.edited_at.is_some() {
        append(&li, &doc.create_text_node(" "))?;
        append(
            &li,
            &dom::text_element(doc, "span", "bc-edited", "(edited)")?,
        )?;
    }

    let content = if m.deleted_at.is_some() {
        dom::text_element(doc, "div", "bc-body bc-deleted", "(message deleted)")?
    } else {
        let content = dom::element(doc, "div", "bc-body")?;
        content.set_inner_html(&transcript::render_html(&m.body, &Default::default()));
        content
    };
    append(&li, &content)?;
    Ok(li)
}

/// The `data-state` value on `#bc-conn`.
fn state_name(state: ConnState) -> &'static str {
    match state {
        ConnState::Connecting => "connecting",
        ConnState::Connected => "connected",
        ConnState::Offline => "offline",
    }
}

/// `<span class="bc-avatar" aria-hidden="true">A</span>` for `name`.
fn avatar(doc: &Document, name: &str) -> Result<Element, DomError> {
    let el = dom::text_element(doc, "span", "bc-avatar", &initial(name))?;
    el.set_attribute("aria-hidden", "true")?;
    Ok(el)
}

/// The avatar letter: the name's first character, upper-cased (as the server
/// does: empty for an empty name).
pub fn initial(name: &str) -> String {
    name.chars()
        .next()
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default()
}

/// `HH:MM` in the browser's time zone, and `YYYY-MM-DD HH:MM:SS UTC±HH:MM`
/// for the tooltip (the server's shape); `None` for an invalid date.
pub fn local_time(date: &js_sys::Date) -> Option<(String, String)> {
    if date.get_time().is_nan() {
        return None;
    }
    let (hours, minutes) = (date.get_hours(), date.get_minutes());
    let label = format!("{hours:02}:{minutes:02}");
    let title = format!(
        "{:04}-{:02}-{:02} {hours:02}:{minutes:02}:{:02} {}",
        date.get_full_year(),
        date.get_month() + 1,
        date.get_date(),
        date.get_seconds(),
        zone_label(date.get_timezone_offset()),
    );
    Some((label, title))
}

/// `UTC`, `UTC+01:00` or `UTC-05:30` from JavaScript's `getTimezoneOffset`
/// (minutes *behind* UTC, so the sign is flipped).
pub fn zone_label(offset_minutes: f64) -> String {
    // Offsets are whole minutes within ±24 h; the cast cannot truncate.
    let east = -(offset_minutes as i32);
    if east == 0 {
        return "UTC".to_owned();
    }
    let sign = if east > 0 { '+' } else { '-' };
    let east = east.abs();
    format!("UTC{sign}{:02}:{:02}", east / 60, east % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_avatar_letter_matches_the_server() {
        assert_eq!(initial("alice"), "A");
        assert_eq!(initial("élodie"), "É");
        assert_eq!(initial(""), "");
    }

    #[test]
    fn zone_labels_flip_javascripts_offset_sign() {
        assert_eq!(zone_label(0.0), "UTC");
        assert_eq!(zone_label(-60.0), "UTC+01:00");
        assert_eq!(zone_label(330.0), "UTC-05:30");
    }
}
