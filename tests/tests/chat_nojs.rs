//! The room with JavaScript off: sign in with the plain login form, follow
//! Join Chat, post with the popup's form (CSRF token included, as a browser
//! would send it), and read the message back after the redirect, escaped.
//! Plain HTTP with a cookie jar; no browser needed, only the binary.

use anyhow::{bail, ensure, Context, Result};
use backchannel_tests::http::{self, Client};
use backchannel_tests::server::{self, TestServer};
use backchannel_tests::skip;

const TEST: &str = "chat_nojs::a_message_posted_without_javascript_is_shown_escaped";

const ALICE: (&str, &str) = ("alice", "alice-nojs-password-1");
const BODY: &str = "Posted without JavaScript: <i>not italic</i> & fine";

#[test]
fn a_message_posted_without_javascript_is_shown_escaped() {
    let Some(binary) = skip::require(TEST, server::binary()) else {
        return;
    };
    let server = TestServer::start("chat_nojs", &binary).expect("the server starts");
    server.add_user(ALICE.0, ALICE.1).expect("alice is created");
    if let Err(error) = journey(&server) {
        panic!(
            "{error:#}\n\nserver log ({}), last lines:\n{}",
            server.log_path().display(),
            server.log_tail(30)
        );
    }
}

fn journey(server: &TestServer) -> Result<()> {
    let mut alice = Client::new(server.port());
    sign_in(&mut alice, ALICE.0, ALICE.1)?;

    // The Welcome page's chat table links to the room.
    let home = alice.get("/")?;
    ensure!(home.status == 200, "GET / answered {}", home.status);
    let join = http::tags(&home.body, "<a")
        .find(|tag| http::attr(tag, "class").is_some_and(|class| class.contains("bc-join")))
        .and_then(|tag| http::attr(tag, "href"))
        .context("the Welcome page has no Join Chat link (a.bc-join)")?;
    ensure!(join.starts_with("/rooms/"), "Join Chat links to {join:?}");

    let popup = alice.get(&join)?;
    ensure!(popup.status == 200, "GET {join} answered {}", popup.status);
    ensure!(
        popup.body.contains(r#"id="bc-refresh""#),
        "the popup has no Refresh link for readers without JavaScript"
    );
    let form = http::find_form(&popup.body, r#"id="bc-form""#)
        .context("the popup has no form#bc-form for posting without JavaScript")?;
    let csrf = form.input("csrf").unwrap_or_default().to_string();
    ensure!(!csrf.is_empty(), "the popup form carries no CSRF token");
    let action = form.action.clone().unwrap_or_else(|| join.clone());

    // A post without the CSRF token is refused and stores nothing.
    let mut forged = form.clone();
    forged.set("csrf", "forged");
    forged.set("client_msg_id", "forged-1");
    let mut fields = forged.inputs.clone();
    fields.push(("body".into(), "forged message".into()));
    let refused = alice.post_form(&action, &fields)?;
    ensure!(
        refused.status != 303,
        "a post with a wrong CSRF token was accepted (303 to {:?})",
        refused.header("location")
    );

    // The real post redirects back to the room, at the new message.
    let mut fields = form.inputs.clone();
    fields.push(("body".into(), BODY.into()));
    let posted = alice.post_form(&action, &fields)?;
    ensure!(
        posted.status == 303,
        "posting the form answered {} (expected 303 back to the room): {}",
        posted.status,
        excerpt(&posted.body)
    );
    let location = posted.header("location").unwrap_or_default().to_string();
    ensure!(
        location.starts_with(&join),
        "after posting, the redirect goes to {location:?}, not back to {join}"
    );

    // Reading the room shows it once, escaped, by alice; the forgery is absent.
    let page = location.split('#').next().unwrap_or(&location).to_string();
    let room = alice.get(&page)?;
    ensure!(room.status == 200, "GET {page} answered {}", room.status);
    let escaped = "Posted without JavaScript: &lt;i&gt;not italic&lt;/i&gt; &amp; fine";
    ensure!(
        room.body.matches(escaped).count() == 1,
        "the room should show the message once, escaped ({escaped:?}); the page has it {} \
         times (raw markup present: {})",
        room.body.matches(escaped).count(),
        room.body.contains("<i>not italic</i>")
    );
    ensure!(
        !room.body.contains("forged message"),
        "the post with a forged CSRF token was stored"
    );
    let items: Vec<&str> = http::tags(&room.body, "<li")
        .filter(|tag| http::attr(tag, "class").is_some_and(|class| class.contains("bc-msg")))
        .collect();
    ensure!(
        items.len() == 1,
        "expected one li.bc-msg, found {}",
        items.len()
    );
    let author_shown = room
        .body
        .contains(r#"<span class="bc-author">alice</span>"#);
    ensure!(author_shown, "the message does not show its author, alice");
    Ok(())
}

/// Signs in through the plain `/login` form; the server answers with a 303
/// and a session cookie.
fn sign_in(client: &mut Client, user: &str, password: &str) -> Result<()> {
    let login = client.get("/login")?;
    ensure!(login.status == 200, "GET /login answered {}", login.status);
    let mut form = http::find_form(&login.body, r#"name="password""#)
        .context("/login has no form with a password field")?;
    form.set("username", user);
    form.set("password", password);
    let action = form.action.clone().unwrap_or_else(|| "/login".into());
    let response = client.post_form(&action, &form.inputs)?;
    if response.status != 303 {
        bail!(
            "signing in as {user} answered {} (expected a 303): {}",
            response.status,
            excerpt(&response.body)
        );
    }
    Ok(())
}

/// The start of a body, for error messages.
fn excerpt(body: &str) -> &str {
    let end = body
        .char_indices()
        .nth(300)
        .map_or(body.len(), |(index, _)| index);
    &body[..end]
}
