//! Messages in the DOM, in the server's markup: rendering live and older
//! ones in seq order, "sending…" placeholders, the missed-messages divider,
//! the hover actions, the inline editor, the reply quote and the thread
//! panel, attachments and the info panel's file list.

use super::time::local_time;
use super::{append, View};
use crate::case;
use crate::dom::{self, DomError};
use crate::state;
use chrono::SecondsFormat;
use protocol::size::human_size;
use protocol::{Attachment, Message, UserId};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Document, Element, HtmlElement, HtmlTextAreaElement, Node};

impl View {
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

    /// The picture `user`'s messages show: what a profile event said, else
    /// what their newest message on screen shows (the server rendered it).
    pub(super) fn face_of(&self, user: &UserId) -> Option<String> {
        if let Some(known) = self.faces.borrow().get(user) {
            return known.clone();
        }
        dom::query_all(&self.list, "li.bc-msg")
            .into_iter()
            .rev()
            .find(|li| li.get_attribute("data-author").as_deref() == Some(user.as_str()))
            .and_then(|li| dom::query(&li, "img.bc-avatar"))
            .and_then(|img| img.get_attribute("src"))
    }

    /// `user` changed their picture (`None`: back to the letter): every
    /// message of theirs on screen shows it, and so will new ones.
    pub fn show_face(&self, user: &UserId, url: Option<&str>) -> Result<(), DomError> {
        self.faces
            .borrow_mut()
            .insert(user.clone(), url.map(str::to_owned));
        for li in dom::query_all(&self.list, "li.bc-msg") {
            if li.get_attribute("data-author").as_deref() != Some(user.as_str()) {
                continue;
            }
            let Some(old) = dom::query(&li, ".bc-avatar") else {
                continue;
            };
            let new = match url {
                Some(url) => picture(&self.doc, url)?,
                None => {
                    let name = dom::query(&li, ".bc-author")
                        .and_then(|a| a.text_content())
                        .unwrap_or_default();
                    avatar(&self.doc, &name)?
                }
            };
            old.replace_with_with_node_1(new.as_ref())?;
        }
        self.show_list_face(user, url)
    }

    /// A message item with what only the live UI adds: my mentions marked
    /// and the replied-to message quoted when it is on screen.
    fn message_element(&self, m: &Message) -> Result<Element, DomError> {
        let li = message_element(&self.doc, m)?;
        if let Some(url) = self.face_of(&m.author) {
            if let Some(letter) = dom::query(&li, ".bc-avatar") {
                letter.replace_with_with_node_1(picture(&self.doc, &url)?.as_ref())?;
            }
        }
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
        if m.action().is_some() {
            // "* Alice waves": the server's html is the text after `/me `.
            li.class_list().add_1("bc-action")?;
            let actor =
                dom::text_element(doc, "span", "bc-actor", &format!("* {} ", m.author_name))?;
            content.insert_before(&actor, content.first_child().as_ref())?;
        }
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

/// A `div.bc-body.bc-plain` showing markdown source as text, line breaks
/// kept by the stylesheet (a `style` attribute would be refused by the
/// popup's CSP, which allows no inline style).
fn plain_body(doc: &Document, body: &str) -> Result<Element, DomError> {
    dom::text_element(doc, "div", "bc-body bc-plain", body)
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

/// `<span class="bc-avatar" aria-hidden="true">A</span>` for `name`.
fn avatar(doc: &Document, name: &str) -> Result<Element, DomError> {
    let el = dom::text_element(doc, "span", "bc-avatar", &initial(name))?;
    el.set_attribute("aria-hidden", "true")?;
    Ok(el)
}

/// `<img class="bc-avatar">` showing the picture at `url` (as the
/// server's `message_item` renders one).
fn picture(doc: &Document, url: &str) -> Result<Element, DomError> {
    let img = dom::element(doc, "img", "bc-avatar")?;
    img.set_attribute("src", url)?;
    img.set_attribute("alt", "")?;
    img.set_attribute("width", "32")?;
    img.set_attribute("height", "32")?;
    Ok(img)
}

/// The avatar letter: the name's first character, upper-cased (as the server
/// does: empty for an empty name).
pub fn initial(name: &str) -> String {
    name.chars()
        .next()
        .map(|c| case::upper(c.encode_utf8(&mut [0; 4])))
        .unwrap_or_default()
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
}
