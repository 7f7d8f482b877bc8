//! The message input: Enter sends, Up edits my last message, Esc cancels a
//! reply, `@` completion keys, and pastes (images become uploads, code or
//! several lines a fenced block). The DOM counts the caret in UTF-16 units,
//! [`state`](crate::state) in bytes; the conversions live here.

use super::Inner;
use crate::dom;
use crate::state::{self, Msg};
use crate::view;
use protocol::UserId;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use web_sys::{ClipboardEvent, DataTransfer, HtmlTextAreaElement, KeyboardEvent};

impl Inner {
    /// Keys in the message input: completion, Esc, Up, Enter.
    pub(super) fn input_key(self: &Rc<Self>, e: &web_sys::Event, key: &KeyboardEvent) {
        let name = key.key();
        let plain = !(key.shift_key() || key.alt_key() || key.ctrl_key() || key.meta_key());
        let open = !self.model.borrow().completions().is_empty();
        if open {
            match name.as_str() {
                "ArrowDown" | "ArrowUp" => {
                    e.prevent_default();
                    self.dispatch(Msg::MentionMove {
                        down: name == "ArrowDown",
                    });
                    return;
                }
                "Enter" | "Tab" if plain => {
                    e.prevent_default();
                    self.pick_mention(None);
                    return;
                }
                "Escape" => {
                    e.prevent_default();
                    self.dispatch(Msg::MentionsClosed);
                    return;
                }
                _ => {}
            }
        }
        match name.as_str() {
            "Tab" if plain && self.model.borrow().typing_command() => {
                e.prevent_default();
                self.dispatch(Msg::CompleteCommand);
            }
            "Escape" => {
                let replying = self.model.borrow().reply_to.is_some();
                if replying {
                    e.prevent_default();
                    self.dispatch(Msg::ReplyTo(None));
                }
            }
            "ArrowUp" if plain && self.view.input_value().is_empty() => {
                self.dispatch(Msg::StartEdit(None));
                if self.model.borrow().editing.is_some() {
                    e.prevent_default();
                }
            }
            // Enter sends; Shift+Enter (and IME composition) inserts a newline.
            "Enter" if plain && !key.is_composing() => {
                e.prevent_default();
                self.submit();
            }
            _ => {}
        }
    }

    /// The input's text and its caret as a byte offset.
    pub(super) fn text_and_caret(&self) -> Option<(String, usize)> {
        let input = self.view.input()?;
        let text = input.value();
        let caret = byte_offset(&text, input.selection_start().ok().flatten().unwrap_or(0));
        Some((text, caret))
    }

    /// Asks for `@` completions for the word at the caret.
    pub(super) fn complete_mentions(self: &Rc<Self>) {
        if let Some((text, caret)) = self.text_and_caret() {
            self.dispatch(Msg::MentionQuery { text, caret });
        }
    }

    /// Completes the `@word` at the caret with `user` (`None`: the highlighted one).
    pub(super) fn pick_mention(self: &Rc<Self>, user: Option<UserId>) {
        if let Some((text, caret)) = self.text_and_caret() {
            self.dispatch(Msg::MentionPick { user, text, caret });
        }
    }

    /// Pasted images are uploaded; multi-line or code-like pastes go in as a
    /// fenced block.
    pub(super) fn paste(self: &Rc<Self>, e: &web_sys::Event) {
        let data = e
            .dyn_ref::<ClipboardEvent>()
            .and_then(ClipboardEvent::clipboard_data);
        let images: Vec<web_sys::File> = data
            .as_ref()
            .and_then(DataTransfer::files)
            .map(|list| view::files_of(&list))
            .unwrap_or_default()
            .into_iter()
            .filter(|f| f.type_().starts_with("image/"))
            .collect();
        if !images.is_empty() {
            e.prevent_default();
            for image in images {
                let name = state::pasted_name(&image.type_(), js_sys::Date::now());
                self.queue_file(image.into(), name);
            }
            return;
        }
        let Some(text) = data.and_then(|d| d.get_data("text/plain").ok()) else {
            return;
        };
        let Some(block) = state::fence_paste(&text) else {
            return;
        };
        let Some(input) = self.view.input() else {
            return;
        };
        e.prevent_default();
        insert_block(input, &block);
        self.dispatch(Msg::DraftChanged(input.value()));
    }

    /// Sends what is in the input.
    pub(super) fn submit(self: &Rc<Self>) {
        self.dispatch(Msg::MentionsClosed);
        let body = self.view.input_value();
        self.dispatch(Msg::Submit {
            body,
            client_msg_id: dom::random_hex(16),
        });
    }
}

/// UTF-16 offset (as the DOM counts) to a byte offset in `text`.
pub(super) fn byte_offset(text: &str, utf16: u32) -> usize {
    let mut units = 0u32;
    for (i, c) in text.char_indices() {
        if units >= utf16 {
            return i;
        }
        units += u32::try_from(c.len_utf16()).unwrap_or(2);
    }
    text.len()
}

/// Byte offset in `text` to a UTF-16 offset.
pub(super) fn utf16_offset(text: &str, byte: usize) -> u32 {
    let prefix = text.get(..byte).unwrap_or(text);
    u32::try_from(prefix.encode_utf16().count()).unwrap_or(u32::MAX)
}

/// Inserts `block` at the input's selection and puts the caret after it.
fn insert_block(input: &HtmlTextAreaElement, block: &str) {
    let start = input.selection_start().ok().flatten().unwrap_or(0);
    let end = input.selection_end().ok().flatten().unwrap_or(start);
    let value = input.value();
    let before = &value[..byte_offset(&value, start)];
    // Start the block on its own line.
    let lead = if before.is_empty() || before.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    let text = format!("{lead}{block}");
    if input
        .set_range_text_with_start_and_end(&text, start, end)
        .is_ok()
    {
        let caret = start + u32::try_from(text.encode_utf16().count()).unwrap_or(0);
        let _ = input.set_selection_range(caret, caret);
    }
}
