//! An installation's `baseUrl`: what the plugin accepts at install, where
//! it lets the plugin connect, and which links an external wiki may hand
//! back.
//!
//! - **At install** ([`check_base_url`]): an http(s) URL with a host, no
//!   userinfo, query or fragment (each could make the plugin call, or a
//!   reader see, something other than what an operator reads in the log).
//!   When [`ConnectConfig::allowed_base_urls`] is set, the URL's origin
//!   (scheme, host and port) must equal one of theirs exactly: no prefix
//!   match, so `https://wiki.example.com.evil.net` is not
//!   `https://wiki.example.com`. A literal loopback, private, link-local
//!   or otherwise internal address (and `localhost`) is refused unless
//!   [`ConnectConfig::allow_private_base_urls`] is set.
//! - **At connect time** ([`PublicOnly`]): host names resolve only to
//!   public addresses, so a name that later points at `127.0.0.1` or the
//!   cloud metadata address (DNS rebinding) is not reached either.
//! - **Links back** ([`same_origin`]): a transcript or page URL an external
//!   wiki returns is resolved against its `baseUrl` and kept only if it is
//!   http(s) on that same origin: never `javascript:`, never another site.
//!
//! [`ConnectConfig::allowed_base_urls`]: super::ConnectConfig::allowed_base_urls
//! [`ConnectConfig::allow_private_base_urls`]: super::ConnectConfig::allow_private_base_urls

use super::ConnectConfig;
use crate::error::AppError;
use protocol::ErrorCode;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::Url;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// A `baseUrl` the plugin may call, without its trailing `/`.
pub(crate) fn check_base_url(config: &ConnectConfig, base_url: &str) -> Result<String, AppError> {
    let invalid = |why: &str| AppError::new(ErrorCode::InvalidInput, format!("baseUrl {why}"));
    let url = Url::parse(base_url).map_err(|_| invalid("is not a URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("must be an http(s) URL"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("must not carry credentials"));
    }
    if url.query().is_some() || url.fragment().is_some() || base_url.contains('#') {
        return Err(invalid("must not have a query or a fragment"));
    }
    let allowed = &config.allowed_base_urls;
    if !allowed.is_empty()
        && !allowed
            .iter()
            .filter_map(|a| Url::parse(a).ok())
            .any(|a| a.origin() == url.origin())
    {
        return Err(AppError::forbidden("this baseUrl is not allowed here"));
    }
    if !config.allow_private_base_urls && internal_host(&url) {
        return Err(AppError::forbidden(
            "baseUrl points at a loopback, private or internal address",
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// Whether `url`'s host is an internal address written out (or `localhost`).
fn internal_host(url: &Url) -> bool {
    // The URL parser has already normalised IPv4 forms (`2130706433`,
    // `0x7f.1`) to dotted quads; IPv6 comes in brackets.
    let Some(host) = url.host_str() else {
        return true;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => is_internal(ip),
        Err(_) => {
            let name = bare.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
    }
}

/// Loopback, private, link-local (cloud metadata), shared, unspecified,
/// multicast, broadcast, documentation, and their IPv6 forms.
pub(crate) fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_internal_v4(ip),
        IpAddr::V6(ip) => {
            if let Some(v4) = ip.to_ipv4_mapped() {
                return is_internal_v4(v4);
            }
            let first = ip.segments()[0];
            ip.is_loopback()
                || ip.is_unspecified()
                || ip.is_multicast()
                // fc00::/7 unique local, fe80::/10 link-local, 2001:db8::/32 documentation.
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || (first == 0x2001 && ip.segments()[1] == 0x0db8)
                || ip == Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0)
        }
    }
}

fn is_internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        // 100.64.0.0/10, carrier-grade NAT.
        || (a == 100 && (64..128).contains(&b))
        // 198.18.0.0/15, benchmarking.
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240
}

/// A DNS resolver for calls to wikis that drops internal addresses, so a
/// public name cannot be pointed at the plugin's own network later.
pub(crate) struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|addr| !is_internal(addr.ip()))
                .collect();
            if found.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            Ok(Box::new(found.into_iter()) as Addrs)
        })
    }
}

/// `link` resolved against `base_url`, if it is http(s) on the same origin.
pub(crate) fn same_origin(base_url: &str, link: &str) -> Option<String> {
    // The base URL without its trailing `/` is stored; a path on it must
    // resolve below it, so put the `/` back.
    let base = Url::parse(&format!("{base_url}/")).ok()?;
    if link.len() > 2048 || link.chars().any(|c| c.is_control() || c == '\\') {
        return None;
    }
    let resolved = base.join(link).ok()?;
    (matches!(resolved.scheme(), "http" | "https")
        && resolved.origin() == base.origin()
        && resolved.username().is_empty()
        && resolved.password().is_none())
    .then(|| resolved.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(allowed: &[&str], private: bool) -> ConnectConfig {
        ConnectConfig {
            allowed_base_urls: allowed.iter().map(|a| (*a).to_owned()).collect(),
            allow_private_base_urls: private,
            ..ConnectConfig::default()
        }
    }

    #[test]
    fn base_urls_are_checked_by_exact_origin() {
        let listed = config(&["https://wiki.example.com"], false);
        for (url, code) in [
            ("https://wiki.example.com/", None),
            ("https://wiki.example.com/confluence", None),
            (
                "https://wiki.example.com.evil.net/",
                Some(ErrorCode::Forbidden),
            ),
            ("https://wiki.example.com:8443/", Some(ErrorCode::Forbidden)),
            ("http://wiki.example.com/", Some(ErrorCode::Forbidden)),
            ("https://wiki.example.co/", Some(ErrorCode::Forbidden)),
            (
                "https://wiki.example.com@evil.net/",
                Some(ErrorCode::InvalidInput),
            ),
            (
                "https://user:pw@wiki.example.com/",
                Some(ErrorCode::InvalidInput),
            ),
            (
                "https://wiki.example.com/#frag",
                Some(ErrorCode::InvalidInput),
            ),
            ("https://wiki.example.com/#", Some(ErrorCode::InvalidInput)),
            (
                "https://wiki.example.com/?q=1",
                Some(ErrorCode::InvalidInput),
            ),
            (
                "javascript://wiki.example.com/",
                Some(ErrorCode::InvalidInput),
            ),
            ("file:///etc/passwd", Some(ErrorCode::InvalidInput)),
        ] {
            let got = check_base_url(&listed, url).err().map(|e| e.code);
            assert_eq!(got, code, "{url}");
        }
    }

    #[test]
    fn internal_addresses_are_refused_unless_allowed() {
        let open = config(&[], false);
        for url in [
            "http://127.0.0.1:8080/",
            "http://localhost/",
            "http://LOCALHOST./",
            "http://169.254.169.254/",
            "http://10.1.2.3/",
            "http://192.168.0.1/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[fd00::1]/",
            "http://0.0.0.0/",
            "http://2130706433/",
        ] {
            let got = check_base_url(&open, url).err().map(|e| e.code);
            assert_eq!(got, Some(ErrorCode::Forbidden), "{url}");
        }
        assert!(check_base_url(&open, "https://93.184.215.14/wiki").is_ok());
        let private = config(&[], true);
        assert!(check_base_url(&private, "http://127.0.0.1:8080/wiki/").is_ok());
    }

    #[test]
    fn links_back_stay_on_the_wikis_origin() {
        let base = "https://wiki.example/w";
        for (link, kept) in [
            ("/w/pages/42", Some("https://wiki.example/w/pages/42")),
            ("pages/42", Some("https://wiki.example/w/pages/42")),
            ("https://wiki.example/x", Some("https://wiki.example/x")),
            ("javascript:alert(1)", None),
            ("JaVaScRiPt:alert(1)", None),
            ("data:text/html,x", None),
            ("//evil.example/x", None),
            ("https://evil.example/x", None),
            ("http://wiki.example/x", None),
            ("https://wiki.example:444/x", None),
            ("/\\evil.example", None),
            ("https://user@wiki.example/x", None),
        ] {
            assert_eq!(same_origin(base, link).as_deref(), kept, "{link}");
        }
    }

    #[tokio::test]
    async fn names_resolve_only_to_public_addresses() {
        use std::str::FromStr;
        // `localhost` resolves (from /etc/hosts, no network needed) to
        // loopback only, which the resolver drops.
        let name = Name::from_str("localhost").unwrap();
        let refused = PublicOnly.resolve(name).await;
        assert!(refused.is_err(), "loopback is never dialled");
    }
}
