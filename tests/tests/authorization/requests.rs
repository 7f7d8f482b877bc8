//! The read paths answered by one HTTP request: one [`Probe`] row per path.
//! A row is a method, a path template (see [`Vault::expand`] for the
//! `{placeholders}`), what the path needs, and how to tell from the answer
//! that it showed the protected thing. Adding a read path is adding a row.

use backchannel_tests::matrix::{judge, Answer, Expect, Failures, Need, Phase, Role, Twin};
use backchannel_tests::vault::{
    Credential, Target, Vault, CHAT_WORD, FILE_TEXT, PAGE_WORD, PROFILE_EMAIL, PROFILE_STATUS,
};
use futures_util::future::join_all;
use reqwest::Method;

/// One read path.
pub struct Probe {
    pub name: &'static str,
    pub need: Need,
    pub method: &'static str,
    /// The path and query, with `{placeholders}`.
    pub path: &'static str,
    /// A JSON body, or `""` for none.
    pub body: &'static str,
    /// The answer shows the protected thing (or did the protected action).
    pub granted: fn(&Answer) -> bool,
}

const fn get(
    name: &'static str,
    need: Need,
    path: &'static str,
    granted: fn(&Answer) -> bool,
) -> Probe {
    Probe {
        name,
        need,
        method: "GET",
        path,
        body: "",
        granted,
    }
}

/// Every single-request read path.
pub const PROBES: &[Probe] = &[
    // Rooms with people: the page room's members (the actor joined) and
    // its open invitations (the actor invited the reader).
    get(
        "room members",
        Need::View,
        "/api/rooms/{room}/members",
        |a| a.ok() && a.has("\"actor\""),
    ),
    get(
        "popup people panel",
        Need::View,
        "/rooms/{room}/people",
        |a| a.ok() && a.has("bc-members") && a.has("actor"),
    ),
    get(
        "room invitations",
        Need::Admin,
        "/api/rooms/{room}/invitations",
        |a| a.ok() && a.has(CHAT_WORD),
    ),
    get(
        "an invitation",
        Need::InviteeOrAdmin,
        "/api/invitations/{invitation}",
        |a| a.ok() && a.has(CHAT_WORD),
    ),
    get(
        "an invitation's calendar (it has none: 404 for all)",
        Need::Never,
        "/api/invitations/{invitation}/calendar.ics",
        |a| a.ok(),
    ),
    get("my invitations", Need::Invitee, "/api/invitations", |a| {
        a.ok() && a.has(CHAT_WORD)
    }),
    get(
        "my notifications",
        Need::Invitee,
        "/api/notifications",
        |a| a.ok() && a.has(CHAT_WORD),
    ),
    get("my rooms", Need::SignedIn, "/api/me/rooms", |a| {
        a.ok() && a.body.starts_with('[')
    }),
    get("directory", Need::SignedIn, "/api/directory", |a| {
        a.ok() && a.has("rooms")
    }),
    get("person picker", Need::SignedIn, "/api/users?q=rea", |a| {
        a.ok() && a.has("reader")
    }),
    get("chats page", Need::SignedIn, "/chats", |a| {
        a.ok() && a.has("New chat")
    }),
    // Profiles: public, but contact links only for the signed in.
    get(
        "profile api",
        Need::Anyone,
        "/api/users/actor/profile",
        |a| a.ok() && a.has(PROFILE_STATUS),
    ),
    get(
        "profile api: contacts",
        Need::SignedIn,
        "/api/users/actor/profile",
        |a| a.ok() && a.has(PROFILE_EMAIL),
    ),
    get("profile page", Need::Anyone, "/users/actor", |a| {
        a.ok() && a.has(PROFILE_STATUS)
    }),
    get(
        "profile page: contacts",
        Need::SignedIn,
        "/users/actor",
        |a| a.ok() && a.has(PROFILE_EMAIL),
    ),
    get(
        "profile picture",
        Need::Anyone,
        "/users/actor/avatar/64",
        |a| a.ok() && a.has("<svg"),
    ),
    // The wiki.
    get("wiki page", Need::View, "/pages/{page}", |a| {
        a.ok() && a.has(PAGE_WORD)
    }),
    get(
        "wiki page: transcript",
        Need::View,
        "/pages/{transcript}",
        |a| a.ok() && a.has(CHAT_WORD),
    ),
    get("api page", Need::View, "/api/pages/{page}", |a| {
        a.ok() && a.has(PAGE_WORD)
    }),
    get(
        "api page: transcript",
        Need::View,
        "/api/pages/{transcript}",
        |a| a.ok() && a.has(CHAT_WORD),
    ),
    get(
        "api page permissions",
        Need::Edit,
        "/api/pages/{page}/permissions",
        |a| a.ok() && a.has("user:editor"),
    ),
    get(
        "search api: page word",
        Need::View,
        "/api/search?q={page_word}",
        |a| a.ok() && a.has("<mark>"),
    ),
    get(
        "search api: transcript word",
        Need::View,
        "/api/search?q={chat_word}",
        |a| a.ok() && a.has("<mark>"),
    ),
    get(
        "search api: prefix",
        Need::View,
        "/api/search?q=vaultchat*",
        |a| a.ok() && a.has("<mark>"),
    ),
    get(
        "search page: page word",
        Need::View,
        "/search?q={page_word}",
        |a| a.ok() && a.has("<mark>"),
    ),
    get(
        "search page: transcript word",
        Need::View,
        "/search?q={chat_word}",
        |a| a.ok() && a.has("<mark>"),
    ),
    get("page history", Need::View, "/history/{page}", |a| {
        a.ok() && a.has("actor")
    }),
    get(
        "page revision",
        Need::View,
        "/history/{page}?rev={page_rev}",
        |a| a.ok() && a.has(PAGE_WORD),
    ),
    get(
        "another page's revision",
        Need::Never,
        "/history/Welcome?rev={page_rev}",
        |a| a.has(PAGE_WORD),
    ),
    get(
        "transcript history",
        Need::View,
        "/history/{transcript}",
        |a| a.ok() && a.has("rev="),
    ),
    get(
        "transcript revision",
        Need::View,
        "/history/{transcript}?rev={transcript_rev}",
        |a| a.ok() && a.has(CHAT_WORD),
    ),
    get("edit form", Need::Edit, "/edit/{page}", |a| {
        a.ok() && a.has(PAGE_WORD)
    }),
    // A hidden page shows the empty create form a missing one would: only
    // the page's own text in the form is the protected thing.
    get("page ?edit form", Need::Edit, "/pages/{page}?edit", |a| {
        a.ok() && a.has("<textarea") && a.has(PAGE_WORD)
    }),
    get(
        "new child form",
        Need::Edit,
        "/new/{page}?name=Child",
        |a| a.status == 303,
    ),
    get("move form", Need::Edit, "/move/{page}", |a| a.ok()),
    get("delete form", Need::Edit, "/delete/{page}", |a| a.ok()),
    get("permissions form", Need::Edit, "/permissions/{page}", |a| {
        a.ok()
    }),
    // The chat, through the wiki's macro and the plugin's own routes.
    get(
        "macro table",
        Need::View,
        "/macro/chat?page={page_id}&room=Vault",
        |a| a.ok() && a.has("data-room="),
    ),
    get("popup", Need::View, "/rooms/{room}", |a| {
        a.ok() && a.has(CHAT_WORD)
    }),
    get(
        "popup ?refresh",
        Need::View,
        "/rooms/{room}?refresh=30",
        |a| a.ok() && a.has(CHAT_WORD),
    ),
    get(
        "popup ?before (older page)",
        Need::View,
        "/rooms/{room}?before=100000",
        |a| a.ok() && a.has(CHAT_WORD),
    ),
    get(
        "popup ?at (permalink page)",
        Need::View,
        "/rooms/{room}?at={seq}",
        |a| a.ok() && a.has(CHAT_WORD),
    ),
    get(
        "popup ?range=3months",
        Need::View,
        "/rooms/{room}?range=3months",
        |a| a.ok() && a.has(CHAT_WORD),
    ),
    get(
        "popup ?reply (quote)",
        Need::View,
        "/rooms/{room}?reply={seq}",
        |a| a.ok() && a.has(CHAT_WORD),
    ),
    get(
        "thread page",
        Need::View,
        "/rooms/{room}/threads/{seq}",
        |a| a.ok() && a.has(CHAT_WORD),
    ),
    get("room info", Need::View, "/api/rooms/{room}", |a| {
        a.ok() && a.has("\"last_seq\"")
    }),
    get("room info: files", Need::View, "/api/rooms/{room}", |a| {
        a.ok() && a.has("plans.txt")
    }),
    get(
        "room info: presence",
        Need::View,
        "/api/rooms/{room}",
        |a| a.ok() && a.has("\"present\":[{"),
    ),
    get("history", Need::View, "/api/rooms/{room}/messages", |a| {
        a.ok() && a.has(CHAT_WORD)
    }),
    get(
        "history ?after",
        Need::View,
        "/api/rooms/{room}/messages?after=0&limit=5",
        |a| a.ok() && a.has(CHAT_WORD),
    ),
    get(
        "history ?before",
        Need::View,
        "/api/rooms/{room}/messages?before=100000",
        |a| a.ok() && a.has(CHAT_WORD),
    ),
    get(
        "history ?limit",
        Need::View,
        "/api/rooms/{room}/messages?limit=200",
        |a| a.ok() && a.has(CHAT_WORD),
    ),
    get(
        "history ?range=day",
        Need::View,
        "/api/rooms/{room}/messages?range=day",
        |a| a.ok() && a.has(CHAT_WORD),
    ),
    get(
        "history ?range=week",
        Need::View,
        "/api/rooms/{room}/messages?range=week",
        |a| a.ok() && a.has(CHAT_WORD),
    ),
    get(
        "history ?range=month",
        Need::View,
        "/api/rooms/{room}/messages?range=month",
        |a| a.ok() && a.has(CHAT_WORD),
    ),
    get(
        "history ?range=3months&before",
        Need::View,
        "/api/rooms/{room}/messages?range=3months&before=100000&limit=10",
        |a| a.ok() && a.has(CHAT_WORD),
    ),
    get(
        "permalink ?context",
        Need::View,
        "/api/rooms/{room}/messages/{seq}?context=3",
        |a| a.ok() && a.has(CHAT_WORD),
    ),
    get(
        "thread",
        Need::View,
        "/api/rooms/{room}/messages/{seq}/thread",
        |a| a.ok() && a.has(CHAT_WORD),
    ),
    get(
        "revisions",
        Need::View,
        "/api/rooms/{room}/messages/{seq}/revisions",
        |a| a.ok() && a.has(CHAT_WORD),
    ),
    get("read marks", Need::View, "/api/rooms/{room}/read", |a| {
        a.ok() && a.has("last_read_seq")
    }),
    Probe {
        name: "read marks: move",
        need: Need::View,
        method: "POST",
        path: "/api/rooms/{room}/read",
        body: r#"{"seq": 1}"#,
        granted: |a| a.ok() && a.has("last_read_seq"),
    },
    get(
        "long-poll, no wait",
        Need::View,
        "/api/rooms/{room}/events?after=0&wait=0",
        |a| a.ok() && a.has(CHAT_WORD),
    ),
    get("file download", Need::View, "{file_url}", |a| {
        a.ok() && a.has(FILE_TEXT)
    }),
    Probe {
        name: "presence heartbeat",
        need: Need::View,
        method: "POST",
        path: "/api/rooms/{room}/presence",
        body: r#"{"status": "idle"}"#,
        granted: |a| a.ok(),
    },
    Probe {
        name: "typing notice",
        need: Need::Edit,
        method: "POST",
        path: "/api/rooms/{room}/typing",
        body: "",
        granted: |a| a.ok(),
    },
];

/// Runs every probe for every role in `phase`, judging each cell. The
/// roles of one probe ask at once (the cells are independent), which keeps
/// the run short.
pub async fn check_all(
    vault: &Vault,
    callers: &[(Role, Option<Credential>)],
    phase: Phase,
    failures: &mut Failures,
) {
    for probe in PROBES {
        let cells = callers.iter().map(|(role, credential)| async move {
            (
                *role,
                cell(vault, probe, *role, credential.as_ref(), phase).await,
            )
        });
        for (role, verdict) in join_all(cells).await {
            failures.record(probe.name, role, phase, vault.backend, verdict);
        }
    }
}

/// One probe asked by one role: the verdict.
async fn cell(
    vault: &Vault,
    probe: &Probe,
    role: Role,
    credential: Option<&Credential>,
    phase: Phase,
) -> Result<(), String> {
    let expect = Expect::of(probe.need, role, phase);
    let real = send(vault, probe, credential, Target::Real)
        .await
        .map_err(|error| format!("request failed: {error:#}"))?;
    let missing = match expect {
        Expect::Hidden => Some(
            send(vault, probe, credential, Target::Missing)
                .await
                .map_err(|error| format!("the missing twin failed: {error:#}"))?,
        ),
        _ => None,
    };
    let (real_names, missing_names) = (vault.names(Target::Real), vault.names(Target::Missing));
    let compare = missing.as_ref().map(|answer| Twin {
        answer,
        real_names: &real_names,
        missing_names: &missing_names,
    });
    judge(expect, &real, (probe.granted)(&real), compare)
}

async fn send(
    vault: &Vault,
    probe: &Probe,
    credential: Option<&Credential>,
    target: Target,
) -> anyhow::Result<Answer> {
    let method = Method::from_bytes(probe.method.as_bytes())?;
    let body = match probe.body {
        "" => None,
        json => Some(serde_json::from_str(json)?),
    };
    vault
        .request(
            credential,
            method,
            &vault.expand(probe.path, target),
            body.as_ref(),
        )
        .await
}
