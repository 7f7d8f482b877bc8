//! The listeners and timers the popup registers, and what each DOM event
//! becomes: a [`Msg`] for [`state`](crate::state), or (for what is only
//! the browser's business: the clipboard, the notification prompt, the info
//! panel) a call on the view. Clicks are delegated: every button the UI adds
//! carries `data-action`, and one listener on the body dispatches them.

use super::{callback, message_at, target_of, warn, Inner};
use crate::dom::{self, DomError, Interval, Listener};
use crate::state::{self, Msg, UploadMsg};
use protocol::UserId;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use web_sys::KeyboardEvent;

impl Inner {
    /// Registers the listeners and timers.
    pub(super) fn wire(self: &Rc<Self>) -> Result<(), DomError> {
        let mut listeners = Vec::new();
        let doc = self.view.doc().clone();
        if let (Some(form), Some(input)) = (self.view.form(), self.view.input()) {
            listeners.push(Listener::new(
                form,
                "submit",
                callback(self, |inner, e: web_sys::Event| {
                    // With the app running, sends queue in the outbox and go
                    // out over whichever transport is up (or once one is).
                    e.prevent_default();
                    inner.submit();
                }),
            )?);
            listeners.push(Listener::new(
                input,
                "keydown",
                callback(self, |inner, e: web_sys::Event| {
                    if let Some(key) = e.dyn_ref::<KeyboardEvent>() {
                        inner.input_key(&e, key);
                    }
                }),
            )?);
            listeners.push(Listener::new(
                input,
                "input",
                callback(self, |inner, _e: web_sys::Event| {
                    inner.dispatch(Msg::DraftChanged(inner.view.input_value()));
                    inner.complete_mentions();
                }),
            )?);
            listeners.push(Listener::new(
                input,
                "paste",
                callback(self, |inner, e: web_sys::Event| inner.paste(&e)),
            )?);
        }
        let list: web_sys::EventTarget = self.view.list().clone().into();
        for event in ["mouseover", "focusin"] {
            listeners.push(Listener::new(
                &list,
                event,
                callback(self, |inner, e: web_sys::Event| {
                    let Some((li, seq)) = target_of(&e).as_ref().and_then(message_at) else {
                        return;
                    };
                    let mine = inner.model.borrow().is_mine(seq);
                    if let Err(err) = inner.view.place_actions(&li, mine) {
                        warn(&err);
                    }
                }),
            )?);
        }
        listeners.push(Listener::new(
            &list,
            "keydown",
            callback(self, |inner, e: web_sys::Event| {
                // Keys in the inline editor.
                let Some(key) = e.dyn_ref::<KeyboardEvent>() else {
                    return;
                };
                let in_editor =
                    target_of(&e).is_some_and(|t| t.class_list().contains("bc-edit-input"));
                if !in_editor {
                    return;
                }
                let plain = !(key.shift_key() || key.alt_key() || key.ctrl_key() || key.meta_key());
                if key.key() == "Escape" {
                    e.prevent_default();
                    inner.dispatch(Msg::EditCancelled);
                    inner.view.focus_input();
                } else if key.key() == "Enter" && plain && !key.is_composing() {
                    e.prevent_default();
                    let body = inner.view.editor_value().unwrap_or_default();
                    inner.dispatch(Msg::EditSubmitted(body));
                    inner.view.focus_input();
                }
            }),
        )?);
        if let Some(file) = self.view.file_input() {
            listeners.push(Listener::new(
                file,
                "change",
                callback(self, |inner, _e: web_sys::Event| {
                    for f in inner.view.take_chosen_files() {
                        inner.queue_file(f.clone().into(), f.name());
                    }
                }),
            )?);
        }
        if let Some(body) = doc.body() {
            // Files dropped anywhere on the popup (the conversation is most
            // of it) are shared; without this the browser would open them.
            for event in ["dragenter", "dragover", "dragleave", "drop"] {
                listeners.push(Listener::new(
                    &body,
                    event,
                    callback(self, move |inner, e: web_sys::Event| inner.drag(event, &e)),
                )?);
            }
            listeners.push(Listener::new(
                &body,
                "click",
                callback(self, |inner, e: web_sys::Event| inner.click(&e)),
            )?);
            // Browsers let audio start only after a gesture.
            listeners.push(Listener::new(
                &body,
                "keydown",
                callback(self, |inner, _e: web_sys::Event| inner.view.unlock_audio()),
            )?);
        }
        let scroller: web_sys::EventTarget = self.view.scroller().clone().into();
        listeners.push(Listener::new(
            &scroller,
            "scroll",
            callback(self, |inner, _e: web_sys::Event| {
                inner.dispatch(Msg::Scrolled {
                    at_bottom: inner.view.at_bottom(),
                    at_top: inner.view.at_top(),
                });
            }),
        )?);
        let doc_target: web_sys::EventTarget = doc.clone().into();
        listeners.push(Listener::new(
            &doc_target,
            "visibilitychange",
            callback(self, |inner, _e: web_sys::Event| inner.visibility()),
        )?);
        let window: web_sys::EventTarget = dom::window()?.into();
        for event in ["focus", "blur"] {
            listeners.push(Listener::new(
                &window,
                event,
                callback(self, |inner, _e: web_sys::Event| inner.visibility()),
            )?);
        }
        listeners.push(Listener::new(
            &window,
            "online",
            callback(self, |inner, _e: web_sys::Event| {
                inner.dispatch(Msg::NetworkOnline)
            }),
        )?);
        *self.listeners.borrow_mut() = listeners;

        let tick = callback(self, |inner, ()| inner.dispatch(Msg::Tick));
        *self.keepalive.borrow_mut() =
            Some(Interval::new(state::PING_INTERVAL_MS, move || tick(()))?);
        let clock = callback(self, |inner, ()| inner.dispatch(Msg::Clock));
        *self.clock.borrow_mut() = Some(Interval::new(state::CLOCK_MS, move || clock(()))?);
        Ok(())
    }

    pub(super) fn visibility(self: &Rc<Self>) {
        let doc = self.view.doc();
        self.dispatch(Msg::Visibility {
            hidden: doc.hidden(),
            focused: doc.has_focus().unwrap_or(true),
        });
    }

    /// A click anywhere: buttons with `data-action`.
    pub(super) fn click(self: &Rc<Self>, e: &web_sys::Event) {
        self.view.unlock_audio();
        let Some(target) = target_of(e) else { return };
        let Some(button) = target.closest("[data-action]").ok().flatten() else {
            return;
        };
        let action = dom::data(&button, "action").unwrap_or_default();
        let at = message_at(&button).map(|(_, seq)| seq);
        match action.as_str() {
            "reply" => self.dispatch(Msg::ReplyTo(at)),
            "thread" => {
                e.prevent_default();
                let parent = dom::data(&button, "parent")
                    .and_then(|p| p.parse().ok())
                    .or(at);
                if let Some(seq) = parent {
                    self.dispatch(Msg::OpenThread(seq));
                }
            }
            "edit" => self.dispatch(Msg::StartEdit(at)),
            "delete" => {
                let Some(seq) = at else { return };
                let sure = dom::window()
                    .ok()
                    .and_then(|w| w.confirm_with_message("Delete this message?").ok())
                    .unwrap_or(false);
                if sure {
                    self.dispatch(Msg::Delete(seq));
                }
            }
            "link" => {
                if let Some(seq) = at {
                    self.copy_link(seq);
                }
            }
            "save-edit" => {
                let body = self.view.editor_value().unwrap_or_default();
                self.dispatch(Msg::EditSubmitted(body));
                self.view.focus_input();
            }
            "cancel-edit" => {
                self.dispatch(Msg::EditCancelled);
                self.view.focus_input();
            }
            "cancel-reply" => {
                self.dispatch(Msg::ReplyTo(None));
                self.view.focus_input();
            }
            "jump" => self.dispatch(Msg::JumpToBottom),
            "mute" => self.dispatch(Msg::ToggleMute),
            "notify" => self.ask_notifications(),
            "toggle-info" => {
                if let Err(err) = self.view.toggle_info() {
                    warn(&err);
                }
            }
            "close-thread" => self.dispatch(Msg::CloseThread),
            "cancel-upload" => {
                if let Some(id) = dom::data(&button, "upload").and_then(|s| s.parse().ok()) {
                    self.dispatch(Msg::Upload(UploadMsg::Cancel(id)));
                    self.view.focus_input();
                }
            }
            "mention" => {
                if let Some(id) = dom::data(&button, "user") {
                    self.pick_mention(Some(UserId::new(id)));
                }
            }
            _ => {}
        }
    }

    /// Asks for notification permission (on this click, a user gesture).
    pub(super) fn ask_notifications(self: &Rc<Self>) {
        let Ok(promise) = web_sys::Notification::request_permission() else {
            return;
        };
        let weak = Rc::downgrade(self);
        wasm_bindgen_futures::spawn_local(async move {
            let answer = wasm_bindgen_futures::JsFuture::from(promise).await;
            let granted = answer
                .ok()
                .and_then(|v| v.as_string())
                .is_some_and(|s| s == "granted");
            if let Some(inner) = weak.upgrade() {
                inner.view.hide_notify_button();
                inner.dispatch(Msg::NotifyPermission(granted));
            }
        });
    }

    /// Copies `/rooms/{id}#m-{seq}` (absolute) to the clipboard.
    pub(super) fn copy_link(self: &Rc<Self>, seq: u64) {
        let Ok(window) = dom::window() else { return };
        let origin = window.location().origin().unwrap_or_default();
        let room = self.model.borrow().room.clone();
        let link = format!("{origin}/rooms/{room}#m-{seq}");
        let promise = window.navigator().clipboard().write_text(&link);
        let weak = Rc::downgrade(self);
        wasm_bindgen_futures::spawn_local(async move {
            let copied = wasm_bindgen_futures::JsFuture::from(promise).await.is_ok();
            if let Some(inner) = weak.upgrade() {
                let text = if copied {
                    "Link copied.".to_owned()
                } else {
                    format!("Link: {link}")
                };
                inner.view.announce(&text);
                if !copied {
                    inner.dispatch(Msg::Failed(text));
                }
            }
        });
    }
}
