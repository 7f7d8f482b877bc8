//! The popup's DOM: reads what the server rendered and applies [`Effect`]s to it.
//!
//! New messages use exactly the server's markup, so CSS, the no-JS page and
//! end-to-end tests see one shape:
//!
//! ```html
//! <li class="bc-msg" id="m-SEQ" data-seq="SEQ" data-id="ID" data-author="USER">
//!   <span class="bc-avatar" aria-hidden="true">A</span><span class="bc-author">alice</span>
//!   <time datetime="2026-11-22T08:15:00.000Z" title="2026-11-22 09:15:00 UTC+01:00">09:15</time>
//!   <div class="bc-body">…the message's `html`…</div></li>
//! ```
//!
//! (`plugin::popup::message_item` is the server's side of this contract.) Times
//! are shown in the reader's time zone: live ones when they arrive, and the
//! server-rendered ones (in the page's zone) are relabelled on start.
//!
//! Names and other plain text go in with `text_content`; only the body goes in
//! as HTML, and only the `html` the server rendered with the shared safe
//! renderer (`transcript::render_html`, which escapes raw HTML and drops
//! unsafe links), so live messages look like the no-JS page and transcripts
//! without a markdown parser in the bundle. A body without `html` (a
//! placeholder still sending, or a server that did not render it) is shown
//! as plain text. File names (which may look like markup) are always text,
//! and file links only ever point at our own relative `/files/...` URLs.
//!
//! With the app running, the form's file input is the attach button (its
//! label), `#bc-uploads` shows uploads with a `<progress>` each, the body
//! gets `bc-dragging` while files are dragged over the popup, and the info
//! panel's `#bc-room-files` gains each file shared while it is open.
//!
//! # Layout
//! - this file: [`View`], its handles on the page, reading the page's
//!   config and messages, the input and scrolling.
//! - `message`: messages, placeholders, divider, editor, reply, thread.
//! - `panels`: connection, notices, people, typing, completions, uploads,
//!   the "new messages" button, title, beeps, notifications, mute.
//! - `time`: times and date separators in the reader's zone.
//!
//! [`Effect`]: crate::state::Effect

mod message;
mod panels;
mod time;

pub use message::{initial, message_element};
pub use panels::notification_permission;
pub use time::{local_time, zone_label};

use crate::dom::{self, DomError};
use crate::state::{Config, Known};
use protocol::{MessageId, RoomId, UserId};
use std::cell::RefCell;
use web_sys::{
    AudioContext, Document, Element, File, HtmlElement, HtmlFormElement, HtmlInputElement,
    HtmlTextAreaElement, Node,
};

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
    /// `#bc-info`, the side panel (collapsible at phone width).
    info: Option<Element>,
    /// `#bc-present`: "Here now".
    present: Option<Element>,
    /// `#bc-participants`: everyone who posted.
    participants: Option<Element>,
    /// `#bc-typing`: "Bob is typing…" (created here).
    typing: Element,
    /// `#bc-live`: a polite live region that reads out new messages.
    live: Element,
    /// `#bc-new-below`: the "new messages ↓" button.
    new_below: Element,
    /// `#bc-reply`: the message being replied to, above the input.
    reply: Option<Element>,
    /// `#bc-mentions`: the `@` completion list.
    mentions: Option<Element>,
    /// `#bc-actions`: one toolbar, moved into the message under the pointer.
    actions: Element,
    /// `#bc-thread`: the thread panel in the side panel.
    thread: Option<Element>,
    /// `#bc-file`: the form's file input (the attach button is its label).
    file_input: Option<HtmlInputElement>,
    /// `#bc-uploads`: uploads on their way, with progress (created here).
    uploads: Option<Element>,
    /// `#bc-room-files`: the info panel's list of shared files, newest first.
    room_files: Option<Element>,
    /// The document title without an unread count.
    title: String,
    /// `body[data-user]`: whose mentions to highlight.
    me: UserId,
    /// Made on the first user gesture (browsers keep audio silent before one).
    audio: RefCell<Option<AudioContext>>,
    /// People's pictures as profile events told them (`None`: the letter);
    /// anyone else's messages show what their messages on screen show.
    faces: RefCell<std::collections::HashMap<UserId, Option<String>>>,
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
        let form: Option<HtmlFormElement> = dom::find_optional(doc, "#bc-form")?;
        let input: Option<HtmlTextAreaElement> = dom::find_optional(doc, "#bc-input")?;
        let info: Option<Element> = dom::find_optional(doc, "#bc-info")?;

        // The ordered list stays quiet; #bc-live reads out one line per new
        // message instead of every change to the list.
        list.remove_attribute("aria-live")?;
        list.remove_attribute("aria-relevant")?;
        let live = ensure(doc, "bc-live", "div", "bc-visually-hidden", |el| {
            el.set_attribute("aria-live", "polite")?;
            append(&body, el)
        })?;

        let typing = ensure(doc, "bc-typing", "p", "", |el| {
            el.set_attribute("aria-live", "polite")?;
            let before = form.as_ref().map(AsRef::<Node>::as_ref);
            body.insert_before(el, before)?;
            Ok(())
        })?;

        let new_below = ensure(doc, "bc-new-below", "button", "", |el| {
            el.set_attribute("type", "button")?;
            el.set_attribute("data-action", "jump")?;
            el.set_attribute("hidden", "")?;
            append(&scroller, el)
        })?;

        let (reply, mentions) = match (&form, &input) {
            (Some(form), Some(input)) => {
                let reply = ensure(doc, "bc-reply", "div", "", |el| {
                    el.set_attribute("hidden", "")?;
                    form.insert_before(el, Some(input.as_ref()))?;
                    Ok(())
                })?;
                let mentions = ensure(doc, "bc-mentions", "ul", "", |el| {
                    el.set_attribute("role", "listbox")?;
                    el.set_attribute("aria-label", "People")?;
                    el.set_attribute("hidden", "")?;
                    form.insert_before(el, Some(input.as_ref()))?;
                    Ok(())
                })?;
                input.set_attribute("aria-controls", "bc-mentions")?;
                (Some(reply), Some(mentions))
            }
            _ => (None, None),
        };

        let actions = ensure(doc, "bc-actions", "div", "", |el| {
            el.set_attribute("role", "toolbar")?;
            el.set_attribute("aria-label", "Message actions")?;
            for (action, label) in [
                ("reply", "Reply"),
                ("thread", "Thread"),
                ("edit", "Edit"),
                ("delete", "Delete"),
                ("link", "Copy link"),
            ] {
                let b = dom::text_element(doc, "button", "", label)?;
                b.set_attribute("type", "button")?;
                b.set_attribute("data-action", action)?;
                append(el, &b)?;
            }
            Ok(())
        })?;

        if let Some(header) = dom::find_optional::<Element>(doc, "#bc-title")? {
            if doc.get_element_by_id("bc-tools").is_none() {
                let tools = dom::element(doc, "div", "")?;
                tools.set_id("bc-tools");
                for (id, action, label) in [
                    ("bc-mute", "mute", "Sound on"),
                    ("bc-notify", "notify", "Notify me of mentions"),
                    ("bc-info-toggle", "toggle-info", "Info"),
                ] {
                    let b = dom::text_element(doc, "button", "", label)?;
                    b.set_id(id);
                    b.set_attribute("type", "button")?;
                    b.set_attribute("data-action", action)?;
                    append(&tools, &b)?;
                }
                if let Some(b) = doc.get_element_by_id("bc-mute") {
                    b.set_attribute("aria-pressed", "false")?;
                    b.set_attribute("title", "Beep on new messages while away (click to mute)")?;
                }
                if let Some(b) = doc.get_element_by_id("bc-info-toggle") {
                    b.set_attribute("aria-controls", "bc-info")?;
                    b.set_attribute("aria-expanded", "false")?;
                }
                if let Some(b) = doc.get_element_by_id("bc-notify") {
                    if notification_permission().as_deref() != Some("default") {
                        b.set_attribute("hidden", "")?;
                    }
                }
                append(&header, &tools)?;
            }
        }

        let thread = match &info {
            Some(info) => Some(ensure(doc, "bc-thread", "section", "", |el| {
                el.set_attribute("aria-label", "Thread")?;
                el.set_attribute("hidden", "")?;
                let head = dom::element(doc, "h2", "")?;
                append(&head, &doc.create_text_node("Thread "))?;
                let close = dom::text_element(doc, "button", "bc-close", "×")?;
                close.set_attribute("type", "button")?;
                close.set_attribute("data-action", "close-thread")?;
                close.set_attribute("aria-label", "Close the thread")?;
                append(&head, &close)?;
                append(el, &head)?;
                append(el, &dom::element(doc, "ol", "bc-thread-list")?)?;
                info.prepend_with_node_1(el)?;
                Ok(())
            })?),
            None => None,
        };

        let file_input: Option<HtmlInputElement> = dom::find_optional(doc, "#bc-file")?;
        let uploads = match (&form, &input, &file_input) {
            (Some(form), Some(input), Some(file)) => {
                file.set_attribute("multiple", "")?;
                // The label is the visible attach button; the input goes just
                // before it (hidden but focusable), so its focus ring can
                // show on the label (`#bc-file:focus-visible + .bc-attach`).
                if let Some(label) = dom::query(form, "label.bc-attach") {
                    if let Some(parent) = label.parent_node() {
                        parent.insert_before(file, Some(label.as_ref()))?;
                    }
                    label.set_attribute("title", "Attach files (or drop or paste them)")?;
                }
                Some(ensure(doc, "bc-uploads", "ul", "", |el| {
                    el.set_attribute("aria-label", "Uploads")?;
                    el.set_attribute("hidden", "")?;
                    form.insert_before(el, Some(input.as_ref()))?;
                    Ok(())
                })?)
            }
            _ => None,
        };

        // Styles for the live UI (e.g. the folding side panel) key on this.
        body.class_list().add_1("bc-js")?;
        let me_el: Element = body.clone().into();
        Ok(View {
            doc: doc.clone(),
            body,
            list,
            scroller,
            conn: dom::find_optional(doc, "#bc-conn")?,
            present: dom::find_optional(doc, "#bc-present")?,
            participants: dom::find_optional(doc, "#bc-participants")?,
            form,
            input,
            info,
            typing,
            live,
            new_below,
            reply,
            mentions,
            actions,
            thread,
            file_input,
            uploads,
            room_files: dom::find_optional(doc, "#bc-room-files")?,
            title: doc.title(),
            me: UserId::new(dom::data(&me_el, "user").unwrap_or_default()),
            audio: RefCell::new(None),
            faces: RefCell::new(faces_on(&me_el)),
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
            commands: dom::data(body, "commands")
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
        })
    }

    /// The server's upload size cap from `body[data-max-upload]` (0: unknown).
    pub fn max_upload_bytes(&self) -> u64 {
        let body: &Element = self.body.as_ref();
        dom::data(body, "max-upload")
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }

    /// The messages the server rendered into the page.
    pub fn known_messages(&self) -> Vec<Known> {
        dom::query_all(&self.list, "li.bc-msg[data-seq][data-id]")
            .iter()
            .filter_map(|li| {
                Some(Known {
                    seq: dom::data(li, "seq")?.parse().ok()?,
                    id: MessageId::new(dom::data(li, "id")?),
                    author: UserId::new(dom::data(li, "author").unwrap_or_default()),
                })
            })
            .collect()
    }

    /// The document this view belongs to.
    pub fn doc(&self) -> &Document {
        &self.doc
    }

    /// `#bc-messages`, for wiring listeners.
    pub fn list(&self) -> &Element {
        &self.list
    }

    /// The element that scrolls, for wiring listeners.
    pub fn scroller(&self) -> &Element {
        &self.scroller
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

    /// Replaces the input's text and puts the caret at UTF-16 offset `caret`.
    pub fn set_input(&self, text: &str, caret: u32) {
        if let Some(input) = &self.input {
            input.set_value(text);
            let _ = input.set_selection_range(caret, caret);
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

    /// Focuses the message input.
    pub fn focus_input(&self) {
        if let Some(input) = &self.input {
            let _ = input.focus();
        }
    }

    /// `#bc-file`, the file input, for wiring listeners.
    pub fn file_input(&self) -> Option<&HtmlInputElement> {
        self.file_input.as_ref()
    }

    /// The files chosen in `#bc-file`, which is then emptied (each file is
    /// taken once; choosing the same file again fires `change` again).
    pub fn take_chosen_files(&self) -> Vec<File> {
        let Some(input) = &self.file_input else {
            return Vec::new();
        };
        let files = input
            .files()
            .map(|list| files_of(&list))
            .unwrap_or_default();
        input.set_value("");
        files
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

    /// Whether the reader scrolled to the oldest message shown.
    pub fn at_top(&self) -> bool {
        self.scroller.scroll_top() <= BOTTOM_SLACK_PX
    }

    /// Scrolls the conversation to the newest message.
    pub fn scroll_to_bottom(&self) {
        self.scroller.set_scroll_top(self.scroller.scroll_height());
    }

    /// Records the resume cursor in `body[data-last-seq]`.
    pub fn show_cursor(&self, last_seq: u64) -> Result<(), DomError> {
        self.body
            .set_attribute("data-last-seq", &last_seq.to_string())?;
        Ok(())
    }
}

/// `child` appended to `parent`.
pub(super) fn append(parent: &Element, child: &impl AsRef<Node>) -> Result<(), DomError> {
    parent.append_child(child.as_ref())?;
    Ok(())
}

/// The element `#id`, or a new `<tag class>` with that id set up by `place`.
pub(super) fn ensure(
    doc: &Document,
    id: &str,
    tag: &str,
    class: &str,
    place: impl FnOnce(&Element) -> Result<(), DomError>,
) -> Result<Element, DomError> {
    if let Some(el) = doc.get_element_by_id(id) {
        return Ok(el);
    }
    let el = dom::element(doc, tag, class)?;
    el.set_id(id);
    place(&el)?;
    Ok(el)
}

/// The files in a `FileList`.
pub fn files_of(list: &web_sys::FileList) -> Vec<File> {
    (0..list.length()).filter_map(|i| list.get(i)).collect()
}

/// The pictures the server put beside people's names in the info panel
/// (`li[data-user] > img.bc-face`): the faces known when the page loaded,
/// so lists rebuilt later keep them.
fn faces_on(body: &Element) -> std::collections::HashMap<UserId, Option<String>> {
    dom::query_all(body, "#bc-info li[data-user] > img.bc-face")
        .into_iter()
        .filter_map(|img| {
            let user = img.parent_element()?.get_attribute("data-user")?;
            Some((UserId::new(user), Some(img.get_attribute("src")?)))
        })
        .collect()
}
