//! A tiny blocking HTTP/1.1 client over `std::net`, for health probes and the
//! JavaScript-off journey: one request per connection (`Connection: close`),
//! a cookie jar, form posts, and just enough HTML scraping to read a form's
//! fields the way a browser without JavaScript would.
//!
//! Loopback only, no TLS, no redirects followed: tests want to see the 303.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use anyhow::{bail, Context, Result};

/// How long one request may take before the test fails instead of hanging.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// A response, read to the end.
#[derive(Debug)]
pub struct Response {
    /// The status code, e.g. 200 or 303.
    pub status: u16,
    /// Headers in arrival order, names lower-cased; repeats (`set-cookie`) kept.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked, as text (the server speaks UTF-8 HTML and JSON).
    pub body: String,
}

impl Response {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// One client with a cookie jar, talking to `127.0.0.1:port`.
#[derive(Debug, Clone)]
pub struct Client {
    /// The server's port on loopback.
    port: u16,
    /// Cookies the server set, by name; sent back on every request, which is
    /// right for one host and paths of `/`.
    cookies: BTreeMap<String, String>,
}

impl Client {
    /// A client with an empty cookie jar.
    pub fn new(port: u16) -> Self {
        Client {
            port,
            cookies: BTreeMap::new(),
        }
    }

    /// The value of cookie `name`, if the server set it.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies.get(name).map(String::as_str)
    }

    /// `GET path`.
    pub fn get(&mut self, path: &str) -> Result<Response> {
        self.request("GET", path, None)
    }

    /// `POST path` with an `application/x-www-form-urlencoded` body.
    pub fn post_form(&mut self, path: &str, fields: &[(String, String)]) -> Result<Response> {
        let body = form_encode(fields);
        self.request(
            "POST",
            path,
            Some(("application/x-www-form-urlencoded", body.as_bytes())),
        )
    }

    /// Sends one request and reads the whole response; `Set-Cookie` headers
    /// update the jar.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        body: Option<(&str, &[u8])>,
    ) -> Result<Response> {
        let what = format!("{method} http://127.0.0.1:{}{path}", self.port);
        let response = self.exchange(method, path, body).context(what)?;
        for (name, value) in &response.headers {
            if name == "set-cookie" {
                self.store_cookie(value);
            }
        }
        Ok(response)
    }

    fn exchange(&self, method: &str, path: &str, body: Option<(&str, &[u8])>) -> Result<Response> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(REQUEST_TIMEOUT))?;
        stream.set_write_timeout(Some(REQUEST_TIMEOUT))?;

        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\
             User-Agent: backchannel-tests\r\nAccept: text/html,application/json\r\n",
            self.port
        );
        // Same-origin form posts carry an Origin, as browsers send them.
        if method != "GET" {
            let _ = write!(head, "Origin: http://127.0.0.1:{}\r\n", self.port);
        }
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect();
            let _ = write!(head, "Cookie: {}\r\n", jar.join("; "));
        }
        let payload = match body {
            Some((content_type, bytes)) => {
                let _ = write!(
                    head,
                    "Content-Type: {content_type}\r\nContent-Length: {}\r\n",
                    bytes.len()
                );
                bytes
            }
            None => &[][..],
        };
        head.push_str("\r\n");
        stream.write_all(head.as_bytes())?;
        stream.write_all(payload)?;

        // Read until the body is complete rather than to EOF: some servers
        // (chromedriver) keep the connection open despite `Connection: close`.
        let mut raw = Vec::new();
        let mut buffer = [0_u8; 8192];
        loop {
            if let Some(response) = complete_response(&raw)? {
                return Ok(response);
            }
            let read = stream.read(&mut buffer)?;
            if read == 0 {
                return parse_response(&raw);
            }
            raw.extend_from_slice(&buffer[..read]);
        }
    }

    fn store_cookie(&mut self, set_cookie: &str) {
        let pair = set_cookie.split(';').next().unwrap_or_default();
        if let Some((name, value)) = pair.split_once('=') {
            let (name, value) = (name.trim(), value.trim());
            let expired = set_cookie
                .to_ascii_lowercase()
                .split(';')
                .any(|attr| attr.trim() == "max-age=0");
            if value.is_empty() || expired {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
    }
}

/// `GET http://127.0.0.1:port/path` once, without cookies: for probes.
pub fn get(port: u16, path: &str) -> Result<Response> {
    Client::new(port).get(path)
}

/// The response in `raw` if it is complete by its `Content-Length` or final
/// chunk; `None` while more bytes are needed (or the length is only known at EOF).
fn complete_response(raw: &[u8]) -> Result<Option<Response>> {
    let Some(split) = raw.windows(4).position(|window| window == b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let body = &raw[split + 4..];
    let length = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        (name.trim() == "content-length").then(|| value.trim().parse::<usize>().ok())?
    });
    let complete = if let Some(length) = length {
        body.len() >= length
    } else if head.contains("transfer-encoding: chunked") {
        body.ends_with(b"0\r\n\r\n") && dechunk(body).is_ok()
    } else {
        // 204, 304 and replies to HEAD have no body; everything else ends at EOF.
        head.starts_with("http/1.1 204") || head.starts_with("http/1.1 304")
    };
    if complete {
        parse_response(raw).map(Some)
    } else {
        Ok(None)
    }
}

fn parse_response(raw: &[u8]) -> Result<Response> {
    let split = raw
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .context("the response has no end of headers")?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let rest = &raw[split + 4..];
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("bad status line {status_line:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    let chunked = headers.iter().any(|(name, value)| {
        name == "transfer-encoding" && value.to_ascii_lowercase().contains("chunked")
    });
    let body = if chunked {
        dechunk(rest)?
    } else {
        rest.to_vec()
    };
    Ok(Response {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = rest
            .windows(2)
            .position(|window| window == b"\r\n")
            .context("a chunk size line has no end")?;
        let size_text = String::from_utf8_lossy(&rest[..line_end]);
        let size_hex = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_hex, 16)
            .with_context(|| format!("bad chunk size {size_hex:?}"))?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        if rest.len() < size {
            bail!("a chunk is cut short");
        }
        body.extend_from_slice(&rest[..size]);
        rest = rest.get(size + 2..).unwrap_or_default();
    }
}

/// `application/x-www-form-urlencoded`, as browsers encode forms.
pub fn form_encode(fields: &[(String, String)]) -> String {
    fields
        .iter()
        .map(|(name, value)| format!("{}={}", url_encode(name), url_encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                out.push(char::from(byte));
            }
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{byte:02X}");
            }
        }
    }
    out
}

/// A form as a browser without JavaScript sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    /// The `action` attribute (entities decoded), or `None` to post back to the page.
    pub action: Option<String>,
    /// Every named `<input>`'s name and value, in document order; text areas
    /// and buttons are left to the caller.
    pub inputs: Vec<(String, String)>,
}

impl Form {
    /// The value of input `name`.
    pub fn input(&self, name: &str) -> Option<&str> {
        self.inputs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Sets input `name` to `value`, adding it if the form has no such input.
    pub fn set(&mut self, name: &str, value: &str) {
        match self.inputs.iter_mut().find(|(key, _)| key == name) {
            Some(slot) => slot.1 = value.to_string(),
            None => self.inputs.push((name.to_string(), value.to_string())),
        }
    }
}

/// The first `<form>` in `html` whose markup contains `marker`: say
/// `id="bc-form"`, `name="password"`, or `""` for the first form at all.
pub fn find_form(html: &str, marker: &str) -> Option<Form> {
    let mut from = 0;
    while let Some(offset) = html[from..].find("<form") {
        let start = from + offset;
        let tag_end = start + html[start..].find('>')?;
        let tag = &html[start..=tag_end];
        let end = html[tag_end..]
            .find("</form>")
            .map_or(html.len(), |offset| tag_end + offset);
        let inside = &html[tag_end..end];
        if tag.contains(marker) || inside.contains(marker) {
            let inputs = tags(inside, "<input")
                .filter_map(|input| {
                    Some((
                        attr(input, "name")?,
                        attr(input, "value").unwrap_or_default(),
                    ))
                })
                .collect();
            return Some(Form {
                action: attr(tag, "action"),
                inputs,
            });
        }
        from = end;
    }
    None
}

/// Every opening tag starting with `open` (e.g. `<a`) in `html`.
pub fn tags<'a>(html: &'a str, open: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    let mut from = 0;
    std::iter::from_fn(move || loop {
        let start = from + html.get(from..)?.find(open)?;
        let end = start + html[start..].find('>')?;
        from = end + 1;
        // `<a` must not match `<abbr`: the tag name ends at a space, `/` or `>`.
        let next = html[start + open.len()..].chars().next();
        if matches!(next, Some(c) if c.is_whitespace() || c == '/' || c == '>') {
            return Some(&html[start..=end]);
        }
    })
}

/// The decoded value of attribute `name` in one opening tag, quoted or not.
pub fn attr(tag: &str, name: &str) -> Option<String> {
    let mut rest = tag;
    loop {
        let at = rest.find(name)?;
        let before = rest[..at].chars().next_back();
        let after = &rest[at + name.len()..];
        rest = after;
        if !matches!(before, Some(c) if c.is_whitespace()) {
            continue;
        }
        let after = after.trim_start();
        let Some(value) = after.strip_prefix('=') else {
            // A bare attribute (`required`) or a longer name (`name` in `names`).
            if after.starts_with(['>', '/']) || after.starts_with(char::is_whitespace) {
                return Some(String::new());
            }
            continue;
        };
        let value = value.trim_start();
        let raw = match value.chars().next() {
            Some(quote @ ('"' | '\'')) => value[1..].split(quote).next().unwrap_or_default(),
            _ => value
                .split(|c: char| c.is_whitespace() || c == '>')
                .next()
                .unwrap_or_default(),
        };
        return Some(decode_entities(raw));
    }
}

/// Decodes the entities HTML serialisers emit in text and attributes.
pub fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(end) = rest.find(';').filter(|end| *end <= 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some('\u{a0}'),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_read_hidden_inputs_and_decode_entities() {
        let html = r#"<form id="search"><input name="q"></form>
            <form id="bc-form" method="post" action="/rooms/r1/messages?a=1&amp;b=2">
            <input type="hidden" name="csrf" value="t&quot;k">
            <input type=hidden name=client_msg_id value=abc>
            <textarea name="body" required></textarea></form>"#;
        let form = find_form(html, r#"id="bc-form""#).expect("form");
        assert_eq!(form.action.as_deref(), Some("/rooms/r1/messages?a=1&b=2"));
        assert_eq!(form.input("csrf"), Some("t\"k"));
        assert_eq!(form.input("client_msg_id"), Some("abc"));
        assert_eq!(form.inputs.len(), 2);
    }

    #[test]
    fn tags_match_whole_names_only() {
        let html = r#"<abbr title="x"><a class="bc-join" href="/rooms/1">Join</a>"#;
        let links: Vec<&str> = tags(html, "<a").collect();
        assert_eq!(links.len(), 1);
        assert_eq!(attr(links[0], "href").as_deref(), Some("/rooms/1"));
        assert_eq!(attr(links[0], "class").as_deref(), Some("bc-join"));
    }

    #[test]
    fn form_bodies_are_encoded_like_browsers_do() {
        let fields = vec![("body".to_string(), "a b&c=<d>é".to_string())];
        assert_eq!(form_encode(&fields), "body=a+b%26c%3D%3Cd%3E%C3%A9");
    }

    #[test]
    fn chunked_bodies_are_joined() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        let response = parse_response(raw).expect("parse");
        assert_eq!(response.status, 200);
        assert_eq!(response.body, "abcde");
    }

    #[test]
    fn entities_decode_numeric_and_named() {
        assert_eq!(
            decode_entities("&lt;b&gt; &#39;x&#x27; &amp;amp; & ;"),
            "<b> 'x' &amp; & ;"
        );
    }
}
