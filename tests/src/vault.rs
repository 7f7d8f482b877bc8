//! [`Vault`]: the authorization matrix's fixture. A running server with a
//! restricted page `Vault` (viewed by `reader` and `editor`, edited by
//! `editor`) holding `{chat:Vault}`, and in that room everything a read path
//! can show: messages with a known word, a reply (a thread), an edit (a
//! revision), a file, the day's transcript page, and a present user.
//!
//! Every protected thing has a missing twin ([`Target::Missing`]): a room id,
//! a page, a transcript path and a search word that do not exist, so a probe
//! can compare what a hidden thing answers with what nothing answers.
//!
//! The fixture acts through `actor`, a site admin who is none of the
//! matrix's roles, so ending a role's session never ends the actor's.

use crate::api::Api;
use crate::backend::Backend;
use crate::matrix::{Answer, Role};
use crate::server::TestServer;
use crate::session::{self, BrowserSession};
use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

/// Every account's password.
pub const PASSWORD: &str = "correct horse battery staple";
/// The restricted page.
pub const PAGE: &str = "Vault";
/// A page that does not exist (the missing twin of [`PAGE`]).
pub const MISSING_PAGE: &str = "Vanished";
/// An invitation id no fixture reaches.
const MISSING_INVITATION: &str = "987654321";
/// A room id no room has (same shape as real ones: 16 hex digits).
pub const MISSING_ROOM: &str = "00000000000000ff";
/// A page id no page has.
pub const MISSING_PAGE_ID: &str = "987654";
/// A word only the page's own text holds.
pub const PAGE_WORD: &str = "vaultpagezebra";
/// A word only the room's messages (and so its transcript) hold.
pub const CHAT_WORD: &str = "vaultchatquokka";
/// Words nothing holds: the missing twins of [`PAGE_WORD`] and [`CHAT_WORD`].
pub const MISSING_PAGE_WORD: &str = "nothingpagexyzzy";
pub const MISSING_CHAT_WORD: &str = "nothingchatplugh";
/// The file's bytes.
pub const FILE_TEXT: &str = "vault file bytes";
/// The actor's profile status (public) and e-mail (for signed-in readers).
pub const PROFILE_STATUS: &str = "vaultstatusokapi";
pub const PROFILE_EMAIL: &str = "actor@vaultmail.example";
/// How long the transcript worker may take to publish the day.
const PUBLISH_WITHIN: Duration = Duration::from_secs(30);

/// How a caller proves who it is.
#[derive(Debug, Clone)]
pub enum Credential {
    /// `Authorization: Bearer` from `POST /api/session`.
    Bearer(String),
    /// The browser's session cookie (and its CSRF token, to sign out).
    Cookie(BrowserSession),
}

impl Credential {
    /// `request` carrying this credential.
    pub fn apply(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let (name, value) = self.header();
        request.header(name, value)
    }

    /// The header that carries it (for a WebSocket handshake).
    pub fn header(&self) -> (&'static str, String) {
        match self {
            Credential::Bearer(token) => ("authorization", format!("Bearer {token}")),
            Credential::Cookie(browser) => ("cookie", browser.cookie.clone()),
        }
    }
}

/// The real protected thing, or its missing twin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Real,
    Missing,
}

/// The fixture: a server, the restricted page and its room.
pub struct Vault {
    pub server: TestServer,
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// A client that follows no redirects: a 303 to the sign-in page is an answer.
    http: reqwest::Client,
    /// The site admin who sets things up and posts.
    pub actor: Api,
    pub page_id: String,
    pub room: String,
    /// The first message's seq (it has a reply and a revision).
    pub seq: u64,
    /// The day's transcript page path, e.g. `Vault/Chat/Vault/2026-12-02`.
    pub transcript: String,
    /// The uploaded file's URL.
    pub file_url: String,
    /// A revision id of the page, and one of the transcript (ids are global).
    pub page_rev: u64,
    pub transcript_rev: u64,
    /// The actor's invitation of the reader into the room.
    pub invitation: u64,
}

impl Vault {
    /// Starts a server called `name` on `backend` and builds the fixture.
    pub async fn build(name: &str, backend: &Backend, binary: &Path) -> Result<Self> {
        // The suite posts a few messages per phase; typing is limited anyway.
        let server = backend.start(name, binary, &[("BACKCHANNEL_POST_LIMIT", "1000/1")])?;
        for role in Role::ALL {
            match role.user() {
                Some(user) if role == Role::Admin => server.add_admin(user, PASSWORD)?,
                Some(user) => server.add_user(user, PASSWORD)?,
                None => {}
            }
        }
        server.add_admin("actor", PASSWORD)?;
        let actor = Api::sign_in(server.port(), "actor", PASSWORD).await?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()?;

        let markdown = format!("The {PAGE_WORD} plans.\n\n{{chat:Vault}}\n");
        let page = json_ok(
            actor
                .request(reqwest::Method::PUT, &format!("/api/pages/{PAGE}"))
                .json(&json!({ "title": PAGE, "markdown": markdown })),
        )
        .await?;
        let page_id = page["id"]
            .as_str()
            .ok_or_else(|| anyhow!("the page has no id: {page}"))?
            .to_owned();
        let mut vault = Vault {
            server,
            backend: backend.label(),
            http,
            actor,
            page_id,
            room: String::new(),
            seq: 0,
            transcript: String::new(),
            file_url: String::new(),
            page_rev: 0,
            transcript_rev: 0,
            invitation: 0,
        };
        vault.restore().await?;
        let table = vault
            .actor
            .request(reqwest::Method::GET, "/macro/chat")
            .query(&[("page", vault.page_id.as_str()), ("room", "Vault")])
            .send()
            .await?
            .text()
            .await?;
        vault.room = table
            .split(r#"data-room=""#)
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .ok_or_else(|| anyhow!("the macro table names no room: {table}"))?
            .to_owned();
        vault.fill_room().await?;
        Ok(vault)
    }

    /// Messages, a reply, an edit, a file, presence; waits for the transcript.
    async fn fill_room(&mut self) -> Result<()> {
        let room = self.room.clone();
        let first = self
            .actor
            .say(&room, &format!("first {CHAT_WORD}"), "fixture-1")
            .await?;
        self.seq = first.seq;
        let reply = self
            .actor
            .request(
                reqwest::Method::POST,
                &format!("/api/rooms/{room}/messages"),
            )
            .json(
                &json!({ "body": format!("reply {CHAT_WORD}"), "client_msg_id": "fixture-2",
                           "reply_to": first.seq }),
            );
        json_ok(reply).await?;
        let edit = self
            .actor
            .request(
                reqwest::Method::PATCH,
                &format!("/api/rooms/{room}/messages/{}", first.seq),
            )
            .json(&json!({ "body": format!("first {CHAT_WORD}, edited") }));
        json_ok(edit).await?;

        let boundary = "vaultboundary7MA4YWxkTrZu0gW";
        let body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; \
             filename=\"plans.txt\"\r\nContent-Type: text/plain\r\n\r\n{FILE_TEXT}\r\n\
             --{boundary}--\r\n"
        );
        let upload = self
            .actor
            .request(reqwest::Method::POST, &format!("/api/rooms/{room}/files"))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body);
        let file = json_ok(upload).await?;
        self.file_url = file["url"]
            .as_str()
            .ok_or_else(|| anyhow!("the upload has no url: {file}"))?
            .to_owned();
        self.beat("active").await?;
        // Rooms with people: the actor is a member, the reader invited.
        json_ok(
            self.actor
                .request(reqwest::Method::POST, &format!("/api/rooms/{room}/join")),
        )
        .await?;
        let invite = self
            .actor
            .request(
                reqwest::Method::POST,
                &format!("/api/rooms/{room}/invitations"),
            )
            .json(&json!({ "user": "reader", "comment": format!("join the {CHAT_WORD}") }));
        let invitation = json_ok(invite).await?;
        self.invitation = invitation["id"]
            .as_u64()
            .ok_or_else(|| anyhow!("the invitation has no id: {invitation}"))?;
        // Profiles: the actor's status is public, the e-mail for the signed in.
        json_ok(
            self.actor
                .request(reqwest::Method::PUT, "/api/users/me/profile")
                .json(&json!({ "status": PROFILE_STATUS, "email": PROFILE_EMAIL })),
        )
        .await?;

        let deadline = tokio::time::Instant::now() + PUBLISH_WITHIN;
        loop {
            let info = self.actor.get_json(&format!("/api/rooms/{room}")).await?;
            if let Some(path) = info["transcripts"][0]["path"].as_str() {
                self.transcript = path.to_owned();
                self.page_rev = self.revision(PAGE).await?;
                self.transcript_rev = self.revision(&self.transcript).await?;
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                bail!("no transcript after {PUBLISH_WITHIN:?}: {info}");
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// The newest revision id `/history/{path}` links to.
    async fn revision(&self, path: &str) -> Result<u64> {
        let history = self
            .actor
            .request(reqwest::Method::GET, &format!("/history/{path}"))
            .send()
            .await?
            .text()
            .await?;
        history
            .split("?rev=")
            .nth(1)
            .and_then(|rest| {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                digits.parse().ok()
            })
            .ok_or_else(|| anyhow!("/history/{path} links no revision"))
    }

    /// The actor's presence heartbeat in the room (`status` e.g. `active`).
    pub async fn beat(&self, status: &str) -> Result<()> {
        let request = self
            .actor
            .request(
                reqwest::Method::POST,
                &format!("/api/rooms/{}/presence", self.room),
            )
            .json(&json!({ "status": status }));
        let response = request.send().await?;
        if !response.status().is_success() {
            bail!("presence {status}: {}", response.status());
        }
        Ok(())
    }

    /// The actor says it is typing in the room.
    pub async fn type_now(&self) -> Result<()> {
        let response = self
            .actor
            .request(
                reqwest::Method::POST,
                &format!("/api/rooms/{}/typing", self.room),
            )
            .send()
            .await?;
        if !response.status().is_success() {
            bail!("typing: {}", response.status());
        }
        Ok(())
    }

    /// The page's rules as set up: readers and editors view, editors edit.
    pub async fn restore(&self) -> Result<()> {
        self.set_rules(&["user:reader", "user:editor"], &["user:editor"])
            .await
    }

    /// Tightens the page: the reader loses it, the editor keeps only view.
    pub async fn tighten(&self) -> Result<()> {
        self.set_rules(&["user:editor"], &[]).await
    }

    async fn set_rules(&self, view: &[&str], edit: &[&str]) -> Result<()> {
        let put = self
            .actor
            .request(
                reqwest::Method::PUT,
                &format!("/api/pages/{PAGE}/permissions"),
            )
            .json(&json!({ "inherit": false, "view": view, "edit": edit }));
        json_ok(put).await.map(drop)
    }

    /// A fresh session for `role` as a script signs in (`POST
    /// /api/session`, a bearer token); `None` for anonymous.
    pub async fn sign_in(&self, role: Role) -> Result<Option<Credential>> {
        match role.user() {
            None => Ok(None),
            Some(user) => {
                let api = Api::sign_in(self.server.port(), user, PASSWORD).await?;
                Ok(Some(Credential::Bearer(api.token)))
            }
        }
    }

    /// A fresh session for `role` as a browser signs in (the sign-in form,
    /// a cookie); `None` for anonymous.
    pub async fn browser_sign_in(&self, role: Role) -> Result<Option<Credential>> {
        match role.user() {
            None => Ok(None),
            Some(user) => {
                let base = self.server.url("");
                let browser = session::sign_in(&self.http, &base, user, PASSWORD).await?;
                Ok(Some(Credential::Cookie(browser)))
            }
        }
    }

    /// Ends the session the way its holder would: `DELETE /api/session`
    /// for a bearer token, the sign-out form for a browser.
    pub async fn sign_out(&self, credential: &Credential) -> Result<()> {
        match credential {
            Credential::Bearer(token) => {
                let response = self
                    .http
                    .delete(self.server.url("/api/session"))
                    .bearer_auth(token)
                    .send()
                    .await?;
                if !response.status().is_success() {
                    bail!("DELETE /api/session: {}", response.status());
                }
                Ok(())
            }
            Credential::Cookie(browser) => {
                session::sign_out(&self.http, &self.server.url(""), browser).await
            }
        }
    }

    /// The day's transcript path for `target` (the missing twin hangs under
    /// the missing page).
    fn transcript_of(&self, target: Target) -> String {
        match target {
            Target::Real => self.transcript.clone(),
            Target::Missing => self.transcript.replacen(PAGE, MISSING_PAGE, 1),
        }
    }

    /// Every `(value, placeholder)` an answer may hold for `target`, longest
    /// first, each also percent-encoded as sign-in redirects carry it
    /// (`return_to=%2Fpages%2FVault`). Numbers (page and revision ids) are
    /// left out: replacing `2` everywhere would hide real differences.
    pub fn names(&self, target: Target) -> Vec<(String, &'static str)> {
        let plain = self.plain_names(target);
        let mut names: Vec<(String, &'static str)> = plain
            .iter()
            .map(|(value, placeholder)| {
                let encoded = value.replace('/', "%2F").replace('-', "%2D");
                (encoded, *placeholder)
            })
            .chain(plain.iter().cloned())
            .collect();
        names.sort_by_key(|(value, _)| std::cmp::Reverse(value.len()));
        names.dedup();
        names
    }

    /// The named values for `target` as they appear in paths, longest first.
    fn plain_names(&self, target: Target) -> Vec<(String, &'static str)> {
        let real = target == Target::Real;
        let pick = |yes: &str, no: &str| if real { yes.to_owned() } else { no.to_owned() };
        let file_url = match target {
            Target::Real => self.file_url.clone(),
            Target::Missing => self.file_url.replacen(&self.room, MISSING_ROOM, 1),
        };
        let mut names = vec![
            (file_url, "{file_url}"),
            (self.transcript_of(target), "{transcript}"),
            (pick(&self.room, MISSING_ROOM), "{room}"),
            (pick(PAGE_WORD, MISSING_PAGE_WORD), "{page_word}"),
            (pick(CHAT_WORD, MISSING_CHAT_WORD), "{chat_word}"),
            (pick(PAGE, MISSING_PAGE), "{page}"),
        ];
        names.sort_by_key(|(value, _)| std::cmp::Reverse(value.len()));
        names
    }

    /// `template` with its `{placeholders}` filled in for `target`: those of
    /// [`Vault::names`], and `{seq}` (the first message), `{page_id}`,
    /// `{page_rev}` and `{transcript_rev}` (a revision of each page).
    pub fn expand(&self, template: &str, target: Target) -> String {
        let page_id = match target {
            Target::Real => self.page_id.as_str(),
            Target::Missing => MISSING_PAGE_ID,
        };
        // A small number, so like `{seq}` it is not one of the names a
        // shape hides (it would match digits everywhere).
        let invitation = match target {
            Target::Real => self.invitation.to_string(),
            Target::Missing => MISSING_INVITATION.to_owned(),
        };
        let mut text = template
            .replace("{invitation}", &invitation)
            .replace("{seq}", &self.seq.to_string())
            .replace("{page_id}", page_id)
            .replace("{page_rev}", &self.page_rev.to_string())
            .replace("{transcript_rev}", &self.transcript_rev.to_string());
        for (value, placeholder) in self.plain_names(target) {
            text = text.replace(placeholder, &value);
        }
        text
    }

    /// One HTTP request as `credential`'s holder (none: anonymous).
    pub async fn request(
        &self,
        credential: Option<&Credential>,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Answer> {
        let mut request = self.http.request(method, self.server.url(path));
        if let Some(credential) = credential {
            request = credential.apply(request);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        answer(request).await.with_context(|| path.to_owned())
    }

    /// The fixture's HTTP client (cheap to clone; follows no redirects).
    pub fn client(&self) -> reqwest::Client {
        self.http.clone()
    }

    /// The WebSocket URL.
    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}/api/ws", self.server.port())
    }
}

/// Sends `request` and reads the whole answer, whatever its status.
pub async fn answer(request: reqwest::RequestBuilder) -> Result<Answer> {
    read_answer(request.send().await?).await
}

/// Reads a response whole into an [`Answer`].
pub async fn read_answer(response: reqwest::Response) -> Result<Answer> {
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let cors = response
        .headers()
        .iter()
        .filter(|(name, _)| name.as_str().starts_with("access-control-"))
        .map(|(name, value)| format!("{name}: {}", value.to_str().unwrap_or("?")))
        .collect();
    let body = response.text().await?;
    Ok(Answer {
        status,
        location,
        body,
        cors,
    })
}

/// Sends `request`, insists on a 2xx, and returns the JSON answer.
async fn json_ok(request: reqwest::RequestBuilder) -> Result<Value> {
    let response = request.send().await?;
    let status = response.status();
    let text = response.text().await?;
    if !status.is_success() {
        bail!("{status}: {text}");
    }
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}
