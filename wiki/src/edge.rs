//! The wiki's HTTP edge: how it is reached from outside, and what every
//! answer carries because of it.
//!
//! - `--public-url` says where users reach the wiki. With `https://` the
//!   cookies are `Secure` and take the `__Host-` prefix (a cookie a sibling
//!   subdomain or a plain-HTTP page cannot set or shadow); with plain
//!   `http://` (or no URL) they keep their plain names.
//! - `--trusted-proxy` lists the reverse proxies whose `X-Forwarded-For`
//!   is believed ([`crate::client`]).
//! - The **Host allow-list** defends a server bound to 127.0.0.1 against DNS
//!   rebinding: a page on `attacker.example` whose name then resolves to
//!   127.0.0.1 reaches us with `Host: attacker.example`, and is refused
//!   (400, `bad_request`). Allowed: IP literals (rebinding needs a name),
//!   `localhost`, the public URL's host, and `--allowed-host` names (`*`
//!   turns the check off). Requests without a Host header (HTTP/1.0) pass.
//! - Wiki pages carry a Content-Security-Policy (no inline script, no
//!   framing), `X-Frame-Options`, `X-Content-Type-Options` and
//!   `Referrer-Policy` ([`security_headers`]). The chat plugin's routes keep
//!   their own headers: the popup has its own CSP that external wikis may
//!   need to frame.

use crate::client::{Cidr, TrustedProxies};
use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use clap::Args;
use std::sync::Arc;

/// The Content-Security-Policy of wiki pages: our own scripts and the
/// wasm bundle only (as the chat popup), no inline script, no plugins, and
/// never inside a frame (clickjacking the edit and permission forms).
pub const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
    base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The `serve` flags that say how the wiki is reached.
#[derive(Debug, Clone, Default, Args)]
pub struct EdgeArgs {
    /// The URL users reach the wiki at, e.g. https://wiki.example.org.
    /// https:// makes cookies Secure with the __Host- prefix; its host name
    /// is allowed in the Host header.
    #[arg(long, env = "BACKCHANNEL_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// Reverse proxies (IP addresses or CIDR blocks, comma-separated or
    /// repeated) whose X-Forwarded-For header names the client.
    #[arg(
        long = "trusted-proxy",
        env = "BACKCHANNEL_TRUSTED_PROXY",
        value_name = "IP|CIDR",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<String>,
    /// More host names allowed in the Host header (besides IP addresses,
    /// localhost and the public URL's host); `*` allows any.
    #[arg(
        long = "allowed-host",
        env = "BACKCHANNEL_ALLOWED_HOST",
        value_name = "NAME",
        value_delimiter = ','
    )]
    pub allowed_hosts: Vec<String>,
}

/// How the wiki is reached, parsed from [`EdgeArgs`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Edge {
    /// Whether users reach us over HTTPS (from `--public-url`).
    pub https: bool,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: TrustedProxies,
    /// Host names (lowercase, no port) allowed in `Host`; `None` allows any.
    pub allowed_hosts: Option<Vec<String>>,
}

impl Edge {
    /// Parses and checks the flags.
    pub fn from_args(args: &EdgeArgs) -> anyhow::Result<Edge> {
        let mut hosts = vec!["localhost".to_owned()];
        let mut https = false;
        if let Some(url) = args.public_url.as_deref().filter(|u| !u.trim().is_empty()) {
            let (scheme_https, host) = parse_public_url(url)?;
            https = scheme_https;
            hosts.push(host);
        }
        let mut any = false;
        for host in &args.allowed_hosts {
            let host = host.trim();
            if host == "*" {
                any = true;
            } else if !host.is_empty() {
                hosts.push(normal_host(host));
            }
        }
        let trusted_proxies = args
            .trusted_proxies
            .iter()
            .filter(|p| !p.trim().is_empty())
            .map(|p| p.parse::<Cidr>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|err| anyhow::anyhow!("--trusted-proxy: {err}"))?;
        Ok(Edge {
            https,
            trusted_proxies: TrustedProxies(trusted_proxies),
            allowed_hosts: (!any).then_some(hosts),
        })
    }

    /// Whether a request's `Host` header value may be answered.
    pub fn host_allowed(&self, host: &str) -> bool {
        let Some(allowed) = &self.allowed_hosts else {
            return true;
        };
        let name = normal_host(strip_port(host));
        if name.parse::<std::net::IpAddr>().is_ok()
            || name
                .strip_prefix('[')
                .and_then(|n| n.strip_suffix(']'))
                .is_some_and(|n| n.parse::<std::net::Ipv6Addr>().is_ok())
        {
            return true;
        }
        allowed.contains(&name)
    }
}

/// `(https?, host)` of a `--public-url`.
fn parse_public_url(url: &str) -> anyhow::Result<(bool, String)> {
    let url = url.trim();
    let (https, rest) = if let Some(rest) = url.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("http://") {
        (false, rest)
    } else {
        anyhow::bail!("--public-url {url:?} must start with https:// or http://");
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') {
        anyhow::bail!("--public-url {url:?} needs a host name and no user name");
    }
    Ok((https, normal_host(strip_port(authority))))
}

/// `host:port` or `[v6]:port` without the port.
fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host
            .split_once(']')
            .map_or(host, |(v6, _)| &host[..=v6.len()]);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// A host name as compared: lowercase, no trailing dot.
fn normal_host(host: &str) -> String {
    host.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// Refuses requests whose `Host` is not allowed (see the module docs).
pub async fn check_host(State(edge): State<Arc<Edge>>, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .map(|value| value.to_str().unwrap_or("\u{fffd}"))
        .or_else(|| request.uri().host());
    if let Some(host) = host {
        if !edge.host_allowed(host) {
            tracing::info!(host = ?host, "refused a request for an unknown host");
            return plugin::AppError::new(
                protocol::ErrorCode::BadRequest,
                "this server does not answer for that host name (see --public-url and --allowed-host)",
            )
            .into_response();
        }
    }
    next.run(request).await
}

/// Adds the wiki pages' security headers to answers that have none of
/// their own.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
    ] {
        set_if_missing(headers, name, value);
    }
    response
}

fn set_if_missing(headers: &mut axum::http::HeaderMap, name: HeaderName, value: &'static str) {
    if !headers.contains_key(&name) {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(public_url: Option<&str>, allowed: &[&str]) -> Edge {
        Edge::from_args(&EdgeArgs {
            public_url: public_url.map(str::to_owned),
            trusted_proxies: Vec::new(),
            allowed_hosts: allowed.iter().map(|h| (*h).to_owned()).collect(),
        })
        .unwrap()
    }

    #[test]
    fn hosts_are_allowed_by_name_or_as_addresses() {
        let local = edge(None, &[]);
        assert!(!local.https);
        for ok in [
            "127.0.0.1:8080",
            "localhost:8080",
            "LOCALHOST.",
            "[::1]:8080",
            "10.0.0.5",
        ] {
            assert!(local.host_allowed(ok), "{ok}");
        }
        for bad in [
            "rebind.attacker.example",
            "rebind.attacker.example:8080",
            "",
        ] {
            assert!(!local.host_allowed(bad), "{bad}");
        }
        let public = edge(Some("https://Wiki.Example.org:8443/base"), &["intranet"]);
        assert!(public.https);
        assert!(public.host_allowed("wiki.example.org"));
        assert!(public.host_allowed("intranet:8080"));
        assert!(!public.host_allowed("example.org"));
        assert!(edge(None, &["*"]).host_allowed("anything.example"));
        assert!(!edge(Some("http://wiki.example.org"), &[]).https);
    }

    #[test]
    fn bad_settings_are_refused() {
        for url in ["wiki.example.org", "ftp://x", "https://", "https://u@host/"] {
            let args = EdgeArgs {
                public_url: Some(url.to_owned()),
                ..EdgeArgs::default()
            };
            assert!(Edge::from_args(&args).is_err(), "{url}");
        }
        let args = EdgeArgs {
            trusted_proxies: vec!["10.0.0.0/99".into()],
            ..EdgeArgs::default()
        };
        assert!(Edge::from_args(&args).is_err());
    }
}
