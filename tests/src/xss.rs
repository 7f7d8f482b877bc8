//! The XSS corpus and the browser-side detector the corpus test runs on
//! every rendered page (issue 17, "XSS corpus in real Chromium").
//!
//! A payload only matters if the browser does something with it, so the
//! detector looks at the page the way an attacker would need it to be:
//! - **Dialogs**: `alert`, `confirm`, `prompt` and `print` are replaced by
//!   traps before any page script runs (a CDP init script through
//!   chromedriver), and WebDriver's own alert state is read after every page
//!   as well, for a dialog from somewhere the traps do not reach.
//! - **The DOM after render**: no element carries an `on*` attribute; no
//!   URL attribute is `javascript:`, `vbscript:` or `data:text/html`; links
//!   resolve to http, https or mailto only; no `<script>` that is not ours,
//!   no `<iframe>`, `<object>`, `<embed>`, `<base>`, `<frame>` or meta
//!   refresh at all (nothing we render uses them, so one is injected markup).
//!
//! The payloads are data ([`PAYLOADS`], `tests/xss/payloads.txt`) so the
//! corpus grows by adding a line. [`Detector::self_check`] plants a known hit
//! first, so a detector that sees nothing cannot pass by accident.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use fantoccini::error::CmdError;
use fantoccini::wd::WebDriverCompatibleCommand;
use serde_json::{json, Value};

use crate::browser::Browser;
use crate::workspace;

/// The corpus file, relative to the workspace root.
pub const PAYLOADS: &str = "tests/xss/payloads.txt";

/// What the scan says of a page without any payload text on it.
const NO_PAYLOAD: &str = "no payload text on the page";

/// How long a page may keep running after load before it is scanned
/// (`onerror` of a broken image, `onload`, animations start within this).
const SETTLE: Duration = Duration::from_millis(100);

/// The payloads: one per line, `#` comments and blank lines skipped, `\n`
/// turned into a newline.
pub fn payloads() -> Result<Vec<String>> {
    let path = workspace::root().join(PAYLOADS);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("could not read {}", path.display()))?;
    Ok(parse_payloads(&text))
}

fn parse_payloads(text: &str) -> Vec<String> {
    text.lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|line| line.replace("\\n", "\n"))
        .collect()
}

/// Runs before any script of every page and frame: records dialogs instead
/// of showing them (the real `alert` stays reachable for the self-check).
const TRAPS: &str = r#"
(() => {
  const calls = [];
  Object.defineProperty(window, "__bcDialogs", { value: calls });
  Object.defineProperty(window, "__bcRealAlert", { value: window.alert.bind(window) });
  for (const name of ["alert", "confirm", "prompt", "print"]) {
    window[name] = function (message) { calls.push(name + "(" + String(message) + ")"); };
  }
})();
"#;

/// Scans the rendered DOM and returns what it found wrong, as strings.
const SCAN: &str = r##"
const NO_PAYLOAD = "no payload text on the page";
const found = [];
const own = location.origin;
const urlAttrs = ["href", "src", "action", "formaction", "data", "xlink:href", "srcdoc",
  "background", "poster", "codebase", "cite", "ping", "srcset", "to", "values", "from", "by"];
const show = (el) => "<" + el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + ">";
for (const el of document.querySelectorAll("*")) {
  for (const attr of el.attributes) {
    const name = attr.name.toLowerCase();
    if (name.startsWith("on")) {
      found.push(show(el) + " has " + name + "=" + JSON.stringify(attr.value));
    }
    if (urlAttrs.includes(name) || name.endsWith(":href")) {
      const url = attr.value.replace(/[\u0000-\u0020\u007f-\u009f]/g, "").toLowerCase();
      if (/^(javascript|vbscript|livescript):/.test(url) || url.startsWith("data:text/html")
          || name === "srcdoc") {
        found.push(show(el) + " has " + name + "=" + JSON.stringify(attr.value));
      }
    }
  }
  const tag = el.tagName.toLowerCase();
  if (["iframe", "frame", "frameset", "object", "embed", "base", "applet"].includes(tag)) {
    found.push("injected element " + show(el));
  }
  if (tag === "meta" && (el.getAttribute("http-equiv") || "").toLowerCase() === "refresh") {
    found.push("meta refresh " + JSON.stringify(el.getAttribute("content")));
  }
  if (tag === "script") {
    const src = el.getAttribute("src");
    if (!src || new URL(src, location.href).origin !== own) {
      found.push("script not ours: " + (src || JSON.stringify(el.textContent.slice(0, 80))));
    }
  }
  if ((tag === "a" || tag === "area") && el.hasAttribute("href")) {
    const protocol = el.protocol;
    if (!["http:", "https:", "mailto:"].includes(protocol)) {
      found.push(show(el) + " links to " + protocol + " " + JSON.stringify(el.getAttribute("href")));
    }
  }
}
// Proof the page shows payloads at all (as text): a blank page passes
// every check above.
const text = document.body ? document.body.textContent : "";
if (!/alert\(|onerror|javascript/i.test(text)) { found.push(NO_PAYLOAD); }
const dialogs = window.__bcDialogs;
if (dialogs === undefined) { found.push("the dialog traps are missing"); }
else { for (const call of dialogs) { found.push("dialog " + call); } }
return found;
"##;

/// chromedriver's passthrough to the Chrome DevTools Protocol
/// (`POST /session/{id}/goog/cdp/execute`), which WebDriver lacks: it is the
/// only way to run a script before a page's own.
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: Value,
}

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({ "cmd": self.cmd, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// What the detector found on one rendered page.
#[derive(Debug, Clone)]
pub struct Finding {
    /// The surface and URL, e.g. `no-JS popup /rooms/abc`.
    pub page: String,
    pub what: String,
}

/// The detector on one browser, collecting [`Finding`]s across pages.
pub struct Detector<'a> {
    browser: &'a Browser,
    findings: Vec<Finding>,
    /// Pages checked per surface, and how many of them showed payload text.
    surfaces: Vec<Coverage>,
}

/// How much of one surface was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coverage {
    pub surface: String,
    pub pages: usize,
    /// Pages whose text held a payload (escaped, so shown as text).
    pub showing: usize,
}

impl<'a> Detector<'a> {
    /// Installs the dialog traps for every page `browser` opens from now on.
    pub async fn install(browser: &'a Browser) -> Result<Self> {
        browser
            .client()
            .issue_cmd(Cdp {
                cmd: "Page.addScriptToEvaluateOnNewDocument",
                params: json!({ "source": TRAPS }),
            })
            .await
            .context("could not install the dialog traps through chromedriver's CDP passthrough")?;
        Ok(Self {
            browser,
            findings: Vec::new(),
            surfaces: Vec::new(),
        })
    }

    /// Proves the detector sees a hit: on the current page, a real dialog,
    /// a trapped call, an injected handler and a `javascript:` link must
    /// each be reported. Leaves the page as it found it (apart from the
    /// planted nodes, which the caller navigates away from).
    pub async fn self_check(&mut self) -> Result<()> {
        let client = self.browser.client();
        client
            .execute(
                "setTimeout(() => window.__bcRealAlert('planted'), 0);
                 alert('trapped');
                 document.body.insertAdjacentHTML('beforeend',
                   '<img src=x onerror=\"1\"><a href=\" JaVa&#x09;script:void(0)\">x</a>');",
                Vec::new(),
            )
            .await?;
        tokio::time::sleep(SETTLE).await;
        let found = self.scan("self-check").await?;
        let want = [
            "native dialog",
            "dialog alert(trapped)",
            "onerror=",
            "links to javascript:",
        ];
        for needle in want {
            if !found.iter().any(|f| f.contains(needle)) {
                bail!("the detector missed a planted `{needle}`; it found {found:?}");
            }
        }
        Ok(())
    }

    /// Opens `url` (a `surface` of the product) and records what is wrong
    /// with it once rendered.
    pub async fn check(&mut self, surface: &str, url: &str) -> Result<()> {
        let page = format!("{surface} {}", path_of(url));
        if let Err(error) = self.browser.client().goto(url).await {
            if is_alert(&error) {
                self.record(&page, format!("a dialog opened while loading: {error}"));
            } else {
                return Err(error).with_context(|| format!("could not open {url}"));
            }
        }
        tokio::time::sleep(SETTLE).await;
        self.check_current(surface).await
    }

    /// Records what is wrong with the page as it is now (after live updates).
    pub async fn check_current(&mut self, surface: &str) -> Result<()> {
        let url = self.browser.current_url().await.unwrap_or_default();
        let page = format!("{surface} {}", path_of(&url));
        let mut showing = true;
        for what in self.scan(&page).await? {
            if what == NO_PAYLOAD {
                showing = false;
            } else {
                self.record(&page, what);
            }
        }
        let index = match self.surfaces.iter().position(|c| c.surface == surface) {
            Some(index) => index,
            None => {
                self.surfaces.push(Coverage {
                    surface: surface.to_owned(),
                    pages: 0,
                    showing: 0,
                });
                self.surfaces.len() - 1
            }
        };
        self.surfaces[index].pages += 1;
        self.surfaces[index].showing += usize::from(showing);
        Ok(())
    }

    /// WebDriver's alert state, then the DOM scan (with the trapped calls).
    async fn scan(&mut self, page: &str) -> Result<Vec<String>> {
        let client = self.browser.client();
        let mut found = Vec::new();
        // A native dialog blocks scripts: read and dismiss it first (more
        // than one may be queued).
        for _ in 0..5 {
            match client.get_alert_text().await {
                Ok(text) => {
                    found.push(format!("native dialog {text:?}"));
                    let _ = client.dismiss_alert().await;
                }
                Err(_) => break,
            }
        }
        let value = match client.execute(SCAN, Vec::new()).await {
            Ok(value) => value,
            Err(error) if is_alert(&error) => {
                found.push(format!("a dialog interrupted the scan: {error}"));
                let _ = client.dismiss_alert().await;
                client
                    .execute(SCAN, Vec::new())
                    .await
                    .with_context(|| format!("the DOM scan failed on {page}"))?
            }
            Err(error) => {
                return Err(error).with_context(|| format!("the DOM scan failed on {page}"))
            }
        };
        let list: Vec<String> = serde_json::from_value(value).context("the scan's answer")?;
        found.extend(list);
        Ok(found)
    }

    fn record(&mut self, page: &str, what: String) {
        self.findings.push(Finding {
            page: page.to_owned(),
            what,
        });
    }

    /// What was checked, surface by surface, in order.
    pub fn coverage(&self) -> &[Coverage] {
        &self.surfaces
    }

    /// Everything found so far.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }
}

fn is_alert(error: &CmdError) -> bool {
    let text = error.to_string().to_lowercase();
    text.contains("alert") || text.contains("dialog")
}

/// `/path?query` of a URL, for short messages.
fn path_of(url: &str) -> &str {
    url.find("://")
        .and_then(|scheme| url[scheme + 3..].find('/').map(|p| &url[scheme + 3 + p..]))
        .unwrap_or(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_corpus_file_parses_into_payloads() {
        let parsed = parse_payloads("# comment\n\n<b>x</b>\n[a][r]\\n\\n[r]: x\n");
        assert_eq!(parsed, ["<b>x</b>", "[a][r]\n\n[r]: x"]);
        let corpus = payloads().expect("the corpus file is readable");
        assert!(corpus.len() >= 50, "only {} payloads", corpus.len());
        assert!(corpus.iter().all(|p| !p.starts_with('#')));
    }

    #[test]
    fn paths_are_cut_from_urls() {
        assert_eq!(path_of("http://127.0.0.1:80/rooms/a?x=1"), "/rooms/a?x=1");
        assert_eq!(path_of("about:blank"), "about:blank");
    }
}
