//! The markup of the `/chats` page ([`chats_page`] loads what it shows and
//! answers its forms): one section per thing a person does with rooms with
//! people, each with a heading, every input labelled, every button worded,
//! every form carrying the session's CSRF token. Everything people typed
//! (room names, topics, comments, messages, display names) goes through
//! maud's escaping; nothing here is inserted raw.
//!
//! It works with JavaScript off and on a narrow screen (the styles are the
//! popup's, `/assets/chat.css`, section `chats`).

use crate::host::Caller;
use crate::profiles::Face;
use chrono::{DateTime, Utc};
use maud::{html, Markup, DOCTYPE};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use protocol::{
    Invitation, MyRoom, Notification, NotificationBody, Notifications, Profile, RoomCard, RoomKind,
    UserId,
};
use std::collections::HashMap;

/// Everything the page shows.
pub struct ChatsView<'a> {
    pub caller: &'a Caller,
    /// The directory search as typed.
    pub q: &'a str,
    /// The person finder's name as typed.
    pub find: &'a str,
    /// Why the last form did not go through.
    pub notice: Option<String>,
    pub invitations: Vec<Invitation>,
    pub rooms: Vec<MyRoom>,
    pub directory: Vec<RoomCard>,
    /// The directory cursor of the next page.
    pub next: Option<String>,
    pub notifications: Notifications,
    /// The person finder's matches, when a name was looked up.
    pub found: Option<Vec<Profile>>,
    /// How the people of the notifications and invitations appear.
    pub faces: HashMap<UserId, Face>,
}

/// Who a notification is from.
pub fn from(notification: &Notification) -> &Profile {
    match &notification.body {
        NotificationBody::Invitation { invitation } => &invitation.inviter,
        NotificationBody::Declined { by, .. }
        | NotificationBody::Mention { by, .. }
        | NotificationBody::Reply { by, .. }
        | NotificationBody::Direct { by, .. }
        | NotificationBody::Call { by, .. } => by,
    }
}

/// `user`'s small picture before their name, if they have one.
fn face(view: &ChatsView<'_>, user: &UserId) -> Markup {
    html! {
        @if let Some(face) = view.faces.get(user).filter(|f| f.has_avatar) {
            img.bc-face src=(face.avatar_url) alt="" width="20" height="20" loading="lazy";
            " "
        }
    }
}

/// A hidden `csrf` field with the caller's token (bearer callers have none).
pub fn csrf(caller: &Caller) -> Markup {
    html! {
        input type="hidden" name="csrf" value=(caller.csrf_token.as_deref().unwrap_or_default());
    }
}

/// A form that is only a button, posting the token to `action`.
pub fn button_form(caller: &Caller, action: &str, label: &str, class: &str) -> Markup {
    html! {
        form.bc-inline method="post" action=(action) {
            (csrf(caller))
            button.(class) type="submit" { (label) }
        }
    }
}

/// The "Message" button that opens the direct room with a person.
pub fn message_button(caller: &Caller, id: &UserId, name: &str) -> Markup {
    html! {
        form.bc-inline method="post" action="/chats/direct" {
            (csrf(caller))
            input type="hidden" name="person" value=(id);
            button.bc-message type="submit" aria-label=(format!("Message {name}")) {
                "Message"
            }
        }
    }
}

/// A link to `url`; to a room it is an opening link, which the browser UI
/// opens in the room's popup window (`wasm-ui`'s `window.rs`: `a.bc-open[target]`),
/// and which without JavaScript, or with popups blocked, opens the room here.
pub fn join(url: &str, class: &str, label: Markup) -> Markup {
    let room = url
        .strip_prefix("/rooms/")
        .and_then(|rest| rest.split(['#', '?', '/']).next())
        .filter(|id| !id.is_empty());
    html! {
        @if let Some(room) = room {
            a.bc-open.(class) href=(url) target=(format!("bc-room-{room}")) rel="opener" { (label) }
        } @else {
            a.(class) href=(url) { (label) }
        }
    }
}

/// A time as people read it, in UTC, with the machine-readable value.
pub fn when(at: DateTime<Utc>) -> Markup {
    html! {
        time datetime=(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)) {
            (at.format("%Y-%m-%d %H:%M UTC"))
        }
    }
}

fn encode(text: &str) -> String {
    utf8_percent_encode(text, NON_ALPHANUMERIC).to_string()
}

pub fn page(view: &ChatsView<'_>) -> Markup {
    let unread = view.notifications.unread;
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Chats" @if unread > 0 { " (" (unread) ")" } }
                link rel="stylesheet" href="/assets/chat.css";
                script type="module" src="/assets/picker.js" {}
                script type="module" src="/assets/boot.js" {}
            }
            body.bc-chats {
                header.bc-chats-head {
                    h1 { "Chats" }
                    nav aria-label="Chats" {
                        a href="#invitations" { "Invitations" } " · "
                        a href="#rooms" { "My rooms" } " · "
                        a href="#new-chat" { "New chat" } " · "
                        a href="#directory" { "Directory" } " · "
                        a href="#notifications" { "Notifications" } " · "
                        a href="/" { "Back to the wiki" }
                    }
                    p.bc-who { "Signed in as " strong { (view.caller.name) } }
                }
                @if let Some(notice) = &view.notice {
                    p #bc-notice .bc-notice role="alert" { (notice) }
                }
                main {
                    (invitations(view))
                    (my_rooms(view))
                    (new_chat(view))
                    (new_room(view))
                    (directory(view))
                    (notifications(view))
                }
            }
        }
    }
}

fn invitations(view: &ChatsView<'_>) -> Markup {
    let me = view.caller;
    html! {
        section #invitations aria-labelledby="h-invitations" {
            h2 #h-invitations { "Invitations" }
            @if view.invitations.is_empty() { p.bc-none { "No invitations waiting." } }
            ul.bc-list {
                @for invitation in &view.invitations {
                    @let id = invitation.id;
                    @let field = format!("decline-{id}");
                    li.bc-invitation #(format!("invitation-{id}")) {
                        p {
                            (face(view, &invitation.inviter.id))
                            strong { (invitation.inviter.name) }
                            @if invitation.room.kind == RoomKind::Direct {
                                " wants to "
                                (join(&invitation.room.url, "", html! { "chat with you" }))
                            } @else {
                                " invites you to "
                                (join(&invitation.room.url, "", html! { (invitation.room.name) }))
                            }
                        }
                        @if !invitation.room.topic.is_empty() {
                            p.bc-topic { (invitation.room.topic) }
                        }
                        @if !invitation.comment.is_empty() {
                            blockquote.bc-comment { (invitation.comment) }
                        }
                        @if let Some(start) = invitation.starts_at {
                            p.bc-when {
                                "Scheduled for " (when(start)) " · "
                                a href=(format!("/api/invitations/{id}/calendar.ics")) {
                                    "Add to calendar (.ics)"
                                }
                            }
                        }
                        @if let Some(end) = invitation.expires_at {
                            p.bc-when { "Open until " (when(end)) }
                        }
                        div.bc-actions {
                            (button_form(me, &format!("/chats/invitations/{id}/accept"), "Accept", "bc-primary"))
                            form.bc-decline method="post" action=(format!("/chats/invitations/{id}/decline")) {
                                (csrf(me))
                                button type="submit" name="silent" value="1" { "Decline" }
                                label for=(field) {
                                    "Message to " (invitation.inviter.name) " (optional)"
                                }
                                input #(field) type="text" name="message" maxlength="500";
                                button type="submit" { "Decline with message" }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// How a room of mine is called: a direct room by the other person.
fn room_label(room: &MyRoom) -> String {
    match &room.with {
        Some(person) => format!("Chat with {}", person.name),
        None => room.room.name.clone(),
    }
}

fn my_rooms(view: &ChatsView<'_>) -> Markup {
    let me = view.caller;
    html! {
        section #rooms aria-labelledby="h-rooms" {
            h2 #h-rooms { "My rooms" }
            @if view.rooms.is_empty() { p.bc-none { "You are in no rooms yet." } }
            ul.bc-list {
                @for mine in &view.rooms {
                    @let id = &mine.room.id;
                    li.bc-room data-room=(id) {
                        img.bc-room-avatar src=(mine.room.avatar_url) alt="" width="24" height="24";
                        " "
                        (join(&mine.room.url, "bc-room-name", html! { (room_label(mine)) }))
                        " "
                        @if mine.unread > 0 {
                            span.bc-unread { (mine.unread) " unread" }
                        } @else {
                            span.bc-none { "all read" }
                        }
                        @if mine.muted { " " span.bc-muted { "(muted)" } }
                        " " span.bc-role { (mine.role.as_str()) }
                        div.bc-actions {
                            form.bc-inline method="post" action=(format!("/chats/rooms/{id}/mute")) {
                                (csrf(me))
                                input type="hidden" name="muted" value=(!mine.muted);
                                button type="submit" {
                                    @if mine.muted { "Unmute" } @else { "Mute" }
                                }
                            }
                            (button_form(me, &format!("/chats/rooms/{id}/leave"), "Leave", "bc-danger"))
                        }
                    }
                }
            }
        }
    }
}

fn new_chat(view: &ChatsView<'_>) -> Markup {
    let me = view.caller;
    // Suggestions without JavaScript: the people found and those I chat with.
    let mut known: Vec<&Profile> = view.rooms.iter().filter_map(|r| r.with.as_ref()).collect();
    known.extend(view.found.iter().flatten());
    html! {
        section #new-chat aria-labelledby="h-new-chat" {
            h2 #h-new-chat { "New chat" }
            form.bc-stack method="post" action="/chats/direct" {
                (csrf(me))
                label for="bc-person" { "Person (user name)" }
                input #bc-person type="text" name="person" list="bc-people" required
                    autocomplete="off" data-picker value=(view.find);
                datalist #bc-people {
                    @for person in &known { option value=(person.id) { (person.name) } }
                }
                button.bc-primary type="submit" { "Open chat" }
            }
            form.bc-stack method="get" action="/chats#new-chat" role="search" {
                label for="bc-find" { "Find a person" }
                input #bc-find type="search" name="find" value=(view.find);
                button type="submit" { "Find" }
            }
            @if let Some(found) = &view.found {
                @if found.is_empty() { p.bc-none { "Nobody's name starts like that." } }
                ul.bc-list #bc-found {
                    @for person in found {
                        li {
                            (person.name)
                            @if person.name != person.id.as_str() { " (" (person.id) ")" }
                            " "
                            @if person.id != me.id { (message_button(me, &person.id, &person.name)) }
                        }
                    }
                }
            }
        }
    }
}

fn new_room(view: &ChatsView<'_>) -> Markup {
    html! {
        section #new-room aria-labelledby="h-new-room" {
            h2 #h-new-room { "New room" }
            form.bc-stack method="post" action="/chats/rooms" {
                (csrf(view.caller))
                label for="bc-room-name" { "Name" }
                input #bc-room-name type="text" name="name" required maxlength="200";
                label for="bc-room-alias" { "Alias (optional; letters, digits, . _ -)" }
                input #bc-room-alias type="text" name="alias" maxlength="64";
                label for="bc-room-topic" { "Topic (optional)" }
                input #bc-room-topic type="text" name="topic" maxlength="500";
                label.bc-check for="bc-room-public" {
                    input #bc-room-public type="checkbox" name="is_public" value="on";
                    " Public: listed in the directory, anyone signed in may join"
                }
                button.bc-primary type="submit" { "Create room" }
            }
        }
    }
}

fn directory(view: &ChatsView<'_>) -> Markup {
    let q = view.q;
    html! {
        section #directory aria-labelledby="h-directory" {
            h2 #h-directory { "Directory" }
            form.bc-stack method="get" action="/chats#directory" role="search" {
                label for="bc-q" { "Search public rooms" }
                input #bc-q type="search" name="q" value=(q);
                button type="submit" { "Search" }
            }
            @if view.directory.is_empty() { p.bc-none { "No public rooms found." } }
            ul.bc-list {
                @for room in &view.directory {
                    li.bc-room data-room=(room.id) {
                        (join(&room.url, "bc-room-name", html! { (room.name) }))
                        @if !room.topic.is_empty() { " — " span.bc-topic { (room.topic) } }
                        " "
                        @if view.rooms.iter().any(|mine| mine.room.id == room.id) {
                            span.bc-none { "(you are in it)" }
                        } @else {
                            (button_form(view.caller, &format!("/chats/rooms/{}/join", room.id),
                                &format!("Join {}", room.name), "bc-join"))
                        }
                    }
                }
            }
            @if let Some(next) = &view.next {
                a.bc-more href=(format!("/chats?q={}&after={}#directory", encode(q), encode(next))) {
                    "More rooms"
                }
            }
        }
    }
}

/// What a notification says, and where it leads.
fn about(notification: &Notification) -> (String, Markup) {
    match &notification.body {
        NotificationBody::Invitation { invitation } => (
            format!("/chats#invitation-{}", invitation.id),
            html! {
                strong { (invitation.inviter.name) }
                @if invitation.room.kind == RoomKind::Direct {
                    " wants to chat with you"
                } @else {
                    " invited you to " (invitation.room.name)
                }
                @if !invitation.comment.is_empty() { ": " q { (invitation.comment) } }
            },
        ),
        NotificationBody::Declined {
            room, by, message, ..
        } => (
            room.url.clone(),
            html! {
                strong { (by.name) } " declined your invitation to " (room.name) ": " q { (message) }
            },
        ),
        NotificationBody::Mention {
            room,
            seq,
            by,
            excerpt,
        } => (
            format!("{}#m-{seq}", room.url),
            html! { strong { (by.name) } " mentioned you in " (room.name) ": " q { (excerpt) } },
        ),
        NotificationBody::Reply {
            room,
            seq,
            by,
            excerpt,
        } => (
            format!("{}#m-{seq}", room.url),
            html! { strong { (by.name) } " replied to you in " (room.name) ": " q { (excerpt) } },
        ),
        NotificationBody::Direct {
            room,
            seq,
            by,
            excerpt,
        } => (
            format!("{}#m-{seq}", room.url),
            html! { strong { (by.name) } " wrote to you: " q { (excerpt) } },
        ),
        NotificationBody::Call { room, by } => (
            room.url.clone(),
            html! { strong { (by.name) } " asks you into " (room.name) " now" },
        ),
    }
}

fn notifications(view: &ChatsView<'_>) -> Markup {
    let me = view.caller;
    let page = &view.notifications;
    html! {
        section #notifications aria-labelledby="h-notifications" {
            h2 #h-notifications {
                "Notifications"
                @if page.unread > 0 { " (" (page.unread) " unread)" }
            }
            @if page.unread > 0 {
                (button_form(me, "/chats/notifications/read", "Mark all read", "bc-secondary"))
            }
            @if page.notifications.is_empty() { p.bc-none { "Nothing new." } }
            ol.bc-list.bc-notifications {
                @for notification in &page.notifications {
                    @let (to, text) = about(notification);
                    li.bc-notification.bc-new[!notification.read]
                        #(format!("notification-{}", notification.id))
                        data-kind=(notification.body.kind())
                    {
                        @if !notification.read { span.bc-badge { "New" } " " }
                        (face(view, &from(notification).id))
                        (join(&to, "", text))
                        " " span.bc-when { (when(notification.created_at)) }
                        " "
                        (button_form(me, &format!("/chats/notifications/{}/dismiss", notification.id),
                            "Dismiss", "bc-secondary"))
                    }
                }
            }
            @if let Some(before) = page.next {
                a.bc-more href=(format!("/chats?before={before}#notifications")) { "Older notifications" }
            }
        }
    }
}
