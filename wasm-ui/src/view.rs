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
//! [`Effect`]: crate::state::Effect

use crate::case;
use crate::dom::{self, DomError};
use crate::state::{self, Config, ConnState, Known, Person, Upload};
use chrono::{NaiveDate, SecondsFormat};
use protocol::{Attachment, Message, MessageId, Presence, RoomId, UserId};
use std::cell::RefCell;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{
    AudioContext, Document, Element, File, HtmlElement, HtmlFormElement, HtmlInputElement,
    HtmlTextAreaElement, Node,
};

/// Where the mute setting is kept between visits.
const MUTE_KEY: &str = "backchannel.muted";

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
        let li = self.message_element(message)?;
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
        self.refresh_days();
        self.list_room_files(message)?;
        if follow {
            self.scroll_to_bottom();
        }
        Ok(())
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

    /// Rebuilds `#bc-uploads`: one row per upload with its name, a
    /// `<progress>` and a Cancel button; hidden when there are none.
    pub fn show_uploads(&self, uploads: &[Upload]) -> Result<(), DomError> {
        let Some(ul) = &self.uploads else {
            return Ok(());
        };
        ul.set_text_content(None);
        for u in uploads {
            let li = dom::element(&self.doc, "li", "bc-upload")?;
            li.set_attribute("data-upload", &u.id.to_string())?;
            append(
                &li,
                &dom::text_element(&self.doc, "span", "bc-upload-name", &u.name)?,
            )?;
            let bar = dom::element(&self.doc, "progress", "")?;
            bar.set_attribute("max", "100")?;
            bar.set_attribute("aria-label", &format!("Uploading {}", u.name))?;
            let status = if u.started {
                bar.set_attribute("value", &u.percent().to_string())?;
                format!("{} % of {}", u.percent(), human_size(u.size))
            } else {
                // No value: an indeterminate bar, "waiting its turn".
                format!("waiting · {}", human_size(u.size))
            };
            append(&li, &bar)?;
            append(
                &li,
                &dom::text_element(&self.doc, "span", "bc-status", &status)?,
            )?;
            let cancel = dom::text_element(&self.doc, "button", "bc-close", "×")?;
            cancel.set_attribute("type", "button")?;
            cancel.set_attribute("data-action", "cancel-upload")?;
            cancel.set_attribute("data-upload", &u.id.to_string())?;
            cancel.set_attribute("aria-label", &format!("Cancel the upload of {}", u.name))?;
            append(&li, &cancel)?;
            append(ul, &li)?;
        }
        if let Some(ul) = dom::html(ul) {
            ul.set_hidden(uploads.is_empty());
        }
        Ok(())
    }

    /// Marks the popup as a drop target while files are dragged over it.
    pub fn show_dragging(&self, dragging: bool) {
        // Cosmetic: a browser refusing the class change loses nothing.
        let _ = self
            .body
            .class_list()
            .toggle_with_force("bc-dragging", dragging);
    }

    /// Adds the files of `message` to the info panel's list (newest first),
    /// once each.
    fn list_room_files(&self, message: &Message) -> Result<(), DomError> {
        let Some(ul) = &self.room_files else {
            return Ok(());
        };
        if message.deleted_at.is_some() {
            for file in &message.attachments {
                for li in dom::query_all(ul, "li[data-file]") {
                    if dom::data(&li, "file").as_deref() == Some(file.id.as_str()) {
                        li.remove();
                    }
                }
            }
            return Ok(());
        }
        for file in &message.attachments {
            let listed = dom::query_all(ul, "li[data-file]")
                .iter()
                .any(|li| dom::data(li, "file").as_deref() == Some(file.id.as_str()));
            if listed {
                continue;
            }
            for none in dom::query_all(ul, "li.bc-none") {
                none.remove();
            }
            let li = dom::element(&self.doc, "li", "")?;
            li.set_attribute("data-file", &file.id)?;
            let shared = Attachment {
                uploaded_by: file
                    .uploaded_by
                    .clone()
                    .or_else(|| Some(message.author_name.clone())),
                ..file.clone()
            };
            room_file(&self.doc, &li, &shared)?;
            ul.prepend_with_node_1(&li)?;
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
        // As typed: the rendered message replaces this when it is acked.
        append(&li, &plain_body(doc, body)?)?;
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

    /// The people listed under `selector` (`li[data-user]`, `data-presence`).
    pub fn people(&self, selector: &str) -> Vec<Person> {
        let Some(list) = dom::find_optional::<Element>(&self.doc, selector)
            .ok()
            .flatten()
        else {
            return Vec::new();
        };
        dom::query_all(&list, "li[data-user]")
            .iter()
            .filter_map(|li| {
                Some(Person {
                    id: UserId::new(dom::data(li, "user")?),
                    name: dom::data(li, "name")
                        .or_else(|| li.text_content())
                        .unwrap_or_default()
                        .trim()
                        .to_owned(),
                    presence: dom::data(li, "presence").as_deref().and_then(presence_of),
                })
            })
            .collect()
    }

    /// Rebuilds "Here now" with each person's status.
    pub fn show_present(&self, people: &[Person]) -> Result<(), DomError> {
        let Some(ul) = &self.present else {
            return Ok(());
        };
        ul.set_text_content(None);
        for p in people {
            let li = dom::element(&self.doc, "li", "")?;
            li.set_attribute("data-user", p.id.as_str())?;
            li.set_attribute("data-name", &p.name)?;
            let status = p.presence.map(presence_name).unwrap_or("active");
            li.set_attribute("data-presence", status)?;
            let dot = dom::element(&self.doc, "span", "bc-dot")?;
            dot.set_attribute("aria-hidden", "true")?;
            append(&li, &dot)?;
            append(&li, &self.doc.create_text_node(&p.name))?;
            if status != "active" {
                append(
                    &li,
                    &dom::text_element(&self.doc, "span", "bc-status", &format!(" ({status})"))?,
                )?;
            }
            append(ul, &li)?;
        }
        if people.is_empty() {
            append(
                ul,
                &dom::text_element(&self.doc, "li", "bc-none", "nobody")?,
            )?;
        }
        Ok(())
    }

    /// Rebuilds the participants list, most recent first.
    pub fn show_participants(&self, people: &[Person]) -> Result<(), DomError> {
        let Some(ul) = &self.participants else {
            return Ok(());
        };
        ul.set_text_content(None);
        for p in people {
            let li = dom::text_element(&self.doc, "li", "", &p.name)?;
            li.set_attribute("data-user", p.id.as_str())?;
            append(ul, &li)?;
        }
        Ok(())
    }

    /// "Bob is typing…", or nothing.
    pub fn show_typing(&self, text: &str) {
        self.typing.set_text_content(Some(text));
    }

    /// Reads `text` out to screen readers.
    pub fn announce(&self, text: &str) {
        self.live.set_text_content(Some(text));
    }

    /// A message item with what only the live UI adds: my mentions marked
    /// and the replied-to message quoted when it is on screen.
    fn message_element(&self, m: &Message) -> Result<Element, DomError> {
        let li = message_element(&self.doc, m)?;
        if state::mentions(m, &self.me) {
            li.class_list().add_1("bc-mention")?;
        }
        if let (Some(parent), Some(link)) = (m.reply_to, dom::query(&li, ".bc-reply-to")) {
            if let Some(quote) = self.excerpt(parent) {
                link.set_text_content(Some(&format!("↪ {quote}")));
            }
        }
        Ok(li)
    }

    /// "Bob: the first words…" for the message `seq` on screen.
    pub fn excerpt(&self, seq: u64) -> Option<String> {
        let li = self.doc.get_element_by_id(&format!("m-{seq}"))?;
        let author = dom::query(&li, ".bc-author")?.text_content()?;
        let body = dom::query(&li, ".bc-body")?
            .text_content()
            .unwrap_or_default();
        let body = body.split_whitespace().collect::<Vec<_>>().join(" ");
        let short: String = body.chars().take(80).collect();
        let more = if short.len() < body.len() { "…" } else { "" };
        Some(format!("{author}: {short}{more}"))
    }

    /// Inserts older messages above the ones shown without moving what the
    /// reader is looking at.
    pub fn render_older(&self, messages: &[Message]) -> Result<(), DomError> {
        let before = self.scroller.scroll_height();
        let top = self.scroller.scroll_top();
        for m in messages {
            let li = self.message_element(m)?;
            let next = self.first_after(m.seq);
            self.list
                .insert_before(&li, next.as_ref().map(AsRef::<Node>::as_ref))?;
        }
        self.refresh_days();
        let grown = self.scroller.scroll_height() - before;
        self.scroller.set_scroll_top(top + grown);
        Ok(())
    }

    /// Puts the "New messages" divider before message `seq` and scrolls to it.
    pub fn show_divider(&self, seq: u64) -> Result<(), DomError> {
        if let Some(old) = self.doc.get_element_by_id("bc-divider") {
            old.remove();
        }
        let Some(li) = self.doc.get_element_by_id(&format!("m-{seq}")) else {
            return Ok(());
        };
        let divider = dom::element(&self.doc, "li", "bc-divider")?;
        divider.set_id("bc-divider");
        divider.set_attribute("role", "separator")?;
        append(
            &divider,
            &dom::text_element(&self.doc, "span", "", "New messages")?,
        )?;
        self.list.insert_before(&divider, Some(li.as_ref()))?;
        // Top of the divider at the top of the conversation.
        let offset = dom::html(&divider)
            .map(HtmlElement::offset_top)
            .unwrap_or(0)
            - dom::html(&self.scroller)
                .map(HtmlElement::offset_top)
                .unwrap_or(0);
        self.scroller.set_scroll_top(offset.max(0));
        Ok(())
    }

    /// Shows or hides "new messages ↓".
    pub fn show_new_below(&self, count: u32) -> Result<(), DomError> {
        if count == 0 {
            self.new_below.set_attribute("hidden", "")?;
        } else {
            let s = if count == 1 { "" } else { "s" };
            self.new_below
                .set_text_content(Some(&format!("{count} new message{s} ↓")));
            self.new_below.remove_attribute("hidden")?;
        }
        Ok(())
    }

    /// `(3) Lobby — chat` while there are unseen messages.
    pub fn show_title_count(&self, count: u32) {
        if count == 0 {
            self.doc.set_title(&self.title);
        } else {
            self.doc.set_title(&format!("({count}) {}", self.title));
        }
    }

    /// Readies audio on a user gesture, so a later beep can play.
    pub fn unlock_audio(&self) {
        if self.audio.borrow().is_none() {
            *self.audio.borrow_mut() = AudioContext::new().ok();
        }
        if let Some(ctx) = self.audio.borrow().as_ref() {
            // A suspended context resumes on a gesture; if not, no beep.
            let _ = ctx.resume();
        }
    }

    /// A short, quiet beep (a 880 Hz sine for 120 ms).
    pub fn beep(&self) -> Result<(), DomError> {
        let audio = self.audio.borrow();
        let Some(ctx) = audio.as_ref() else {
            return Ok(());
        };
        let osc = ctx.create_oscillator()?;
        let gain = ctx.create_gain()?;
        osc.frequency().set_value(880.0);
        let now = ctx.current_time();
        gain.gain().set_value_at_time(0.08, now)?;
        gain.gain()
            .exponential_ramp_to_value_at_time(0.001, now + 0.12)?;
        osc.connect_with_audio_node(&gain)?;
        gain.connect_with_audio_node(&ctx.destination())?;
        osc.start()?;
        osc.stop_with_when(now + 0.13)?;
        Ok(())
    }

    /// A desktop notification (when granted).
    pub fn notify(&self, title: &str, body: &str, seq: u64) -> Result<(), DomError> {
        if notification_permission().as_deref() != Some("granted") {
            return Ok(());
        }
        let options = web_sys::NotificationOptions::new();
        options.set_body(body);
        options.set_tag(&format!("bc-m-{seq}"));
        web_sys::Notification::new_with_options(title, &options)?;
        Ok(())
    }

    /// Hides the "Notify me" button (permission decided).
    pub fn hide_notify_button(&self) {
        if let Some(b) = self.doc.get_element_by_id("bc-notify") {
            // Cosmetic.
            let _ = b.set_attribute("hidden", "");
        }
    }

    /// Shows the mute state on its button and keeps it for next time.
    pub fn show_mute(&self, muted: bool) -> Result<(), DomError> {
        if let Some(b) = self.doc.get_element_by_id("bc-mute") {
            b.set_text_content(Some(if muted { "Sound off" } else { "Sound on" }));
            b.set_attribute("aria-pressed", if muted { "true" } else { "false" })?;
            b.set_attribute(
                "aria-label",
                if muted {
                    "Unmute the beep"
                } else {
                    "Mute the beep"
                },
            )?;
        }
        if let Ok(Some(storage)) = dom::window()?.local_storage() {
            // Private modes may refuse storage; the setting then lasts this visit.
            let _ = storage.set_item(MUTE_KEY, if muted { "1" } else { "0" });
        }
        Ok(())
    }

    /// The mute setting kept from an earlier visit.
    pub fn stored_mute(&self) -> bool {
        dom::window()
            .ok()
            .and_then(|w| w.local_storage().ok().flatten())
            .and_then(|s| s.get_item(MUTE_KEY).ok().flatten())
            .as_deref()
            == Some("1")
    }

    /// Opens or closes the side panel at phone width.
    pub fn toggle_info(&self) -> Result<(), DomError> {
        let open = self.body.class_list().toggle("bc-info-open")?;
        if let Some(b) = self.doc.get_element_by_id("bc-info-toggle") {
            b.set_attribute("aria-expanded", if open { "true" } else { "false" })?;
        }
        if open {
            if let Some(info) = self.info.as_ref().and_then(dom::html) {
                info.set_tab_index(-1);
                let _ = info.focus();
            }
        }
        Ok(())
    }

    /// Moves the actions toolbar into `li`, with edit and delete only on my messages.
    pub fn place_actions(&self, li: &Element, mine: bool) -> Result<(), DomError> {
        if li.class_list().contains("bc-editing") {
            return Ok(());
        }
        for action in ["edit", "delete"] {
            if let Some(b) = dom::query(&self.actions, &format!("[data-action={action}]")) {
                if mine {
                    b.remove_attribute("hidden")?;
                } else {
                    b.set_attribute("hidden", "")?;
                }
            }
        }
        let inside = self
            .actions
            .parent_element()
            .is_some_and(|p| p.is_same_node(Some(li.as_ref())));
        if !inside {
            append(li, &self.actions)?;
        }
        Ok(())
    }

    /// Replaces my message's body with an inline editor holding `body`.
    pub fn open_editor(&self, seq: u64, body: &str) -> Result<(), DomError> {
        self.close_editor();
        let Some(li) = self.doc.get_element_by_id(&format!("m-{seq}")) else {
            return Ok(());
        };
        self.actions.remove();
        li.class_list().add_1("bc-editing")?;
        let doc = &self.doc;
        let editor = dom::element(doc, "div", "bc-editor")?;
        let area: HtmlTextAreaElement = doc
            .create_element("textarea")?
            .dyn_into()
            .map_err(|_| DomError::WrongKind("textarea".to_owned()))?;
        area.set_class_name("bc-edit-input");
        area.set_value(body);
        area.set_attribute("aria-label", "Edit message")?;
        append(&editor, &area)?;
        let hint = dom::text_element(doc, "span", "bc-hint", "Enter saves · Esc cancels ")?;
        append(&editor, &hint)?;
        for (action, label) in [("save-edit", "Save"), ("cancel-edit", "Cancel")] {
            let b = dom::text_element(doc, "button", "", label)?;
            b.set_attribute("type", "button")?;
            b.set_attribute("data-action", action)?;
            append(&editor, &b)?;
        }
        append(&li, &editor)?;
        let _ = area.focus();
        let end = u32::try_from(area.value().encode_utf16().count()).unwrap_or(0);
        let _ = area.set_selection_range(end, end);
        Ok(())
    }

    /// The text in the open inline editor.
    pub fn editor_value(&self) -> Option<String> {
        let area = dom::query(&self.list, ".bc-editor textarea")?;
        area.dyn_ref::<HtmlTextAreaElement>().map(|a| a.value())
    }

    /// Removes the inline editor and puts the caret back in the input.
    pub fn close_editor(&self) {
        for editor in dom::query_all(&self.list, ".bc-editor") {
            if let Some(li) = editor.parent_element() {
                let _ = li.class_list().remove_1("bc-editing");
            }
            editor.remove();
        }
    }

    /// Focuses the message input.
    pub fn focus_input(&self) {
        if let Some(input) = &self.input {
            let _ = input.focus();
        }
    }

    /// Shows "Replying to Bob: …" above the input, or hides it.
    pub fn show_reply(&self, seq: Option<u64>) -> Result<(), DomError> {
        let Some(box_) = &self.reply else {
            return Ok(());
        };
        box_.set_text_content(None);
        match seq {
            None => box_.set_attribute("hidden", "")?,
            Some(seq) => {
                let quote = self
                    .excerpt(seq)
                    .unwrap_or_else(|| format!("message {seq}"));
                let text =
                    dom::text_element(&self.doc, "span", "", &format!("Replying to {quote}"))?;
                append(box_, &text)?;
                let cancel = dom::text_element(&self.doc, "button", "bc-close", "×")?;
                cancel.set_attribute("type", "button")?;
                cancel.set_attribute("data-action", "cancel-reply")?;
                cancel.set_attribute("aria-label", "Cancel the reply")?;
                append(box_, &cancel)?;
                box_.remove_attribute("hidden")?;
                self.focus_input();
            }
        }
        Ok(())
    }

    /// Shows the thread: the parent and its replies, in the side panel.
    pub fn show_thread(&self, parent: &Message, replies: &[Message]) -> Result<(), DomError> {
        let Some(panel) = &self.thread else {
            return Ok(());
        };
        let Some(list) = dom::query(panel, "ol") else {
            return Ok(());
        };
        list.set_text_content(None);
        for m in std::iter::once(parent).chain(replies) {
            let li = message_element(&self.doc, m)?;
            // The copy must not take the conversation item's id.
            li.remove_attribute("id")?;
            li.class_list().add_1("bc-thread-item")?;
            append(&list, &li)?;
        }
        if replies.is_empty() {
            append(
                &list,
                &dom::text_element(&self.doc, "li", "bc-none", "No replies yet.")?,
            )?;
        }
        panel.remove_attribute("hidden")?;
        if !self.body.class_list().contains("bc-info-open") {
            self.body.class_list().add_1("bc-info-open")?;
        }
        Ok(())
    }

    /// Hides the thread panel.
    pub fn close_thread(&self) {
        if let Some(panel) = &self.thread {
            let _ = panel.set_attribute("hidden", "");
        }
    }

    /// Shows the `@` completion list (empty: hidden); `selected` is highlighted.
    pub fn show_mentions(&self, people: &[Person], selected: usize) -> Result<(), DomError> {
        let Some(ul) = &self.mentions else {
            return Ok(());
        };
        ul.set_text_content(None);
        if people.is_empty() {
            ul.set_attribute("hidden", "")?;
            if let Some(input) = &self.input {
                input.remove_attribute("aria-activedescendant")?;
            }
            return Ok(());
        }
        for (i, p) in people.iter().enumerate() {
            let li = dom::text_element(&self.doc, "li", "", &format!("{} (@{})", p.name, p.id))?;
            li.set_id(&format!("bc-mention-{i}"));
            li.set_attribute("role", "option")?;
            li.set_attribute("data-action", "mention")?;
            li.set_attribute("data-user", p.id.as_str())?;
            li.set_attribute(
                "aria-selected",
                if i == selected { "true" } else { "false" },
            )?;
            append(ul, &li)?;
        }
        if let Some(input) = &self.input {
            input.set_attribute("aria-activedescendant", &format!("bc-mention-{selected}"))?;
        }
        ul.remove_attribute("hidden")?;
        Ok(())
    }

    /// Date separators (in the reader's zone) between messages of different
    /// days, fixing what earlier inserts left.
    pub fn refresh_days(&self) {
        let children = self.list.children();
        let items: Vec<Element> = (0..children.length())
            .filter_map(|i| children.item(i))
            .collect();
        let today = local_day(&js_sys::Date::new_0());
        let mut prev: Option<NaiveDate> = None;
        let mut pending: Option<Element> = None;
        for item in items {
            let classes = item.class_list();
            if classes.contains("bc-day") {
                if let Some(old) = pending.replace(item) {
                    old.remove();
                }
                continue;
            }
            if !classes.contains("bc-msg") {
                continue;
            }
            let Some(day) = dom::query(&item, "time[datetime]")
                .and_then(|t| t.get_attribute("datetime"))
                .and_then(|s| local_day(&js_sys::Date::new(&JsValue::from_str(&s))))
            else {
                continue;
            };
            if prev == Some(day) {
                if let Some(sep) = pending.take() {
                    sep.remove();
                }
            } else {
                let key = day.to_string();
                let sep = pending.take();
                let right = sep
                    .as_ref()
                    .is_some_and(|s| dom::data(s, "day").as_deref() == Some(key.as_str()));
                if !right {
                    if let Some(wrong) = sep {
                        wrong.remove();
                    }
                    if let Ok(fresh) = self.day_separator(day, today) {
                        let _ = self.list.insert_before(&fresh, Some(item.as_ref()));
                    }
                }
            }
            prev = Some(day);
        }
        if let Some(sep) = pending {
            sep.remove();
        }
    }

    fn day_separator(&self, day: NaiveDate, today: Option<NaiveDate>) -> Result<Element, DomError> {
        let label = match today {
            Some(today) => state::day_label(day, today),
            None => day.to_string(),
        };
        let li = dom::element(&self.doc, "li", "bc-day")?;
        li.set_attribute("role", "separator")?;
        li.set_attribute("data-day", &day.to_string())?;
        append(&li, &dom::text_element(&self.doc, "span", "", &label)?)?;
        Ok(li)
    }

    /// Whether the reader scrolled to the oldest message shown.
    pub fn at_top(&self) -> bool {
        self.scroller.scroll_top() <= BOTTOM_SLACK_PX
    }

    /// Names the transport in `#bc-conn[data-transport]`.
    pub fn show_transport(&self, name: &str) -> Result<(), DomError> {
        if let Some(conn) = &self.conn {
            conn.set_attribute("data-transport", name)?;
        }
        Ok(())
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

    if let Some(parent) = m.reply_to {
        // Only the live UI adds this (the server's item has no reply link).
        let link = dom::text_element(doc, "a", "bc-reply-to", &format!("↪ reply to #{parent}"))?;
        link.set_attribute("href", &format!("#m-{parent}"))?;
        link.set_attribute("data-action", "thread")?;
        link.set_attribute("data-parent", &parent.to_string())?;
        append(&li, &link)?;
    }

    if m.deleted_at.is_some() {
        append(
            &li,
            &dom::text_element(doc, "div", "bc-body bc-deleted", "(message deleted)")?,
        )?;
    } else {
        let content = if m.html.is_empty() {
            plain_body(doc, &m.body)?
        } else {
            let content = dom::element(doc, "div", "bc-body")?;
            // Rendered by the server's shared safe renderer.
            content.set_inner_html(&m.html);
            content
        };
        append(&li, &content)?;
        if !m.attachments.is_empty() {
            let files = dom::element(doc, "ul", "bc-files")?;
            for file in &m.attachments {
                let item = dom::element(doc, "li", "")?;
                attachment(doc, &item, file)?;
                append(&files, &item)?;
            }
            append(&li, &files)?;
        }
    }
    Ok(li)
}

/// A `div.bc-body` showing markdown source as text, line breaks kept.
fn plain_body(doc: &Document, body: &str) -> Result<Element, DomError> {
    let content = dom::text_element(doc, "div", "bc-body", body)?;
    content.set_attribute("style", "white-space: pre-wrap")?;
    Ok(content)
}

/// A shared file as the server's `popup::attachment` renders it: images as
/// a thumbnail link, other files as a download link with their size.
fn attachment(doc: &Document, parent: &Element, file: &Attachment) -> Result<(), DomError> {
    let image = file
        .content_type
        .as_deref()
        .is_some_and(|t| t.starts_with("image/"));
    // Only our own relative file URLs become links.
    let url = if file.url.starts_with('/') && !file.url.starts_with("//") {
        file.url.as_str()
    } else {
        "#"
    };
    if image {
        let a = dom::element(doc, "a", "bc-file bc-image")?;
        a.set_attribute("href", url)?;
        a.set_attribute("target", "_blank")?;
        a.set_attribute("rel", "noopener")?;
        let img = dom::element(doc, "img", "bc-thumb")?;
        img.set_attribute("src", url)?;
        img.set_attribute("alt", &file.name)?;
        img.set_attribute("loading", "lazy")?;
        append(&a, &img)?;
        append(parent, &a)?;
    } else {
        let a = dom::text_element(doc, "a", "bc-file", &file.name)?;
        a.set_attribute("href", url)?;
        a.set_attribute("download", &file.name)?;
        append(parent, &a)?;
        append(parent, &doc.create_text_node(" "))?;
        append(
            parent,
            &dom::text_element(
                doc,
                "span",
                "bc-size",
                &format!("({})", human_size(file.size)),
            )?,
        )?;
    }
    Ok(())
}

/// An info-panel entry as the server's popup renders it:
/// `<a href download>name</a> (size, by Name)`, all as text.
fn room_file(doc: &Document, parent: &Element, file: &Attachment) -> Result<(), DomError> {
    let url = if file.url.starts_with('/') && !file.url.starts_with("//") {
        file.url.as_str()
    } else {
        "#"
    };
    let a = dom::text_element(doc, "a", "bc-file", &file.name)?;
    a.set_attribute("href", url)?;
    a.set_attribute("download", &file.name)?;
    append(parent, &a)?;
    let by = file
        .uploaded_by
        .as_deref()
        .map(|name| format!(", {name}"))
        .unwrap_or_default();
    append(
        parent,
        &dom::text_element(
            doc,
            "span",
            "bc-size",
            &format!(" ({}{by})", human_size(file.size)),
        )?,
    )?;
    Ok(())
}

/// The files in a `FileList`.
pub fn files_of(list: &web_sys::FileList) -> Vec<File> {
    (0..list.length()).filter_map(|i| list.get(i)).collect()
}

/// 1234567 → "1.2 MB" (as the server says it).
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["bytes", "KB", "MB", "GB"];
    // Sizes are far below 2^52; the conversion is exact enough for one decimal.
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// The element `#id`, or a new `<tag class>` with that id set up by `place`.
fn ensure(
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

/// `Notification.permission` ("default", "granted", "denied"), or `None`
/// where the browser has no notifications.
pub fn notification_permission() -> Option<String> {
    let window = dom::window().ok()?;
    let has = js_sys::Reflect::has(&window, &JsValue::from_str("Notification")).unwrap_or(false);
    if !has {
        return None;
    }
    Some(
        match web_sys::Notification::permission() {
            web_sys::NotificationPermission::Granted => "granted",
            web_sys::NotificationPermission::Denied => "denied",
            _ => "default",
        }
        .to_owned(),
    )
}

/// A date's calendar day in the browser's zone.
fn local_day(date: &js_sys::Date) -> Option<NaiveDate> {
    if date.get_time().is_nan() {
        return None;
    }
    NaiveDate::from_ymd_opt(
        i32::try_from(date.get_full_year()).ok()?,
        date.get_month() + 1,
        date.get_date(),
    )
}

/// The data/CSS name of a presence status.
fn presence_name(presence: Presence) -> &'static str {
    match presence {
        Presence::Active => "active",
        Presence::Away => "away",
        Presence::Idle => "idle",
        Presence::Invisible => "invisible",
    }
}

/// A presence status from its data/CSS name.
fn presence_of(name: &str) -> Option<Presence> {
    match name {
        "active" => Some(Presence::Active),
        "away" => Some(Presence::Away),
        "idle" => Some(Presence::Idle),
        "invisible" => Some(Presence::Invisible),
        _ => None,
    }
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
        .map(|c| case::upper(c.encode_utf8(&mut [0; 4])))
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
