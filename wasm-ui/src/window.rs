//! Join Chat in a window of its own (seed 002: "a new popup window with no
//! browser chrome"). A click on a room's Join link opens the room in a
//! sized popup window named after the room, or, if that window is open
//! already, only focuses it (no reload, nothing lost). The popup remembers
//! its size for the next one. When the browser blocks popups, or for a
//! click with a modifier key (open in a tab, in a window), the plain link
//! does what links do, as it does without JavaScript.

use crate::dom::{self, DomError, Listener};
use wasm_bindgen::JsCast;
use web_sys::{Document, Element, MouseEvent, Window};

/// Where the popup's last size is kept (`localStorage`), as `WIDTHxHEIGHT`.
const SIZE_KEY: &str = "bc-popup-size";
/// The size of the first popup, before one was ever resized.
const DEFAULT_SIZE: (i32, i32) = (960, 720);
/// Sizes outside these are not remembered (a minimised or maximised window).
const SIZES: std::ops::RangeInclusive<i32> = 320..=3000;

/// The links that open a room's popup: Join Chat in a macro table, and the
/// room links of `/chats` (its rooms, invitations and notifications).
const LINKS: &str = "a.bc-join[target], a.bc-open[target]";

/// Sends clicks on [`LINKS`] in `doc` to [`open`]; the
/// listener stops when dropped.
pub fn join_links(doc: &Document) -> Result<Listener, DomError> {
    // Says the links are taken over (for tests, and for styles that care).
    if let Some(body) = doc.body() {
        body.set_attribute("data-join-windows", "on")?;
    }
    Listener::new(doc.as_ref(), "click", |event| {
        let Some(click) = event.dyn_ref::<MouseEvent>() else {
            return;
        };
        let plain = click.button() == 0
            && !(click.ctrl_key() || click.meta_key() || click.shift_key() || click.alt_key());
        if !plain {
            return;
        }
        let link = event
            .target()
            .and_then(|target| target.dyn_into::<Element>().ok())
            .and_then(|element| element.closest(LINKS).ok().flatten());
        let Some(link) = link else {
            return;
        };
        let (Some(href), Some(name)) = (link.get_attribute("href"), link.get_attribute("target"))
        else {
            return;
        };
        match open(&href, &name) {
            Ok(true) => event.prevent_default(),
            // Blocked: the link opens the room itself.
            Ok(false) => {}
            Err(err) => web_sys::console::warn_1(&format!("backchannel: {err}").into()),
        }
    })
}

/// Opens `href` in the popup window called `name`, or focuses it if it is
/// open already. False when the browser refused to open a window.
fn open(href: &str, name: &str) -> Result<bool, DomError> {
    let (width, height) = remembered_size();
    let features = format!("popup=yes,width={width},height={height}");
    // An empty URL finds a window of that name without reloading it; a new
    // one starts blank, and is then sent to the room.
    let Some(popup) = dom::window()?.open_with_url_and_target_and_features("", name, &features)?
    else {
        return Ok(false);
    };
    let blank = popup
        .location()
        .href()
        .map_or(true, |at| at == "about:blank");
    if blank {
        popup.location().set_href(href)?;
    }
    popup.focus()?;
    Ok(true)
}

/// The size the last popup had, or [`DEFAULT_SIZE`].
fn remembered_size() -> (i32, i32) {
    let stored = dom::window()
        .ok()
        .and_then(|window| window.local_storage().ok().flatten())
        .and_then(|storage| storage.get_item(SIZE_KEY).ok().flatten());
    stored
        .as_deref()
        .and_then(|text| text.split_once('x'))
        .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
        .filter(|(w, h)| SIZES.contains(w) && SIZES.contains(h))
        .unwrap_or(DEFAULT_SIZE)
}

/// In a popup window (one with an opener): keeps its size for the next one
/// as it is resized; the listener stops when dropped.
pub fn remember_size(window: &Window) -> Result<Option<Listener>, DomError> {
    if window.opener().map_or(true, |opener| opener.is_null()) {
        return Ok(None);
    }
    let listener = Listener::new(window.as_ref(), "resize", |_| {
        let Ok(window) = dom::window() else {
            return;
        };
        let size = (
            window.outer_width().ok().and_then(|w| w.as_f64()),
            window.outer_height().ok().and_then(|h| h.as_f64()),
        );
        let (Some(width), Some(height)) = size else {
            return;
        };
        let (width, height) = (width as i32, height as i32);
        if !(SIZES.contains(&width) && SIZES.contains(&height)) {
            return;
        }
        if let Ok(Some(storage)) = window.local_storage() {
            let _ = storage.set_item(SIZE_KEY, &format!("{width}x{height}"));
        }
    })?;
    Ok(Some(listener))
}
