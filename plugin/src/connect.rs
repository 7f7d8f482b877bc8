//! [`ConnectHost`]: the [`Host`] for external wikis, which talk to the plugin
//! the way Atlassian Connect apps are talked to.
//!
//! The built-in wiki calls the plugin in-process. An external wiki only has
//! HTTP and a shared secret, so every fact the plugin needs from it arrives
//! signed, and every call back to it is signed.
//!
//! # Protocol
//! 1. **Install.** The wiki reads `manifest.json` and POSTs its
//!    `lifecycle.installed` callback to [`INSTALLED_PATH`] with
//!    `{"clientKey", "sharedSecret", "baseUrl", ...}`. The plugin stores the
//!    [`Installation`]. The first install of a client key must carry the
//!    operator's [`ConnectConfig::install_secret`] as `Authorization:
//!    Bearer` (none configured: first installs are closed); a later one (a
//!    new secret or base URL) must carry
//!    `Authorization: JWT <token>` signed with the *current* secret, else it
//!    is refused: otherwise anyone could re-install over a wiki and take its
//!    pages. [`UNINSTALLED_PATH`] removes an installation, signed the same way.
//! 2. **Signed URLs.** The wiki loads the macro
//!    (`/macro/chat?page=ID&room=NAME`) and the popup (`/rooms/ID`) with
//!    `&jwt=<token>` appended: HS256 with the shared secret, claims
//!    - `iss`: the client key; `sub`: the user's id (absent for anonymous);
//!    - `iat`, `exp`: at most [`ConnectConfig::max_token_lifetime_secs`]
//!      apart; `jti` (random) is recommended so two loads differ;
//!    - `qsh`: the hash of this exact request ([`qsh`]);
//!    - `context`: `{"user": {"displayName"}, "page": {"id", "title", "url",
//!      "timeZone"}, "access": "none"|"read"|"write"|"admin"}`, the user's
//!      access to that page now.
//! 3. **Verification** ([`authenticate`], a middleware over the plugin's
//!    routes): the unverified `iss` only picks the installation; then the
//!    signature (HS256 only), `exp` (with [`ConnectConfig::leeway_secs`]),
//!    `iat`, `qsh`, that a `page` query parameter is the context's page, and
//!    that the token was never seen before (its SHA-256 is remembered until
//!    it expires). Any failure is a 401 in the JSON error shape.
//! 4. **Session.** A verified token becomes a plugin session: a random
//!    token in the [`SESSION_COOKIE`] cookie (`HttpOnly; Secure;
//!    SameSite=None`, since the plugin lives in the wiki's iframe), valid
//!    for [`ConnectConfig::session_ttl_secs`]. The popup's API, WebSocket,
//!    SSE and form calls use it; `Authorization: Bearer <token>` works too.
//!    The page's JWT itself is single-use.
//! 5. **Access** comes from the signed contexts, remembered per (page, user)
//!    for [`ConnectConfig::access_ttl_secs`] (5 minutes) and replaced by
//!    every newer context; [`Host::acl_epoch`] moves when a context shows
//!    different access and every [`ACL_TICK_SECS`], so open streams notice
//!    an entry that expired: a revocation in the wiki reaches them within
//!    the TTL plus a few seconds, or at once when a newer context says so.
//! 6. **Transcripts.** [`Host::put_child_page`] calls the wiki:
//!    `PUT {baseUrl}/rest/backchannel/pages/{pageId}/children` with
//!    `Authorization: JWT <token>` (iss = the app key from manifest.json,
//!    `qsh` over that request, 3 minutes) and the JSON body
//!    `{"segments": [...], "title", "markdown"}`; the wiki answers 200 with
//!    `{"path", "url", "changed"}`.
//!
//! # Threat model
//! - *Anyone who can reach the plugin could install* without the install
//!   secret, and squat a client key before its wiki. With it, still
//!   nothing one installation signs reaches another:
//!   page and user ids become `<client key>:<id>` (client key
//!   percent-encoded, so the first `:` splits them). A wiki that claims
//!   admin on page `42` gets it on its own `42` only.
//! - *Stolen or replayed URLs* (logs, `Referer`, history): single use, short
//!   lived, bound to method, path and query by `qsh`. Responses to signed
//!   URLs are `no-store` and `no-referrer`.
//! - *Tampered claims*: HS256 over header and claims; only HS256 is accepted
//!   (no `none`, no algorithm confusion).
//! - *Memory floods by a hostile installation*: sessions, seen tokens and
//!   contexts live in capped maps, with a cap per installation inside each;
//!   a full map answers 429.
//! - *SSRF through `baseUrl`*: the plugin calls an installation's base URL
//!   with transcripts of that installation's own rooms only; internal
//!   addresses are refused at install and at connect time, and
//!   [`ConnectConfig::allowed_base_urls`] restricts it to listed origins.
//!   Answers are read up to 64 KiB.
//! - *Hostile links*: a page or transcript URL a wiki returns is kept only
//!   if it is http(s) on that wiki's own origin (`base_url`).
//!
//! # Limits
//! Sessions, seen tokens and contexts are in memory: a restart signs
//! everyone out until their next page load, and several nodes need sticky
//! sessions. Transcripts of a page wait until someone has loaded it since
//! the last restart (the plugin learns its time zone from the context).
//!
//! # Layout
//! - [`qsh`]: the query string hash and its canonical request.
//! - [`installations`]: the `Installations` trait, in memory and SQLite.
//! - `base_url`: which `baseUrl`s are accepted, called and linked back to.
//! - `claims`: the JWT claims, the signed `context` among them.
//! - `expiring`: the capped, expiring maps behind sessions and contexts.
//! - `lifecycle`: the install and uninstall callbacks and the sign-in page.
//! - `middleware`: [`authenticate`], turning a signed URL into a session.

pub mod installations;
pub mod qsh;

mod base_url;
mod claims;
mod expiring;
mod lifecycle;
mod middleware;

pub use claims::{Context, ContextAccess, ContextPage, ContextUser};
pub use installations::{Installation, Installations, MemoryInstallations, SqliteInstallations};

use claims::{Claims, NoClaims, OutgoingClaims, PageClaims};
pub use lifecycle::routes;
pub use middleware::{authenticate, wrap};

use crate::error::AppError;
use crate::extract::cookie;
use crate::host::{Access, Caller, ChildPage, Host, HostPage, PutOutcome};
use async_trait::async_trait;
use axum::http::{header, HeaderMap, Method, Uri};
use expiring::{now, ExpiringMap, Full};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use protocol::{ErrorCode, PageId, UserId};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The `lifecycle.installed` callback.
pub const INSTALLED_PATH: &str = "/connect/installed";
/// The `lifecycle.uninstalled` callback.
pub const UNINSTALLED_PATH: &str = "/connect/uninstalled";
/// Where a browser without a session is sent: the wiki signs people in, so
/// this page only says to reopen the chat from the wiki.
pub const SIGN_IN_PATH: &str = "/connect/sign-in";
/// The plugin session cookie.
pub const SESSION_COOKIE: &str = "bc_connect";
/// Shorter HS256 keys are refused at install (RFC 7518 §3.2 asks for 256 bits).
pub const MIN_SECRET_BYTES: usize = 32;
/// Lifetime of the tokens the plugin signs for calls to a wiki.
const OUTGOING_TOKEN_SECS: i64 = 180;
/// [`Host::acl_epoch`] moves at least this often, so open streams notice
/// access that expired ([`ConnectConfig::access_ttl_secs`]) without a
/// signed context to tell them.
pub const ACL_TICK_SECS: i64 = 10;
/// Largest answer read from a wiki's REST API; a transcript call answers a
/// few hundred bytes.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// Tunables of the Connect boundary.
#[derive(Debug, Clone)]
pub struct ConnectConfig {
    /// The app key (`key` in manifest.json): the `iss` of calls to a wiki.
    pub app_key: String,
    /// The path the plugin is mounted under behind a proxy (e.g. `/chat`);
    /// `qsh` hashes paths relative to the plugin's base URL without it.
    pub context_path: String,
    /// Clock skew tolerated on `exp` and `iat`.
    pub leeway_secs: i64,
    /// Longest accepted `exp - iat`; it also bounds how long a seen token
    /// must be remembered.
    pub max_token_lifetime_secs: i64,
    /// How long a plugin session and the access contexts behind it last.
    pub session_ttl_secs: i64,
    /// How long a page's title, URL and zone are kept after its last context.
    pub page_ttl_secs: i64,
    /// How long the access a signed context grants is trusted: the bound
    /// on how long a revocation in the wiki takes to reach open streams
    /// (plus [`ACL_TICK_SECS`] and `feed::RECHECK_EVERY`). A wiki keeps a
    /// reader's access by signing a fresh URL (any page load) before then.
    pub access_ttl_secs: i64,
    /// Origins (scheme, host and port, compared exactly) a `baseUrl` must
    /// have, e.g. `https://wiki.example.com`; empty accepts any public
    /// http(s) URL.
    pub allowed_base_urls: Vec<String>,
    /// Lets a `baseUrl` (and the names it resolves to) be a loopback,
    /// private or link-local address: for a wiki on the same host or
    /// network. Off, so an installation cannot aim the plugin at internal
    /// services.
    pub allow_private_base_urls: bool,
    /// The operator's install secret: the first install of a client key
    /// must carry it as `Authorization: Bearer <secret>`. `None` refuses
    /// every first install (re-installs signed with the current shared
    /// secret still work), so nobody can claim a client key before its
    /// wiki does.
    pub install_secret: Option<String>,
    /// Cap on each in-memory map (sessions, seen tokens, pages, access).
    pub max_entries: usize,
    /// Cap on one installation's entries in each map, so one wiki cannot
    /// fill a map and lock the others out.
    pub max_entries_per_installation: usize,
}

impl Default for ConnectConfig {
    fn default() -> Self {
        Self {
            app_key: "backchannel".to_owned(),
            context_path: String::new(),
            leeway_secs: 30,
            max_token_lifetime_secs: 15 * 60,
            session_ttl_secs: 60 * 60,
            page_ttl_secs: 7 * 24 * 60 * 60,
            access_ttl_secs: 5 * 60,
            allowed_base_urls: Vec::new(),
            allow_private_base_urls: false,
            install_secret: None,
            max_entries: 100_000,
            max_entries_per_installation: 10_000,
        }
    }
}

/// A signed-in person of an external wiki.
#[derive(Debug, Clone)]
struct Session {
    user: UserId,
    name: String,
    csrf: String,
}

/// The external-wiki [`Host`]. Clone is an `Arc` bump.
#[derive(Clone)]
pub struct ConnectHost(Arc<Shared>);

struct Shared {
    config: ConnectConfig,
    installations: Arc<dyn Installations>,
    /// Session token → session.
    sessions: ExpiringMap<String, Session>,
    /// SHA-256 of every accepted token, until it expires: replays are refused.
    seen_tokens: ExpiringMap<[u8; 32], ()>,
    /// Page facts from the latest context, by namespaced page id.
    pages: ExpiringMap<PageId, HostPage>,
    /// Access from the latest context, by (page, user); `None` = anonymous.
    access: ExpiringMap<(PageId, Option<UserId>), Access>,
    /// Bumped when a context shows access different from the one remembered.
    acl_changes: AtomicU64,
    /// For calls to the wikis' REST APIs.
    http: reqwest::Client,
}

/// A verified page token, ready to be turned into a request the plugin's
/// handlers understand.
struct Accepted {
    /// The plugin session to use (and set as a cookie), if not anonymous.
    session: Option<String>,
    /// The namespaced page id the `page` parameter becomes.
    page: PageId,
}

impl ConnectHost {
    pub fn new(config: ConnectConfig, installations: Arc<dyn Installations>) -> Self {
        let mut http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none());
        if !config.allow_private_base_urls {
            http = http.dns_resolver(Arc::new(base_url::PublicOnly));
        }
        let http = http.build().unwrap_or_default();
        let (cap, per) = (config.max_entries, config.max_entries_per_installation);
        Self(Arc::new(Shared {
            config,
            installations,
            sessions: ExpiringMap::new(cap, per),
            seen_tokens: ExpiringMap::new(cap, per),
            pages: ExpiringMap::new(cap, per),
            access: ExpiringMap::new(cap, per),
            acl_changes: AtomicU64::new(0),
            http,
        }))
    }

    pub fn config(&self) -> &ConnectConfig {
        &self.0.config
    }

    /// The path `qsh` is computed over: relative to the plugin's base URL.
    fn relative_path<'a>(&self, path: &'a str) -> &'a str {
        let prefix = self.0.config.context_path.trim_end_matches('/');
        if prefix.is_empty() {
            return path;
        }
        path.strip_prefix(prefix).unwrap_or(path)
    }

    /// Checks a token against the installation it names and this request,
    /// and marks it used.
    async fn verify<X: DeserializeOwned>(
        &self,
        token: &str,
        method: &Method,
        uri: &Uri,
    ) -> Result<(Installation, Claims<X>), AppError> {
        let config = &self.0.config;
        // The unverified issuer only chooses which secret to check with.
        let issuer = peek_issuer(token).ok_or_else(|| rejected("malformed token"))?;
        let installation = self
            .0
            .installations
            .get(&issuer)
            .await?
            .ok_or_else(|| rejected("unknown installation"))?;

        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = u64::try_from(config.leeway_secs).unwrap_or_default();
        validation.validate_aud = false;
        validation.set_issuer(&[&installation.client_key]);
        validation.set_required_spec_claims(&["exp", "iss"]);
        let key = DecodingKey::from_secret(installation.shared_secret.as_bytes());
        let claims = jsonwebtoken::decode::<Claims<X>>(token, &key, &validation)
            .map_err(|e| {
                rejected(match e.kind() {
                    ErrorKind::ExpiredSignature => "token expired",
                    ErrorKind::InvalidSignature => "bad signature",
                    ErrorKind::InvalidAlgorithm => "only HS256 tokens are accepted",
                    ErrorKind::Json(_) | ErrorKind::MissingRequiredClaim(_) => "malformed claims",
                    _ => "invalid token",
                })
            })?
            .claims;

        let now = now();
        if claims.iat > now + config.leeway_secs {
            return Err(rejected("token issued in the future"));
        }
        // Checked: a hostile `iat` or `exp` (i64::MIN, i64::MAX) must not
        // overflow into a short lifetime.
        if claims
            .exp
            .checked_sub(claims.iat)
            .is_none_or(|lifetime| lifetime > config.max_token_lifetime_secs)
        {
            return Err(rejected("token lives too long"));
        }
        let expected =
            qsh::query_string_hash(method.as_str(), self.relative_path(uri.path()), uri.query());
        if claims.qsh != expected {
            return Err(rejected("qsh does not match this request"));
        }
        // Last, so tokens that fail anything else are not remembered.
        let fingerprint: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let fresh = self
            .0
            .seen_tokens
            .insert_new(
                fingerprint,
                &installation.client_key,
                (),
                claims.exp.saturating_add(config.leeway_secs),
            )
            .map_err(busy)?;
        if !fresh {
            return Err(rejected("token already used"));
        }
        debug_assert_eq!(claims.iss, installation.client_key);
        Ok((installation, claims))
    }

    /// Verifies a signed page URL, remembers its context and opens (or
    /// renews) the user's plugin session.
    async fn accept_page_token(
        &self,
        token: &str,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
    ) -> Result<Accepted, AppError> {
        let config = &self.0.config;
        let (installation, claims) = self.verify::<PageClaims>(token, method, uri).await?;
        let client_key = &installation.client_key;
        let PageClaims { sub, context } = claims.extra;

        let requested_page = uri.query().and_then(|q| query_param(q, "page"));
        if requested_page.is_some_and(|p| p != context.page.id) {
            return Err(rejected("the token is for another page"));
        }
        let page = PageId::new(namespaced(client_key, &context.page.id));
        let host_page = HostPage {
            id: page.clone(),
            title: bounded(&context.page.title, 500),
            url: base_url::same_origin(&installation.base_url, &context.page.url).ok_or_else(
                || {
                    AppError::new(
                        ErrorCode::InvalidInput,
                        "the page url must be an http(s) URL on the wiki's baseUrl",
                    )
                },
            )?,
            time_zone: context.page.time_zone.parse().map_err(|_| {
                AppError::new(
                    ErrorCode::InvalidInput,
                    format!("unknown time zone {:?}", context.page.time_zone),
                )
            })?,
        };
        let now = now();
        self.0
            .pages
            .insert(
                page.clone(),
                client_key,
                host_page,
                now + config.page_ttl_secs,
            )
            .map_err(busy)?;

        let user = sub
            .as_deref()
            .map(|sub| UserId::new(namespaced(client_key, sub)));
        let access = Access::from(context.access);
        let previous = self
            .0
            .access
            .insert(
                (page.clone(), user.clone()),
                client_key,
                access,
                now + config.access_ttl_secs,
            )
            .map_err(busy)?;
        if previous.is_some_and(|p| p != access) {
            self.0.acl_changes.fetch_add(1, Ordering::Relaxed);
        }

        let session = match (user, sub) {
            (Some(user), Some(sub)) => {
                let name = context
                    .user
                    .map(|u| bounded(u.display_name.trim(), 200))
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| bounded(&sub, 200));
                Some(self.open_session(headers, client_key, user, name)?)
            }
            _ => None,
        };
        Ok(Accepted { session, page })
    }

    /// The browser's current session if it is this user's, renewed; else a
    /// new one.
    fn open_session(
        &self,
        headers: &HeaderMap,
        client_key: &str,
        user: UserId,
        name: String,
    ) -> Result<String, AppError> {
        let current = cookie(headers, SESSION_COOKIE)
            .and_then(|token| Some((self.0.sessions.get(&token)?, token)))
            .filter(|(session, _)| session.user == user);
        let (token, csrf) = match current {
            Some((session, token)) => (token, session.csrf),
            None => (random_token(), random_token()),
        };
        let session = Session { user, name, csrf };
        let expires = now() + self.0.config.session_ttl_secs;
        self.0
            .sessions
            .insert(token.clone(), client_key, session, expires)
            .map_err(busy)?;
        Ok(token)
    }

    /// The `Set-Cookie` value for a session.
    fn session_cookie(&self, token: &str) -> String {
        let path = match self.0.config.context_path.trim_end_matches('/') {
            "" => "/",
            prefix => prefix,
        };
        format!(
            "{SESSION_COOKIE}={token}; Path={path}; Max-Age={}; HttpOnly; Secure; SameSite=None",
            self.0.config.session_ttl_secs
        )
    }

    /// A `baseUrl` the plugin may call, without its trailing `/`.
    fn check_base_url(&self, base_url: &str) -> Result<String, AppError> {
        base_url::check_base_url(&self.0.config, base_url)
    }

    /// Forgets everything an installation's tokens established.
    fn forget(&self, client_key: &str) {
        let prefix = format!("{}:", qsh::encode(client_key.as_bytes()));
        self.0
            .sessions
            .retain(|_, s| !s.user.as_str().starts_with(&prefix));
        self.0
            .access
            .retain(|(page, _), _| !page.as_str().starts_with(&prefix));
        self.0
            .pages
            .retain(|page, _| !page.as_str().starts_with(&prefix));
    }
}

#[async_trait]
impl Host for ConnectHost {
    async fn caller(&self, headers: &HeaderMap) -> Option<Caller> {
        let (token, from_cookie) = match bearer(headers) {
            Some(token) => (token, false),
            None => (cookie(headers, SESSION_COOKIE)?, true),
        };
        let session = self.0.sessions.get(&token)?;
        Some(Caller {
            id: session.user,
            name: session.name,
            // Bearer callers are not exposed to CSRF.
            csrf_token: from_cookie.then_some(session.csrf),
        })
    }

    /// Pages are remembered from contexts in memory: nothing here can fail.
    async fn page(&self, page: &PageId) -> anyhow::Result<Option<HostPage>> {
        Ok(self.0.pages.get(page))
    }

    /// Only a context signed by the page's own wiki can grant access: the
    /// key holds the namespaced page and user ids.
    async fn access(&self, caller: Option<&Caller>, page: &PageId) -> anyhow::Result<Access> {
        let key = (page.clone(), caller.map(|c| c.id.clone()));
        Ok(self.0.access.get(&key).unwrap_or(Access::None))
    }

    async fn put_child_page(
        &self,
        parent: &PageId,
        child: ChildPage,
    ) -> anyhow::Result<PutOutcome> {
        #[derive(Serialize)]
        struct Body {
            segments: Vec<String>,
            title: String,
            markdown: String,
        }
        #[derive(Deserialize)]
        struct Outcome {
            path: String,
            url: String,
            changed: bool,
        }

        let (client_key, page_id) = split_namespaced(parent.as_str())
            .ok_or_else(|| anyhow::anyhow!("page {parent} is not an external wiki's page"))?;
        let installation = self
            .0
            .installations
            .get(&client_key)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no installation for page {parent}"))?;
        let path = format!(
            "/rest/backchannel/pages/{}/children",
            qsh::encode(page_id.as_bytes())
        );
        let token = sign(
            &self.0.config.app_key,
            &installation.shared_secret,
            "PUT",
            &path,
            None,
        )?;
        // Checked again at each call: an installation stored before the
        // operator tightened the policy must not be called either (the
        // resolver covers host names; this covers written-out addresses).
        base_url::check_base_url(&self.0.config, &installation.base_url)
            .map_err(|e| anyhow::anyhow!("not calling {client_key:?}: {}", e.message))?;
        let url = format!("{}{path}", installation.base_url);
        let response = self
            .0
            .http
            .put(&url)
            .header(header::AUTHORIZATION, format!("JWT {token}"))
            .json(&Body {
                segments: child.segments,
                title: child.title,
                markdown: child.markdown,
            })
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("PUT {url}: {e}"))?;
        let status = response.status();
        if !status.is_success() {
            anyhow::bail!("PUT {url}: the wiki answered {status}");
        }
        let body = bounded_body(response, MAX_RESPONSE_BYTES)
            .await
            .map_err(|e| anyhow::anyhow!("PUT {url}: {e}"))?;
        let outcome: Outcome = serde_json::from_slice(&body)
            .map_err(|e| anyhow::anyhow!("PUT {url}: unreadable answer: {e}"))?;
        // The link is shown to readers: only http(s) on the wiki's own origin.
        let link =
            base_url::same_origin(&installation.base_url, &outcome.url).ok_or_else(|| {
                anyhow::anyhow!("PUT {url}: the wiki answered a link outside its baseUrl")
            })?;
        Ok(PutOutcome {
            path: bounded(&outcome.path, 2048),
            url: link,
            changed: outcome.changed,
        })
    }

    fn sign_in_url(&self, _return_to: &str) -> String {
        format!(
            "{}{SIGN_IN_PATH}",
            self.0.config.context_path.trim_end_matches('/')
        )
    }

    fn acl_epoch(&self) -> u64 {
        let ticks = u64::try_from(now() / ACL_TICK_SECS).unwrap_or_default();
        // Both terms only grow, so the sum moves whenever either does.
        self.0.acl_changes.load(Ordering::Relaxed) + ticks
    }
}

/// The 401 every refused token gets.
fn rejected(reason: &str) -> AppError {
    tracing::info!(reason, "refused a Connect token");
    AppError::new(ErrorCode::Unauthenticated, reason)
}

/// A capped map is full of live entries.
fn busy(_: Full) -> AppError {
    let mut err = AppError::rate_limited(60);
    err.message = "too many sessions; try again later".to_owned();
    err
}

/// A response body, refused once it is longer than `max` bytes.
async fn bounded_body(mut response: reqwest::Response, max: usize) -> anyhow::Result<Vec<u8>> {
    if response
        .content_length()
        .is_some_and(|len| len > max as u64)
    {
        anyhow::bail!("the answer is over {max} bytes");
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > max {
            anyhow::bail!("the answer is over {max} bytes");
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The `iss` claim, read without checking anything.
fn peek_issuer(token: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Peek {
        iss: String,
    }
    let mut validation = Validation::new(Algorithm::HS256);
    validation.insecure_disable_signature_validation();
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<Peek>(token, &DecodingKey::from_secret(&[]), &validation)
        .ok()
        .map(|data| data.claims.iss)
}

/// A token for a call the plugin makes to a wiki.
fn sign(
    app_key: &str,
    secret: &str,
    method: &str,
    path: &str,
    query: Option<&str>,
) -> anyhow::Result<String> {
    let iat = now();
    let claims = OutgoingClaims {
        iss: app_key,
        iat,
        exp: iat + OUTGOING_TOKEN_SECS,
        qsh: qsh::query_string_hash(method, path, query),
    };
    Ok(jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )?)
}

/// `<client key>:<id>`, the client key percent-encoded so it holds no `:`.
fn namespaced(client_key: &str, id: &str) -> String {
    format!("{}:{id}", qsh::encode(client_key.as_bytes()))
}

/// The inverse of [`namespaced`].
fn split_namespaced(id: &str) -> Option<(String, &str)> {
    let (client_key, rest) = id.split_once(':')?;
    Some((String::from_utf8(qsh::decode(client_key)).ok()?, rest))
}

/// The first value of parameter `name`, decoded.
fn query_param(query: &str, name: &str) -> Option<String> {
    qsh::parse_query(query)
        .into_iter()
        .find(|(n, _)| n == name.as_bytes())
        .map(|(_, value)| String::from_utf8_lossy(&value).into_owned())
}

/// At most `max` characters of `text`.
fn bounded(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// `Authorization: Bearer <token>`.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<String> {
    authorization(headers, "Bearer")
}

/// `Authorization: JWT <token>`, how Connect signs server-to-server calls.
fn jwt_authorization(headers: &HeaderMap) -> Option<String> {
    authorization(headers, "JWT")
}

fn authorization(headers: &HeaderMap, scheme: &str) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (given, token) = value.split_once(' ')?;
    (given.eq_ignore_ascii_case(scheme) && !token.trim().is_empty())
        .then(|| token.trim().to_owned())
}

/// 256 random bits, hex.
fn random_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn namespaced_ids_split_back_even_with_colons() {
        for (key, id) in [("abc", "42"), ("jira:1234-ab", "x:y"), ("ü ö", "")] {
            let joined = namespaced(key, id);
            assert_eq!(split_namespaced(&joined), Some((key.to_owned(), id)));
        }
        assert_ne!(namespaced("a:b", "c"), namespaced("a", "b:c"));
    }

    #[test]
    fn cookies_and_authorization_are_parsed() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("other=1; bc_connect=tok; x=y"),
        );
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("JWT a.b.c"));
        assert_eq!(cookie(&headers, SESSION_COOKIE).as_deref(), Some("tok"));
        assert_eq!(jwt_authorization(&headers).as_deref(), Some("a.b.c"));
        assert_eq!(bearer(&headers), None);
    }
}
