//! Every state-changing route the `backchannel` binary serves, as a row:
//! the route as the router declares it, a concrete request that succeeds
//! when sent properly, and how it authenticates. `main.rs` checks that this
//! table and [`UNMOUNTED`] together list every POST/PUT/PATCH/DELETE route
//! the source declares, so a new write route fails the suite until it is
//! added here.

/// What the request carries.
#[derive(Debug, Clone, Copy)]
pub enum Body {
    /// Nothing.
    Empty,
    /// A JSON document (the API's writes).
    Json(&'static str),
    /// A form; the session's CSRF token goes in as `csrf`.
    Form(&'static [(&'static str, &'static str)]),
    /// `multipart/form-data` with a `file` field (and `csrf` if `true`).
    Multipart { csrf: bool },
    /// `multipart/form-data` with an `avatar` field holding a small PNG
    /// (and `csrf` if `true`): the profile picture form.
    Picture { csrf: bool },
    /// A small PNG as the whole body, `image/png`.
    Image,
    /// The sign-in form: its token is double-submitted in the `bc_login` cookie.
    Login,
}

/// Whose credentials ride on the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// The `bc_session` cookie, as a browser sends it (what CSRF abuses).
    Cookie,
    /// The same, but on a session of its own (the request ends it).
    FreshCookie,
    /// `Authorization: Bearer` only; a browser never adds it cross-site.
    Bearer,
    /// None needed (signing in).
    Nobody,
}

/// One state-changing route.
pub struct Write {
    /// The method and the path as the router declares them.
    pub method: &'static str,
    pub route: &'static str,
    /// The concrete path: `{room}`, `{seq_edit}`, `{seq_delete}` and the
    /// other placeholders of `Site::path` are filled in.
    pub path: &'static str,
    pub body: Body,
    pub auth: Auth,
}

const fn write(
    method: &'static str,
    route: &'static str,
    path: &'static str,
    body: Body,
    auth: Auth,
) -> Write {
    Write {
        method,
        route,
        path,
        body,
        auth,
    }
}

const PAGE_FORM: &[(&str, &str)] = &[("title", "Edited"), ("markdown", "edited by a form")];

/// The table. Destructive rows (delete, sign out) act on targets of their own.
pub const WRITES: &[Write] = &[
    // The wiki's forms.
    write(
        "POST",
        "/edit/{*path}",
        "/edit/Csrf/ByEdit",
        Body::Form(PAGE_FORM),
        Auth::Cookie,
    ),
    write(
        "POST",
        "/pages/{*path}",
        "/pages/Csrf/ByPost",
        Body::Form(PAGE_FORM),
        Auth::Cookie,
    ),
    write(
        "POST",
        "/move/{*path}",
        "/move/CsrfMove",
        Body::Form(&[("to", "CsrfMoved")]),
        Auth::Cookie,
    ),
    write(
        "POST",
        "/delete/{*path}",
        "/delete/CsrfDelete",
        Body::Form(&[]),
        Auth::Cookie,
    ),
    write(
        "POST",
        "/permissions/{*path}",
        "/permissions/Csrf",
        Body::Form(&[("inherit", "on"), ("view", ""), ("edit", "")]),
        Auth::Cookie,
    ),
    write(
        "POST",
        "/admin/groups",
        "/admin/groups",
        Body::Form(&[("name", "csrfgroup")]),
        Auth::Cookie,
    ),
    write(
        "POST",
        "/admin/members",
        "/admin/members",
        Body::Form(&[("group", "csrfgroup"), ("user", "alice"), ("action", "add")]),
        Auth::Cookie,
    ),
    write("POST", "/login", "/login", Body::Login, Auth::Nobody),
    write(
        "POST",
        "/logout",
        "/logout",
        Body::Form(&[]),
        Auth::FreshCookie,
    ),
    // The wiki's JSON API.
    write(
        "POST",
        "/api/session",
        "/api/session",
        Body::Json(r#"{"username":"alice","password":"correct horse battery staple"}"#),
        Auth::Nobody,
    ),
    write(
        "DELETE",
        "/api/session",
        "/api/session",
        Body::Empty,
        Auth::Bearer,
    ),
    write(
        "PUT",
        "/api/pages/{*path}",
        "/api/pages/Csrf/ByApi",
        Body::Json(r#"{"markdown":"written by the API"}"#),
        Auth::Cookie,
    ),
    write(
        "PUT",
        "/api/pages/{*path}",
        "/api/pages/Csrf/permissions",
        Body::Json(r#"{"inherit":true,"view":[],"edit":[]}"#),
        Auth::Cookie,
    ),
    write(
        "DELETE",
        "/api/pages/{*path}",
        "/api/pages/CsrfApiDelete",
        Body::Empty,
        Auth::Cookie,
    ),
    // The chat plugin.
    write(
        "POST",
        "/api/rooms/{room}/messages",
        "/api/rooms/{room}/messages",
        Body::Json(r#"{"body":"posted","client_msg_id":"csrf-control"}"#),
        Auth::Cookie,
    ),
    write(
        "PATCH",
        "/api/rooms/{room}/messages/{seq}",
        "/api/rooms/{room}/messages/{seq_edit}",
        Body::Json(r#"{"body":"edited"}"#),
        Auth::Cookie,
    ),
    write(
        "DELETE",
        "/api/rooms/{room}/messages/{seq}",
        "/api/rooms/{room}/messages/{seq_delete}",
        Body::Empty,
        Auth::Cookie,
    ),
    write(
        "POST",
        "/api/rooms/{room}/read",
        "/api/rooms/{room}/read",
        Body::Json(r#"{"seq":1}"#),
        Auth::Cookie,
    ),
    write(
        "POST",
        "/api/rooms/{room}/presence",
        "/api/rooms/{room}/presence",
        Body::Json(r#"{"status":"active"}"#),
        Auth::Cookie,
    ),
    write(
        "POST",
        "/api/rooms/{room}/typing",
        "/api/rooms/{room}/typing",
        Body::Empty,
        Auth::Cookie,
    ),
    write(
        "POST",
        "/api/rooms/{room}/files",
        "/api/rooms/{room}/files",
        Body::Multipart { csrf: false },
        Auth::Cookie,
    ),
    write(
        "POST",
        "/rooms/{room}/messages",
        "/rooms/{room}/messages",
        Body::Form(&[
            ("body", "posted by the form"),
            ("client_msg_id", "csrf-form"),
        ]),
        Auth::Cookie,
    ),
    // Rooms with people. `{group}` is alice's invite-only room (bob and
    // carol are members); `{accept}` and `{decline}` are invitations to
    // alice, `{cancel}` one from her.
    write(
        "POST",
        "/api/rooms",
        "/api/rooms",
        Body::Json(r#"{"name":"Made by CSRF?","alias":"csrf-made"}"#),
        Auth::Cookie,
    ),
    write(
        "PUT",
        "/api/rooms/{room}/settings",
        "/api/rooms/{group}/settings",
        Body::Json(r#"{"topic":"set"}"#),
        Auth::Cookie,
    ),
    write(
        "POST",
        "/api/rooms/{room}/join",
        "/api/rooms/{room}/join",
        Body::Empty,
        Auth::Cookie,
    ),
    write(
        "POST",
        "/api/rooms/{room}/leave",
        "/api/rooms/{leave}/leave",
        Body::Empty,
        Auth::Cookie,
    ),
    write(
        "PUT",
        "/api/rooms/{room}/mute",
        "/api/rooms/{group}/mute",
        Body::Json(r#"{"muted":true}"#),
        Auth::Cookie,
    ),
    write(
        "PUT",
        "/api/rooms/{room}/members/{user}",
        "/api/rooms/{group}/members/bob",
        Body::Json(r#"{"role":"moderator"}"#),
        Auth::Cookie,
    ),
    write(
        "DELETE",
        "/api/rooms/{room}/members/{user}",
        "/api/rooms/{group}/members/carol",
        Body::Empty,
        Auth::Cookie,
    ),
    write(
        "POST",
        "/api/rooms/{room}/invitations",
        "/api/rooms/{group}/invitations",
        Body::Json(r#"{"user":"erin"}"#),
        Auth::Cookie,
    ),
    write(
        "POST",
        "/api/rooms/{room}/call",
        "/api/rooms/{room}/call",
        Body::Json(r#"{"user":"bob"}"#),
        Auth::Cookie,
    ),
    write(
        "POST",
        "/api/direct/{user}",
        "/api/direct/bob",
        Body::Empty,
        Auth::Cookie,
    ),
    write(
        "POST",
        "/api/invitations/{id}/accept",
        "/api/invitations/{accept}/accept",
        Body::Empty,
        Auth::Cookie,
    ),
    write(
        "POST",
        "/api/invitations/{id}/decline",
        "/api/invitations/{decline}/decline",
        Body::Json(r#"{"message":"no thanks"}"#),
        Auth::Cookie,
    ),
    write(
        "POST",
        "/api/invitations/{id}/cancel",
        "/api/invitations/{cancel}/cancel",
        Body::Empty,
        Auth::Cookie,
    ),
    write(
        "POST",
        "/api/notifications/read",
        "/api/notifications/read",
        Body::Json(r#"{"ids":[]}"#),
        Auth::Cookie,
    ),
    write(
        "POST",
        "/api/notifications/dismiss",
        "/api/notifications/dismiss",
        Body::Json(r#"{"ids":[]}"#),
        Auth::Cookie,
    ),
    // Profiles: alice's own, through the API (`me`) and her page's forms.
    write(
        "PUT",
        "/api/users/{user}/profile",
        "/api/users/me/profile",
        Body::Json(r#"{"status": "checking csrf"}"#),
        Auth::Cookie,
    ),
    write(
        "PUT",
        "/api/users/{user}/avatar",
        "/api/users/me/avatar",
        Body::Image,
        Auth::Cookie,
    ),
    write(
        "DELETE",
        "/api/users/{user}/avatar",
        "/api/users/me/avatar",
        Body::Empty,
        Auth::Cookie,
    ),
    write(
        "POST",
        "/users/{user}/profile",
        "/users/alice/profile",
        Body::Form(&[("name", "Alice"), ("status", "by the form")]),
        Auth::Cookie,
    ),
    write(
        "POST",
        "/users/{user}/avatar",
        "/users/alice/avatar",
        Body::Picture { csrf: true },
        Auth::Cookie,
    ),
    write(
        "POST",
        "/users/{user}/avatar/remove",
        "/users/alice/avatar/remove",
        Body::Form(&[]),
        Auth::Cookie,
    ),
    // The no-JavaScript forms for rooms with people (`/chats` and the
    // popup's people panel). `{leave_form}`, `{accept_form}` and
    // `{decline_form}` are targets of their own; removing bob comes last.
    write(
        "POST",
        "/chats/direct",
        "/chats/direct",
        Body::Form(&[("person", "bob")]),
        Auth::Cookie,
    ),
    write(
        "POST",
        "/chats/rooms",
        "/chats/rooms",
        Body::Form(&[("name", "Made by a CSRF form?")]),
        Auth::Cookie,
    ),
    write(
        "POST",
        "/chats/rooms/{room}/join",
        "/chats/rooms/{room}/join",
        Body::Form(&[]),
        Auth::Cookie,
    ),
    write(
        "POST",
        "/chats/rooms/{room}/leave",
        "/chats/rooms/{leave_form}/leave",
        Body::Form(&[]),
        Auth::Cookie,
    ),
    write(
        "POST",
        "/chats/rooms/{room}/mute",
        "/chats/rooms/{group}/mute",
        Body::Form(&[("muted", "true")]),
        Auth::Cookie,
    ),
    write(
        "POST",
        "/chats/invitations/{id}/accept",
        "/chats/invitations/{accept_form}/accept",
        Body::Form(&[]),
        Auth::Cookie,
    ),
    write(
        "POST",
        "/chats/invitations/{id}/decline",
        "/chats/invitations/{decline_form}/decline",
        Body::Form(&[("message", "not by a forged form")]),
        Auth::Cookie,
    ),
    write(
        "POST",
        "/chats/notifications/read",
        "/chats/notifications/read",
        Body::Form(&[]),
        Auth::Cookie,
    ),
    write(
        "POST",
        "/chats/notifications/{id}/dismiss",
        "/chats/notifications/1/dismiss",
        Body::Form(&[]),
        Auth::Cookie,
    ),
    write(
        "POST",
        "/api/rooms/{room}/commands",
        "/api/rooms/{room}/commands",
        Body::Json(r#"{"text":"/away"}"#),
        Auth::Cookie,
    ),
    write(
        "POST",
        "/rooms/{room}/messages/{seq}/edit",
        "/rooms/{room}/messages/{seq_form_edit}/edit",
        Body::Form(&[("body", "edited by the form")]),
        Auth::Cookie,
    ),
    write(
        "POST",
        "/rooms/{room}/messages/{seq}/delete",
        "/rooms/{room}/messages/{seq_form_delete}/delete",
        Body::Form(&[]),
        Auth::Cookie,
    ),
    write(
        "POST",
        "/rooms/{room}/read",
        "/rooms/{room}/read",
        Body::Form(&[("seq", "1")]),
        Auth::Cookie,
    ),
    write(
        "POST",
        "/rooms/{room}/invitations",
        "/rooms/{group}/invitations",
        Body::Form(&[("person", "dave"), ("comment", "by the form")]),
        Auth::Cookie,
    ),
    write(
        "POST",
        "/rooms/{room}/settings",
        "/rooms/{group}/settings",
        Body::Form(&[("topic", "set by the form")]),
        Auth::Cookie,
    ),
    write(
        "POST",
        "/rooms/{room}/members/{user}/remove",
        "/rooms/{group}/members/bob/remove",
        Body::Form(&[]),
        Auth::Cookie,
    ),
];

/// Declared write routes the `backchannel` binary does not serve, and why.
pub const UNMOUNTED: &[(&str, &str, &str)] = &[
    (
        "POST",
        "/connect/installed",
        "Connect lifecycle: mounted only by a Connect deployment (plugin::connect::routes), signed with a JWT, no cookies",
    ),
    (
        "POST",
        "/connect/uninstalled",
        "Connect lifecycle: as above",
    ),
];
