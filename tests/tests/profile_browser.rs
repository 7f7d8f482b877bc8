//! Issue 20's pictures in real, headless Chromium against the real
//! `backchannel` binary: bob, present in the Lobby, uploads a 4000x3000
//! JPEG as his profile picture; in alice's open popup his earlier message
//! turns from a letter into that picture without a reload (the profile
//! event), his next message arrives with it, and every fixed size is
//! served as a square JPEG. His display name, set afterwards, is the
//! author name of what he writes next.
//!
//! Screenshots go to `target/e2e/profile-*.png`. Without Chromium, the
//! binary or the wasm bundle this prints `SKIPPED: ...` and passes, except
//! under `CI=true`.

use std::io::Cursor;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use backchannel_tests::api::Api;
use backchannel_tests::browser::Browser;
use backchannel_tests::chat;
use backchannel_tests::journey::{self, Setup};
use backchannel_tests::server::TestServer;
use image::{ImageBuffer, ImageFormat, Rgb, RgbImage};
use serde_json::json;

const TEST: &str = "profile_browser::a_new_picture_shows_live_in_another_popup";
const BUDGET: Duration = Duration::from_secs(180);
const ALICE: (&str, &str) = ("alice", "alice-profile-password-1");
const BOB: (&str, &str) = ("bob", "bob-profile-password-2");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_picture_shows_live_in_another_popup() {
    let setup = Setup {
        test: TEST,
        name: "profile_browser",
        env: &[],
        users: &[ALICE, BOB],
        who: "alice",
        javascript: true,
        budget: BUDGET,
    };
    journey::run(setup, |server, browser| Box::pin(steps(server, browser))).await;
}

async fn steps(server: &TestServer, alice: &Browser) -> Result<()> {
    let base = server.url("");
    let bob = Api::sign_in(server.port(), BOB.0, BOB.1).await?;
    let room = bob.lobby().await?;
    let first = bob.say(&room, "before the picture", "p-1").await?;
    // Bob is in the room (as his open popup would keep him).
    let here = bob
        .request(
            reqwest::Method::POST,
            &format!("/api/rooms/{room}/presence"),
        )
        .json(&json!({ "status": "active" }))
        .send()
        .await?;
    ensure!(
        here.status() == 204,
        "bob's presence answered {}",
        here.status()
    );

    chat::sign_in(alice, &base, ALICE.0, ALICE.1).await?;
    alice.goto(&format!("{base}/rooms/{room}")).await?;
    chat::wait_connected(alice).await?;
    let letter = alice
        .eval(
            &format!(
                "return document.querySelector('#m-{} .bc-avatar').tagName;",
                first.seq
            ),
            Vec::new(),
        )
        .await?;
    ensure!(
        letter == "SPAN",
        "before any picture bob's message shows {letter}, not his letter"
    );

    // Bob uploads a photo-sized JPEG.
    let uploaded = bob
        .request(reqwest::Method::PUT, "/api/users/me/avatar")
        .header("content-type", "image/jpeg")
        .body(big_jpeg()?)
        .send()
        .await?;
    ensure!(
        uploaded.status() == 200,
        "uploading the picture answered {}: {}",
        uploaded.status(),
        uploaded.text().await?
    );
    let profile: serde_json::Value = uploaded.json().await?;
    let avatar = profile["avatar"]
        .as_str()
        .context("no avatar URL")?
        .to_owned();
    ensure!(
        avatar.contains("?v="),
        "the picture URL is not versioned: {avatar}"
    );

    // Alice's popup shows it beside his earlier message, live and loaded.
    let shown = alice
        .wait_until(
            "bob's picture beside his earlier message",
            &format!(
                "const img = document.querySelector('#m-{} img.bc-avatar');
                 return img && img.complete && img.naturalWidth > 0 && img.getAttribute('src');",
                first.seq
            ),
        )
        .await?;
    ensure!(
        shown
            .as_str()
            .is_some_and(|src| src.starts_with("/users/bob/avatar/64?v=")),
        "the picture shown is {shown}"
    );

    // His next message arrives with it too.
    let next = bob.say(&room, "after the picture", "p-2").await?;
    alice
        .wait_until(
            "bob's picture beside his new message",
            &format!(
                "const img = document.querySelector('#m-{} img.bc-avatar');
                 return img && img.complete && img.naturalWidth === 64;",
                next.seq
            ),
        )
        .await?;
    // And beside his name in "Here now".
    alice
        .wait_until(
            "bob's picture in Here now",
            "const img = document.querySelector('#bc-present li[data-user=\"bob\"] img.bc-face');
             return img && img.getAttribute('src').startsWith('/users/bob/avatar/64?v=');",
        )
        .await?;
    alice.screenshot("profile-popup").await?;

    // Every fixed size is a square JPEG.
    let version = avatar.rsplit("?v=").next().unwrap_or_default();
    for size in [32u32, 64, 128, 256] {
        let response =
            reqwest::get(server.url(&format!("/users/bob/avatar/{size}?v={version}"))).await?;
        ensure!(
            response.status() == 200,
            "size {size}: {}",
            response.status()
        );
        let kind = response.headers()["content-type"].to_str()?.to_owned();
        ensure!(kind == "image/jpeg", "size {size} is {kind}");
        let picture = image::load_from_memory(&response.bytes().await?)?;
        ensure!(
            (picture.width(), picture.height()) == (size, size),
            "size {size} is {}x{}",
            picture.width(),
            picture.height()
        );
    }

    // A display name names what he writes next.
    let named = bob
        .request(reqwest::Method::PUT, "/api/users/me/profile")
        .json(&json!({ "name": "Bob the Builder" }))
        .send()
        .await?;
    ensure!(
        named.status() == 200,
        "setting a display name answered {}",
        named.status()
    );
    let later = bob.say(&room, "with my name", "p-3").await?;
    ensure!(
        later.author_name == "Bob the Builder",
        "the message is by {:?}",
        later.author_name
    );
    alice
        .wait_until(
            "the new name in alice's popup",
            &format!(
                "const li = document.querySelector('#m-{}');
                 return li && li.querySelector('.bc-author').textContent === 'Bob the Builder';",
                later.seq
            ),
        )
        .await?;
    Ok(())
}

/// A photo-sized JPEG: a gradient, so every size has real content.
fn big_jpeg() -> Result<Vec<u8>> {
    let image: RgbImage = ImageBuffer::from_fn(4000, 3000, |x, y| {
        Rgb([(x / 16) as u8, (y / 12) as u8, ((x + y) / 28) as u8])
    });
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, ImageFormat::Jpeg)?;
    Ok(out.into_inner())
}
