//! A thin wrapper over web-sys: finding and casting elements, and owned
//! event listeners and timers that unregister themselves when dropped.
//!
//! The rest of the crate never calls `dyn_into` or `Closure::new` directly;
//! it asks for "the `<textarea>` called `#bc-input`" or "call me on `submit`"
//! and gets a typed value or a [`DomError`] back.

use std::fmt;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Document, Element, EventTarget, HtmlElement, Window};

/// Something the page did not have or the browser refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomError {
    /// No `window` or `document` (not running in a browser page).
    NoDocument,
    /// A required element is missing; holds its selector.
    Missing(String),
    /// An element exists but is not the kind we need; holds its selector.
    WrongKind(String),
    /// A browser API threw; holds its message.
    Js(String),
}

impl fmt::Display for DomError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DomError::NoDocument => f.write_str("no browser document"),
            DomError::Missing(sel) => write!(f, "missing element {sel}"),
            DomError::WrongKind(sel) => write!(f, "unexpected element type for {sel}"),
            DomError::Js(msg) => write!(f, "browser error: {msg}"),
        }
    }
}

impl std::error::Error for DomError {}

impl From<JsValue> for DomError {
    fn from(value: JsValue) -> Self {
        let text = value
            .dyn_ref::<js_sys::Error>()
            .map(|e| String::from(e.message()))
            .or_else(|| value.as_string())
            .unwrap_or_else(|| format!("{value:?}"));
        DomError::Js(text)
    }
}

/// The global `window`.
pub fn window() -> Result<Window, DomError> {
    web_sys::window().ok_or(DomError::NoDocument)
}

/// The page's `document`.
pub fn document() -> Result<Document, DomError> {
    window()?.document().ok_or(DomError::NoDocument)
}

/// The first element matching `selector` under `root`, if any.
pub fn query(root: &impl AsRef<Element>, selector: &str) -> Option<Element> {
    root.as_ref().query_selector(selector).ok().flatten()
}

/// The first element matching `selector` in `doc`, cast to `T`.
pub fn find<T: JsCast>(doc: &Document, selector: &str) -> Result<T, DomError> {
    let el = doc
        .query_selector(selector)?
        .ok_or_else(|| DomError::Missing(selector.to_owned()))?;
    el.dyn_into::<T>()
        .map_err(|_| DomError::WrongKind(selector.to_owned()))
}

/// Like [`find`], but an absent element is `None` rather than an error.
pub fn find_optional<T: JsCast>(doc: &Document, selector: &str) -> Result<Option<T>, DomError> {
    match find(doc, selector) {
        Ok(el) => Ok(Some(el)),
        Err(DomError::Missing(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Every element matching `selector` under `root`, in document order.
pub fn query_all(root: &impl AsRef<Element>, selector: &str) -> Vec<Element> {
    let Ok(list) = root.as_ref().query_selector_all(selector) else {
        return Vec::new();
    };
    (0..list.length())
        .filter_map(|i| list.item(i))
        .filter_map(|n| n.dyn_into::<Element>().ok())
        .collect()
}

/// A new element `<tag class="class">`.
pub fn element(doc: &Document, tag: &str, class: &str) -> Result<Element, DomError> {
    let el = doc.create_element(tag)?;
    if !class.is_empty() {
        el.set_class_name(class);
    }
    Ok(el)
}

/// A new element whose text (never markup) is `text`.
pub fn text_element(
    doc: &Document,
    tag: &str,
    class: &str,
    text: &str,
) -> Result<Element, DomError> {
    let el = element(doc, tag, class)?;
    el.set_text_content(Some(text));
    Ok(el)
}

/// The `data-*` attribute `name` (without the `data-` prefix) of `el`.
pub fn data(el: &Element, name: &str) -> Option<String> {
    el.get_attribute(&format!("data-{name}"))
}

/// `el` as an `HtmlElement`, for focus, `hidden` and the like.
pub fn html(el: &Element) -> Option<&HtmlElement> {
    el.dyn_ref::<HtmlElement>()
}

/// `count` random bytes as lowercase hex, from `crypto.getRandomValues` (or
/// `Math.random` where that is unavailable, e.g. an insecure context).
pub fn random_hex(count: usize) -> String {
    let mut bytes = vec![0u8; count];
    let filled = window()
        .ok()
        .and_then(|w| w.crypto().ok())
        .is_some_and(|c| c.get_random_values_with_u8_array(&mut bytes).is_ok());
    if !filled {
        for b in &mut bytes {
            // Math.random() is in [0, 1); the product is in [0, 256).
            *b = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An event listener that is removed from its target when dropped.
pub struct Listener {
    target: EventTarget,
    event: &'static str,
    callback: Closure<dyn FnMut(web_sys::Event)>,
}

impl Listener {
    /// Calls `f` for every `event` on `target` until the listener is dropped.
    pub fn new(
        target: &EventTarget,
        event: &'static str,
        f: impl FnMut(web_sys::Event) + 'static,
    ) -> Result<Self, DomError> {
        let callback = Closure::<dyn FnMut(web_sys::Event)>::new(f);
        target.add_event_listener_with_callback(event, callback.as_ref().unchecked_ref())?;
        Ok(Listener {
            target: target.clone(),
            event,
            callback,
        })
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        // Nothing useful to do if the browser refuses; the closure is freed either way.
        let _ = self.target.remove_event_listener_with_callback(
            self.event,
            self.callback.as_ref().unchecked_ref(),
        );
    }
}

/// A `setTimeout` that is cancelled when dropped.
pub struct Timeout {
    handle: i32,
    _callback: Closure<dyn FnMut()>,
}

impl Timeout {
    /// Calls `f` once after `ms` milliseconds, unless dropped first.
    pub fn new(ms: u32, f: impl FnMut() + 'static) -> Result<Self, DomError> {
        let callback = Closure::<dyn FnMut()>::new(f);
        let handle = window()?.set_timeout_with_callback_and_timeout_and_arguments_0(
            callback.as_ref().unchecked_ref(),
            i32::try_from(ms).unwrap_or(i32::MAX),
        )?;
        Ok(Timeout {
            handle,
            _callback: callback,
        })
    }
}

impl Drop for Timeout {
    fn drop(&mut self) {
        if let Ok(w) = window() {
            w.clear_timeout_with_handle(self.handle);
        }
    }
}

/// A `setInterval` that is cancelled when dropped.
pub struct Interval {
    handle: i32,
    _callback: Closure<dyn FnMut()>,
}

impl Interval {
    /// Calls `f` every `ms` milliseconds until dropped.
    pub fn new(ms: u32, f: impl FnMut() + 'static) -> Result<Self, DomError> {
        let callback = Closure::<dyn FnMut()>::new(f);
        let handle = window()?.set_interval_with_callback_and_timeout_and_arguments_0(
            callback.as_ref().unchecked_ref(),
            i32::try_from(ms).unwrap_or(i32::MAX),
        )?;
        Ok(Interval {
            handle,
            _callback: callback,
        })
    }
}

impl Drop for Interval {
    fn drop(&mut self) {
        if let Ok(w) = window() {
            w.clear_interval_with_handle(self.handle);
        }
    }
}
