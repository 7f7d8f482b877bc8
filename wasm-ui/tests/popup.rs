//! The popup's view layer in a real (headless) browser, run with
//! `wasm-pack test --headless --chrome wasm-ui`.
//!
//! Each test parses `fixtures/popup.html` (the server's markup for
//! `/rooms/{room_id}`) into its own document, starts a [`Popup`] on it and
//! feeds it socket events by hand, so no server is needed. The socket URL
//! points at a closed port: the real socket never opens, and every test runs
//! synchronously, so its late `close` cannot interleave.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used)]

use chrono::{TimeZone, Utc};
use protocol::{Event, Message, MessageId, Presence, RoomId, ServerFrame, Unread, UserId};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use wasm_ui::state::Msg;
use wasm_ui::Popup;
use web_sys::{
    Document, DomParser, Element, EventInit, HtmlTextAreaElement, KeyboardEvent, KeyboardEventInit,
    SupportedType,
};

wasm_bindgen_test_configure!(run_in_browser);

const FIXTURE: &str = include_str!("fixtures/popup.html");

/// Nothing listens here, so the socket fails to connect.
const DEAD_URL: &str = "ws://127.0.0.1:9/api/ws";

fn fixture() -> Document {
    DomParser::new()
        .unwrap()
        .parse_from_string(FIXTURE, SupportedType::TextHtml)
        .unwrap()
}

fn start(doc: &Document) -> Popup {
    Popup::start_with_url(doc, DEAD_URL.to_owned()).unwrap()
}

fn connect(popup: &Popup) {
    popup.dispatch(Msg::SocketOpened);
    popup.dispatch(Msg::Frame(ServerFrame::Subscribed {
        room: RoomId::new("r1"),
        last_seq: 1,
    }));
}

/// A message as the server sends it: `html` rendered by the shared renderer.
fn message(seq: u64, author: &str, name: &str, body: &str) -> Message {
    Message {
        id: MessageId::new(format!("id-{seq}")),
        room: RoomId::new("r1"),
        seq,
        author: UserId::new(author),
        author_name: name.into(),
        body: body.into(),
        html: transcript::render_html(body, &Default::default()),
        created_at: Utc.with_ymd_and_hms(2026, 11, 22, 8, 16, 30).unwrap(),
        edited_at: None,
        deleted_at: None,
        reply_to: None,
        client_msg_id: None,
        mentions: vec![],
        attachments: vec![],
    }
}

fn deliver(popup: &Popup, message: Message) {
    popup.dispatch(Msg::Frame(ServerFrame::Event {
        room: RoomId::new("r1"),
        event: Event::Message { message },
    }));
}

fn one(root: &Element, selector: &str) -> Element {
    root.query_selector(selector)
        .unwrap()
        .unwrap_or_else(|| panic!("no {selector}"))
}

fn find(doc: &Document, selector: &str) -> Element {
    one(&doc.document_element().unwrap(), selector)
}

fn count(doc: &Document, selector: &str) -> u32 {
    doc.query_selector_all(selector).unwrap().length()
}

fn body_attr(doc: &Document, name: &str) -> Option<String> {
    doc.body().unwrap().get_attribute(name)
}

/// The element's structure: tag and classes of each child, text nodes as "#text".
fn shape(el: &Element) -> Vec<String> {
    let children = el.child_nodes();
    (0..children.length())
        .filter_map(|i| children.item(i))
        .map(|node| match node.dyn_ref::<Element>() {
            Some(child) => format!("{}.{}", child.tag_name(), child.class_name()),
            None => "#text".to_owned(),
        })
        .collect()
}

fn attribute_names(el: &Element) -> Vec<String> {
    let mut names: Vec<String> = el
        .get_attribute_names()
        .iter()
        .filter_map(|n| n.as_string())
        .collect();
    names.sort();
    names
}

fn press(doc: &Document, key: &str, shift: bool) -> bool {
    let init = KeyboardEventInit::new();
    init.set_key(key);
    init.set_shift_key(shift);
    init.set_cancelable(true);
    init.set_bubbles(true);
    let event = KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
    find(doc, "#bc-input").dispatch_event(&event).unwrap();
    event.default_prevented()
}

fn input(doc: &Document) -> HtmlTextAreaElement {
    find(doc, "#bc-input").dyn_into().unwrap()
}

#[wasm_bindgen_test]
fn subscribing_marks_the_page_connected_and_a_close_marks_it_offline() {
    let doc = fixture();
    let popup = start(&doc);
    assert_eq!(body_attr(&doc, "data-connected").as_deref(), Some("false"));
    let conn = doc.get_element_by_id("bc-conn").unwrap();
    assert_eq!(conn.text_content().as_deref(), Some("connecting…"));

    connect(&popup);
    assert_eq!(body_attr(&doc, "data-connected").as_deref(), Some("true"));
    assert_eq!(conn.text_content().as_deref(), Some("connected"));

    popup.dispatch(Msg::SocketClosed);
    assert_eq!(body_attr(&doc, "data-connected").as_deref(), Some("false"));
    assert_eq!(conn.text_content().as_deref(), Some("offline"));
}

#[wasm_bindgen_test]
fn a_message_event_appends_one_item_in_the_servers_markup_with_the_body_escaped() {
    let doc = fixture();
    let popup = start(&doc);
    connect(&popup);

    let hostile = "**bold** <img src=x onerror=alert(2)>\n\n<script>alert(1)</script>";
    deliver(&popup, message(2, "eve", "Eve <b>&amp;", hostile));

    let list = doc.get_element_by_id("bc-messages").unwrap();
    let li = list.last_element_child().unwrap();
    assert_eq!(li.id(), "m-2");
    assert_eq!(li.class_name(), "bc-msg");
    assert_eq!(li.get_attribute("data-seq").as_deref(), Some("2"));
    assert_eq!(li.get_attribute("data-id").as_deref(), Some("id-2"));
    assert_eq!(li.get_attribute("data-author").as_deref(), Some("eve"));

    // Author and avatar are text, never markup.
    assert_eq!(
        one(&li, ".bc-author").text_content().as_deref(),
        Some("Eve <b>&amp;")
    );
    assert_eq!(one(&li, ".bc-author").child_element_count(), 0);
    assert_eq!(one(&li, ".bc-avatar").text_content().as_deref(), Some("E"));

    // The time: machine-readable UTC like the server's, a local HH:MM label.
    let time = one(&li, "time");
    assert_eq!(
        time.get_attribute("datetime").as_deref(),
        Some("2026-11-22T08:16:30.000Z")
    );
    let label = time.text_content().unwrap();
    assert!(
        label.len() == 5 && label.as_bytes()[2] == b':' && label.ends_with("16"),
        "time label {label:?}"
    );
    assert!(time
        .get_attribute("title")
        .unwrap()
        .starts_with("2026-11-2"));

    // The body: markdown rendered, raw HTML shown as text.
    let body = one(&li, ".bc-body");
    assert!(
        body.query_selector("script, img").unwrap().is_none(),
        "{}",
        body.inner_html()
    );
    assert!(body
        .text_content()
        .unwrap()
        .contains("<script>alert(1)</script>"));
    assert_eq!(one(&body, "strong").text_content().as_deref(), Some("bold"));

    // Same structure and attributes as the item the server rendered.
    let server = doc.get_element_by_id("m-1").unwrap();
    assert_eq!(shape(&li), shape(&server));
    assert_eq!(attribute_names(&li), attribute_names(&server));
    assert_eq!(
        attribute_names(&time),
        attribute_names(&one(&server, "time"))
    );

    assert_eq!(body_attr(&doc, "data-last-seq").as_deref(), Some("2"));

    // A duplicate delivery (replay after reconnect) changes nothing.
    deliver(&popup, message(2, "eve", "Eve <b>&amp;", hostile));
    deliver(&popup, message(1, "bob", "Bob", "Hello **world**"));
    assert_eq!(count(&doc, "#bc-messages li.bc-msg"), 2);
    assert_eq!(count(&doc, "#m-2"), 1);
}

#[wasm_bindgen_test]
fn a_body_without_html_shows_as_text_never_as_markup() {
    let doc = fixture();
    let popup = start(&doc);
    connect(&popup);

    // What a server that did not render it would send: the source, as text.
    let source = "**not bold** <img src=x onerror=alert(2)>\nline two";
    let mut bare = message(2, "eve", "Eve", source);
    bare.html.clear();
    deliver(&popup, bare);

    let body = find(&doc, "#m-2 .bc-body");
    assert_eq!(body.child_element_count(), 0, "{}", body.inner_html());
    assert_eq!(body.text_content().as_deref(), Some(source));
}

#[wasm_bindgen_test]
fn enter_sends_and_my_message_shows_once_after_ack_and_event() {
    let doc = fixture();
    let popup = start(&doc);
    connect(&popup);
    let textarea = input(&doc);

    textarea.set_value("first line");
    assert!(!press(&doc, "Enter", true), "Shift+Enter is a newline");
    assert_eq!(textarea.value(), "first line");

    assert!(press(&doc, "Enter", false), "Enter sends, no newline");
    assert_eq!(textarea.value(), "");
    let pending = find(&doc, "li.bc-pending");
    let client_msg_id = pending.get_attribute("data-client-msg-id").unwrap();
    assert_eq!(
        one(&pending, ".bc-body").text_content().unwrap().trim(),
        "first line"
    );

    // The ack and then the event for the same message: one item.
    popup.dispatch(Msg::Frame(ServerFrame::Ack {
        client_msg_id: client_msg_id.clone(),
        id: MessageId::new("id-2"),
        seq: 2,
    }));
    let mut mine = message(2, "alice", "Alice", "first line");
    mine.client_msg_id = Some(client_msg_id);
    deliver(&popup, mine.clone());
    deliver(&popup, mine);
    assert_eq!(count(&doc, "li.bc-pending"), 0);
    assert_eq!(count(&doc, "#bc-messages li.bc-msg"), 2);
    assert_eq!(
        one(&find(&doc, "#m-2"), ".bc-author")
            .text_content()
            .as_deref(),
        Some("Alice")
    );
}

#[wasm_bindgen_test]
fn the_form_is_handled_by_the_app_and_offline_sends_wait_in_order() {
    let doc = fixture();
    let popup = start(&doc);
    let form = doc.get_element_by_id("bc-form").unwrap();
    let submit = || {
        let init = EventInit::new();
        init.set_cancelable(true);
        let event = web_sys::Event::new_with_event_init_dict("submit", &init).unwrap();
        form.dispatch_event(&event).unwrap();
        event.default_prevented()
    };

    input(&doc).set_value("one");
    assert!(submit(), "no page load: the app queues it");
    input(&doc).set_value("two");
    assert!(press(&doc, "Enter", false));
    let pending: Vec<String> = doc
        .query_selector_all("li.bc-pending .bc-body")
        .map(|list| {
            (0..list.length())
                .filter_map(|i| list.item(i))
                .filter_map(|n| n.text_content())
                .map(|s| s.trim().to_owned())
                .collect()
        })
        .unwrap();
    assert_eq!(pending, vec!["one", "two"], "shown in the order typed");
    connect(&popup);
    assert_eq!(input(&doc).value(), "");
    assert_eq!(count(&doc, "li.bc-pending"), 2, "until their events arrive");
}

#[wasm_bindgen_test]
fn presence_events_fill_here_now_and_typing_shows() {
    let doc = fixture();
    let popup = start(&doc);
    connect(&popup);
    popup.dispatch(Msg::Frame(ServerFrame::Event {
        room: RoomId::new("r1"),
        event: Event::Presence {
            user: UserId::new("carol"),
            name: "Carol <i>".into(),
            presence: Some(Presence::Away),
        },
    }));
    let li = find(&doc, "#bc-present li[data-user=carol]");
    assert_eq!(li.get_attribute("data-presence").as_deref(), Some("away"));
    assert!(li.text_content().unwrap().contains("Carol <i> (away)"));
    popup.dispatch(Msg::Frame(ServerFrame::Event {
        room: RoomId::new("r1"),
        event: Event::Typing {
            user: UserId::new("carol"),
            name: "Carol".into(),
        },
    }));
    assert_eq!(
        find(&doc, "#bc-typing").text_content().as_deref(),
        Some("Carol is typing…")
    );
    // A new author joins the participants, first.
    deliver(&popup, message(2, "carol", "Carol", "hi"));
    assert_eq!(
        find(&doc, "#bc-participants li")
            .get_attribute("data-user")
            .as_deref(),
        Some("carol")
    );
    assert_eq!(find(&doc, "#bc-typing").text_content().as_deref(), Some(""));
    popup.dispatch(Msg::Frame(ServerFrame::Event {
        room: RoomId::new("r1"),
        event: Event::Presence {
            user: UserId::new("carol"),
            name: "Carol".into(),
            presence: None,
        },
    }));
    assert_eq!(count(&doc, "#bc-present li[data-user]"), 0);
}

#[wasm_bindgen_test]
fn edits_and_deletes_replace_the_item_like_the_server_renders_them() {
    let doc = fixture();
    let popup = start(&doc);
    connect(&popup);
    deliver(&popup, message(2, "alice", "Alice", "first"));
    let mut edited = message(2, "alice", "Alice", "second *try*");
    edited.edited_at = Some(Utc.with_ymd_and_hms(2026, 11, 22, 8, 20, 0).unwrap());
    popup.dispatch(Msg::Frame(ServerFrame::Event {
        room: RoomId::new("r1"),
        event: Event::Edited { message: edited },
    }));
    let li = find(&doc, "#m-2");
    assert_eq!(
        one(&li, ".bc-edited").text_content().as_deref(),
        Some("(edited)")
    );
    assert_eq!(
        one(&li, ".bc-body em").text_content().as_deref(),
        Some("try")
    );

    // Up in the empty input edits my last message; Esc cancels.
    press(&doc, "ArrowUp", false);
    let area: HtmlTextAreaElement = find(&doc, "#m-2 .bc-editor textarea").dyn_into().unwrap();
    assert_eq!(area.value(), "second *try*");
    popup.dispatch(Msg::EditCancelled);
    assert_eq!(count(&doc, ".bc-editor"), 0);

    let mut gone = message(2, "alice", "Alice", "");
    gone.deleted_at = Some(Utc.with_ymd_and_hms(2026, 11, 22, 8, 21, 0).unwrap());
    popup.dispatch(Msg::Frame(ServerFrame::Event {
        room: RoomId::new("r1"),
        event: Event::Deleted { message: gone },
    }));
    let body = find(&doc, "#m-2 .bc-body");
    assert_eq!(body.class_name(), "bc-body bc-deleted");
    assert_eq!(body.text_content().as_deref(), Some("(message deleted)"));
    assert_eq!(count(&doc, "#bc-messages li.bc-msg"), 2);
}

#[wasm_bindgen_test]
fn the_missed_messages_divider_goes_before_the_first_unread() {
    let doc = fixture();
    let popup = start(&doc);
    connect(&popup);
    for seq in 2..=4 {
        deliver(&popup, message(seq, "bob", "Bob", "news"));
    }
    popup.dispatch(Msg::ReadState(Unread::new(2, 4)));
    let divider = find(&doc, "#bc-divider");
    assert_eq!(divider.text_content().as_deref(), Some("New messages"));
    assert_eq!(divider.next_element_sibling().unwrap().id(), "m-3");
    assert_eq!(count(&doc, "#bc-divider"), 1);
}

#[wasm_bindgen_test]
fn one_date_separator_per_day_and_replies_quote_their_parent() {
    let doc = fixture();
    let popup = start(&doc);
    connect(&popup);
    let mut next_day = message(2, "bob", "Bob", "tomorrow");
    next_day.created_at = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap();
    next_day.reply_to = Some(1);
    deliver(&popup, next_day);
    assert_eq!(count(&doc, "#bc-messages li.bc-day"), 2);
    assert_eq!(
        find(&doc, "#m-2")
            .previous_element_sibling()
            .unwrap()
            .class_name(),
        "bc-day"
    );
    let quote = find(&doc, "#m-2 .bc-reply-to");
    assert_eq!(quote.get_attribute("href").as_deref(), Some("#m-1"));
    assert!(quote.text_content().unwrap().contains("Bob: Hello world"));
    // Replying: the quote shows above the input and goes with the send.
    popup.dispatch(Msg::ReplyTo(Some(2)));
    assert!(find(&doc, "#bc-reply")
        .text_content()
        .unwrap()
        .contains("Replying to Bob: tomorrow"));
    input(&doc).set_value("ok");
    press(&doc, "Enter", false);
    assert!(find(&doc, "#bc-reply").has_attribute("hidden"));
}

#[wasm_bindgen_test]
fn a_pasted_block_is_fenced_and_mentions_complete() {
    let doc = fixture();
    let popup = start(&doc);
    connect(&popup);
    let textarea = input(&doc);
    textarea.set_value("hey @b");
    textarea.set_selection_range(6, 6).unwrap();
    textarea
        .dispatch_event(&web_sys::Event::new("input").unwrap())
        .unwrap();
    let option = find(&doc, "#bc-mentions li[role=option]");
    assert_eq!(option.get_attribute("data-user").as_deref(), Some("bob"));
    assert!(press(&doc, "Tab", false));
    assert_eq!(textarea.value(), "hey @bob ");
    assert!(find(&doc, "#bc-mentions").has_attribute("hidden"));
}

#[wasm_bindgen_test]
fn the_empty_room_note_goes_with_the_first_message() {
    let doc = fixture();
    let note = doc.create_element("p").unwrap();
    note.set_id("bc-empty");
    let conversation = doc.get_element_by_id("bc-conversation").unwrap();
    conversation.prepend_with_node_1(&note).unwrap();
    let popup = start(&doc);
    connect(&popup);
    deliver(&popup, message(2, "bob", "Bob", "hi"));
    assert!(doc.get_element_by_id("bc-empty").is_none());
}

#[wasm_bindgen_test]
fn stopping_the_popup_detaches_it_from_the_page() {
    let doc = fixture();
    let popup = start(&doc);
    connect(&popup);
    drop(popup);
    input(&doc).set_value("still here");
    assert!(!press(&doc, "Enter", false));
    assert_eq!(input(&doc).value(), "still here");
}

#[wasm_bindgen_test]
fn names_are_cased_by_the_browser_as_rust_would() {
    // The bundle asks JavaScript (see `case`); natively these are Rust's.
    assert_eq!(wasm_ui::case::lower("Élodie ÀB"), "élodie àb");
    assert_eq!(wasm_ui::case::upper("élodie"), "ÉLODIE");
    assert_eq!(wasm_ui::case::upper("ß"), "SS");
    assert_eq!(wasm_ui::view::initial("élodie"), "É");
    assert_eq!(wasm_ui::view::initial(""), "");
}
