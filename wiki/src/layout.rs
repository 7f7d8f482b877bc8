//! The frame every wiki HTML page shares: stylesheet, the search box, and
//! who is signed in (with a sign-out form) or a Sign in link.

use crate::sessions::Session;
use maud::{html, Markup, DOCTYPE};

/// The frame around every wiki page: title, stylesheet, and who is signed in
/// (with a sign-out form) or a Sign in link that comes back to `here`.
pub fn layout(title: &str, session: Option<&Session>, here: &str, body: Markup) -> Markup {
    let sign_in = format!(
        "/login?return_to={}",
        percent_encoding::utf8_percent_encode(here, percent_encoding::NON_ALPHANUMERIC)
    );
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Backchannel wiki" }
                link rel="stylesheet" href="/assets/chat.css";
                // The chat UI: keeps macro tables live (and nothing else on
                // pages without one). Pages work fully without it.
                script type="module" src="/assets/boot.js" {}
            }
            body.wiki {
                header.wiki-header {
                    a.wiki-home href="/" { "Backchannel wiki" }
                    " "
                    form.wiki-search method="get" action="/search" role="search" {
                        input type="search" name="q" placeholder="Search the wiki" aria-label="Search the wiki";
                        " "
                        button type="submit" { "Search" }
                    }
                    " "
                    @if session.is_some_and(|s| s.member.user.is_admin) {
                        a.wiki-admin href="/admin" { "Admin" }
                        " "
                    }
                    @if let Some(session) = session {
                        (chats(session))
                        " "
                    }
                    span.wiki-account {
                        @match session {
                            Some(session) => {
                                "Signed in as "
                                // Their profile: name, picture, status (the plugin's page).
                                a.wiki-user href=(format!("/users/{}", session.member.user.name))
                                    title="Your profile" {
                                    strong { (session.member.user.name) }
                                }
                                @if let Some(csrf) = &session.csrf_token {
                                    " "
                                    form.wiki-sign-out method="post" action="/logout" {
                                        input type="hidden" name="csrf" value=(csrf);
                                        button type="submit" { "Sign out" }
                                    }
                                }
                            }
                            None => a.wiki-sign-in href=(sign_in) { "Sign in" },
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// The "Chats" link and the bell for a signed-in reader: the count of
/// unread notifications (when the page counted them), said in words for
/// screen readers, leading to them on `/chats`.
fn chats(session: &Session) -> Markup {
    let label = match session.unread_notifications {
        Some(1) => "1 unread notification".to_owned(),
        Some(n) => format!("{n} unread notifications"),
        None => "Notifications".to_owned(),
    };
    html! {
        span.wiki-chats {
            a.wiki-chats-link href="/chats" { "Chats" }
            a.wiki-bell href="/chats#notifications" aria-label=(label) title=(label) {
                // Drawn, not an emoji: a machine without an emoji font
                // would show an empty box.
                svg.wiki-bell-icon aria-hidden="true" viewBox="0 0 24 24" width="18" height="18" {
                    path fill="currentColor" d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22zm7-6V11a7 7 0 0 0-5.5-6.84V3a1.5 1.5 0 0 0-3 0v1.16A7 7 0 0 0 5 11v5l-2 2v1h18v-1z" {}
                }
                @if let Some(unread) = session.unread_notifications.filter(|n| *n > 0) {
                    " " span.wiki-bell-count aria-hidden="true" { (unread) }
                }
            }
        }
    }
}
