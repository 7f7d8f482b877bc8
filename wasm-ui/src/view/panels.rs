//! Everything around the conversation: the connection badge, notices, the
//! info panel's people lists, "is typing", screen-reader announcements, the
//! `@` completion list, the upload list and drop highlight, the "new
//! messages" button, the title count, beeps, notifications and mute.

use super::{append, View};
use crate::dom::{self, DomError};
use crate::state::{ConnState, Person, Upload};
use protocol::size::human_size;
use protocol::{Presence, UserId};
use wasm_bindgen::JsValue;
use web_sys::{AudioContext, Document, Element, Node};

/// Where the mute setting is kept between visits.
const MUTE_KEY: &str = "backchannel.muted";

impl View {
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

    /// Names the transport in `#bc-conn[data-transport]`.
    pub fn show_transport(&self, name: &str) -> Result<(), DomError> {
        if let Some(conn) = &self.conn {
            conn.set_attribute("data-transport", name)?;
        }
        Ok(())
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
            self.append_person(&li, p)?;
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
        let here: Vec<(String, String)> = people
            .iter()
            .map(|p| {
                let status = p.presence.map(presence_name).unwrap_or("active");
                (p.id.as_str().to_owned(), status.to_owned())
            })
            .collect();
        self.mark_members(&here)
    }

    /// Puts the members panel the server rendered (`section#bc-people`,
    /// escaped by the server like the rest of the page) in place of the one
    /// on screen, then marks who is here now in it.
    pub fn replace_people(&self, html: &str) -> Result<(), DomError> {
        let Some(panel) = dom::find_optional::<Element>(&self.doc, "#bc-people")? else {
            return Ok(());
        };
        if !html.trim_start().starts_with("<section id=\"bc-people\"") {
            return Err(DomError::Js(
                "the people panel answered something else".to_owned(),
            ));
        }
        panel.set_outer_html(html);
        if let Some(ul) = &self.present {
            let here: Vec<(String, String)> = dom::query_all(ul, "li[data-user]")
                .iter()
                .filter_map(|li| {
                    Some((
                        li.get_attribute("data-user")?,
                        li.get_attribute("data-presence")?,
                    ))
                })
                .collect();
            self.mark_members(&here)?;
        }
        Ok(())
    }

    /// Shows each member's status from "Here now": their presence if they
    /// are here, offline if not; invited people stay invited.
    fn mark_members(&self, here: &[(String, String)]) -> Result<(), DomError> {
        let Some(list) = dom::find_optional::<Element>(&self.doc, "#bc-members")? else {
            return Ok(());
        };
        for li in dom::query_all(&list, "li[data-user]") {
            if li.get_attribute("data-status").as_deref() == Some("invited") {
                continue;
            }
            let user = li.get_attribute("data-user").unwrap_or_default();
            let status = here
                .iter()
                .find(|(id, _)| *id == user)
                .map_or("offline", |(_, presence)| presence.as_str());
            li.set_attribute("data-status", status)?;
            if let Some(span) = dom::query(&li, ".bc-status") {
                span.set_text_content(Some(&format!("({status})")));
            }
        }
        Ok(())
    }

    /// `user`'s small picture in the info panel's lists, put in, changed
    /// or taken out (`None`).
    pub(super) fn show_list_face(&self, user: &UserId, url: Option<&str>) -> Result<(), DomError> {
        for list in [&self.present, &self.participants].into_iter().flatten() {
            for li in dom::query_all(list, "li[data-user]") {
                if li.get_attribute("data-user").as_deref() != Some(user.as_str()) {
                    continue;
                }
                let old = dom::query(&li, "img.bc-face");
                match (old, url) {
                    (Some(img), Some(url)) => img.set_attribute("src", url)?,
                    (Some(img), None) => img.remove(),
                    (None, Some(url)) => {
                        if let Some(name) = dom::query(&li, ".bc-person") {
                            let img = face_image(&self.doc, url)?;
                            li.insert_before(&img, Some(name.as_ref()))?;
                            li.insert_before(&self.doc.create_text_node(" "), Some(name.as_ref()))?;
                        }
                    }
                    (None, None) => {}
                }
            }
        }
        Ok(())
    }

    /// A person in a list, as the server renders one: their picture (if
    /// the page knows it) and their name, linking to their profile.
    fn append_person(&self, li: &Element, p: &Person) -> Result<(), DomError> {
        if let Some(url) = self.face_of(&p.id) {
            append(li, &face_image(&self.doc, &url)?)?;
            append(li, &self.doc.create_text_node(" "))?;
        }
        let link = dom::text_element(&self.doc, "a", "bc-person", &p.name)?;
        let id = String::from(js_sys::encode_uri_component(p.id.as_str()));
        link.set_attribute("href", &format!("/users/{id}"))?;
        append(li, &link)
    }

    /// Rebuilds the participants list, most recent first.
    pub fn show_participants(&self, people: &[Person]) -> Result<(), DomError> {
        let Some(ul) = &self.participants else {
            return Ok(());
        };
        // The server gave each person other than me a "Message" form (to
        // open the direct room); keep offering it. Its token is the page's.
        let me = self
            .doc
            .body()
            .and_then(|body| body.get_attribute("data-user"))
            .unwrap_or_default();
        let csrf =
            dom::find_optional::<web_sys::HtmlInputElement>(&self.doc, r#"input[name="csrf"]"#)?
                .map(|input| input.value());
        ul.set_text_content(None);
        for p in people {
            let li = dom::element(&self.doc, "li", "")?;
            li.set_attribute("data-user", p.id.as_str())?;
            self.append_person(&li, p)?;
            if let Some(csrf) = csrf
                .as_deref()
                .filter(|_| !me.is_empty() && p.id.as_str() != me)
            {
                append(&li, &self.doc.create_text_node(" "))?;
                append(&li, &self.message_form(csrf, p)?)?;
            }
            append(ul, &li)?;
        }
        Ok(())
    }

    /// The "Message" button the server renders beside a person: a form
    /// posting to `/chats/direct`, which opens the direct room.
    fn message_form(&self, csrf: &str, person: &Person) -> Result<Element, DomError> {
        let form = dom::element(&self.doc, "form", "bc-inline")?;
        form.set_attribute("method", "post")?;
        form.set_attribute("action", "/chats/direct")?;
        for (name, value) in [("csrf", csrf), ("person", person.id.as_str())] {
            let input = dom::element(&self.doc, "input", "")?;
            input.set_attribute("type", "hidden")?;
            input.set_attribute("name", name)?;
            input.set_attribute("value", value)?;
            append(&form, &input)?;
        }
        let button = dom::text_element(&self.doc, "button", "bc-message", "Message")?;
        button.set_attribute("type", "submit")?;
        button.set_attribute("aria-label", &format!("Message {}", person.name))?;
        append(&form, &button)?;
        Ok(form)
    }

    /// The commands matching the `/name` being typed, under the form's top
    /// edge (`""`: hidden). Made on first use; a polite live region, so a
    /// screen reader hears the matches as they narrow.
    pub fn show_command_hint(&self, hint: &str) -> Result<(), DomError> {
        let Some(form) = &self.form else {
            return Ok(());
        };
        let el = match self.doc.get_element_by_id("bc-command-hint") {
            Some(el) => el,
            None if hint.is_empty() => return Ok(()),
            None => {
                let el = dom::element(&self.doc, "div", "bc-command-hint")?;
                el.set_id("bc-command-hint");
                el.set_attribute("aria-live", "polite")?;
                form.insert_before(&el, form.first_child().as_ref())?;
                el
            }
        };
        el.set_text_content(Some(hint));
        if hint.is_empty() {
            el.set_attribute("hidden", "")?;
        } else {
            el.remove_attribute("hidden")?;
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

/// `<img class="bc-face">`: a small picture before a name.
fn face_image(doc: &Document, url: &str) -> Result<Element, DomError> {
    let img = dom::element(doc, "img", "bc-face")?;
    img.set_attribute("src", url)?;
    img.set_attribute("alt", "")?;
    img.set_attribute("width", "20")?;
    img.set_attribute("height", "20")?;
    Ok(img)
}
