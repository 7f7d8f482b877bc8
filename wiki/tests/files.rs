//! Files in rooms, through the whole app in-process (real SQLite, real
//! files on disk): upload and download byte for byte, listing, safe
//! serving headers, access checks, traversal names and size limits.

// Test scaffolding: a failure should panic the test that called it.
#![allow(clippy::unwrap_used)]

mod common;

use axum::body::Body;
use axum::http::{header, Request};
use common::{get, send, session_cookie, start};

const BOUNDARY: &str = "bcTestBoundary7MA4YWxkTrZu0gW";

/// A multipart body with one `file` field (and an optional comment).
fn multipart(name: &str, bytes: &[u8], comment: Option<&str>) -> Vec<u8> {
    let mut body = Vec::new();
    if let Some(comment) = comment {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"body\"\r\n\r\n{comment}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn upload(
    router: &axum::Router,
    cookie: &str,
    room: &str,
    name: &str,
    bytes: &[u8],
) -> common::Reply {
    let request = Request::post(format!("/api/rooms/{room}/files"))
        .header(header::COOKIE, cookie)
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(Body::from(multipart(name, bytes, Some("have a look"))))
        .unwrap();
    send(router, request).await
}

fn lobby(home: &str) -> String {
    let start = home.find("/rooms/").unwrap() + "/rooms/".len();
    home[start..]
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect()
}

/// Downloads `url` with the raw bytes.
async fn download(
    router: &axum::Router,
    url: &str,
    cookie: Option<&str>,
) -> (u16, axum::http::HeaderMap, Vec<u8>) {
    use tower::ServiceExt as _;
    let mut request = Request::get(url);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    let response = router
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, headers, bytes.to_vec())
}

fn files_on_disk(dir: &std::path::Path) -> usize {
    fn walk(dir: &std::path::Path, count: &mut usize) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, count);
            } else {
                *count += 1;
            }
        }
    }
    let mut count = 0;
    walk(dir, &mut count);
    count
}

#[tokio::test]
async fn files_round_trip_and_are_listed_for_others() {
    let wiki = start();
    let router = &wiki.parts.router;
    let admin = session_cookie(&wiki, "admin").await;
    let room = lobby(&get(router, "/", Some(&admin)).await.body);

    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let reply = upload(router, &admin, &room, "../../etc/report.bin", &bytes).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let answer: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(answer["name"], "report.bin", "the path is stripped");
    assert_eq!(answer["size"], 300_000);
    let url = answer["url"].as_str().unwrap().to_owned();
    assert_eq!(answer["message"]["attachments"][0]["url"], url.as_str());

    let (status, headers, got) = download(router, &url, Some(&admin)).await;
    assert_eq!(status, 200);
    assert_eq!(got, bytes, "byte for byte");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(headers["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment;"));
    assert_eq!(headers["content-type"], "application/octet-stream");

    // Anyone who may read the room (here: anonymous readers) sees the file
    // in the room info and the macro table.
    let info = get(router, &format!("/api/rooms/{room}"), None).await;
    assert!(info.body.contains("report.bin"), "{}", info.body);
    let home = get(router, "/", None).await;
    assert!(home.body.contains(&url), "the macro table links the file");

    // The same bytes again are stored once.
    let again = upload(router, &admin, &room, "copy.bin", &bytes).await;
    assert_eq!(again.status, 201);
    let blobs = files_on_disk(&wiki.dir.path().join("files"));
    assert_eq!(blobs, 1, "content-addressed: one blob for identical bytes");
}

#[tokio::test]
async fn hostile_files_are_never_served_as_active_content() {
    let wiki = start();
    let router = &wiki.parts.router;
    let admin = session_cookie(&wiki, "admin").await;
    let room = lobby(&get(router, "/", Some(&admin)).await.body);

    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#;
    let html_as_png = b"<html><script>alert(1)</script></html>";
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    for (name, bytes, inline) in [
        ("drawing.svg", &svg[..], false),
        ("photo.png", &html_as_png[..], false),
        ("%22><img src=x onerror=alert(1)>.txt", &b"hello"[..], false),
        ("real.png", &png[..], true),
    ] {
        let reply = upload(router, &admin, &room, name, bytes).await;
        assert_eq!(reply.status, 201, "{name}: {}", reply.body);
        let answer: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        let (status, headers, _) =
            download(router, answer["url"].as_str().unwrap(), Some(&admin)).await;
        assert_eq!(status, 200);
        assert_eq!(headers["x-content-type-options"], "nosniff", "{name}");
        assert!(
            headers["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("sandbox"),
            "{name}"
        );
        let disposition = headers["content-disposition"].to_str().unwrap();
        if inline {
            assert_eq!(headers["content-type"], "image/png");
            assert!(disposition.starts_with("inline;"), "{disposition}");
        } else {
            assert_eq!(
                headers["content-type"], "application/octet-stream",
                "{name}"
            );
            assert!(
                disposition.starts_with("attachment;"),
                "{name}: {disposition}"
            );
        }
    }
    // The hostile name is escaped wherever it is shown.
    let popup = get(router, &format!("/rooms/{room}"), Some(&admin)).await;
    assert!(
        !popup.body.contains("<img src=x"),
        "the popup escapes file names"
    );
    assert!(
        popup
            .body
            .contains("&lt;img src=x onerror=alert(1)&gt;.txt"),
        "the popup shows the name as text"
    );
    assert!(
        popup.body.contains(r#"class="bc-thumb""#),
        "real images get a thumbnail"
    );
    let home = get(router, "/", Some(&admin)).await;
    assert!(
        !home.body.contains("<img src=x"),
        "the macro table escapes file names"
    );
}

#[tokio::test]
async fn readers_without_access_get_404_and_oversize_uploads_leave_nothing() {
    let wiki = start();
    let router = &wiki.parts.router;
    let admin = session_cookie(&wiki, "admin").await;
    let room = lobby(&get(router, "/", Some(&admin)).await.body);
    let reply = upload(router, &admin, &room, "secret.txt", b"top secret").await;
    let answer: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    let url = answer["url"].as_str().unwrap().to_owned();

    // A file id in another room, or an unknown one: 404.
    let wrong = url.replace(&room, "0000000000000000");
    assert_eq!(download(router, &wrong, Some(&admin)).await.0, 404);
    let (status, _, _) = download(router, &format!("/files/{room}/nope/x.txt"), Some(&admin)).await;
    assert_eq!(status, 404);

    // Uploading needs a signed-in writer.
    let anonymous = Request::post(format!("/api/rooms/{room}/files"))
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(Body::from(multipart("a.txt", b"x", None)))
        .unwrap();
    assert_eq!(send(router, anonymous).await.status, 401);

    // Over the limit: 413, and no partial file left in storage or staging.
    let before = files_on_disk(&wiki.dir.path().join("files"));
    let big = vec![7u8; (plugin::files::DEFAULT_MAX_UPLOAD_BYTES + 1024) as usize];
    let reply = upload(router, &admin, &room, "big.bin", &big).await;
    assert_eq!(reply.status, 413, "{}", reply.body);
    assert!(reply.body.contains("payload_too_large"), "{}", reply.body);
    assert_eq!(
        files_on_disk(&wiki.dir.path().join("files")),
        before,
        "nothing left behind"
    );
}

/// The value of the popup form's hidden `csrf` field.
fn csrf_of(popup: &str) -> String {
    let marker = r#"name="csrf" value=""#;
    let start = popup.find(marker).unwrap() + marker.len();
    popup[start..].split('"').next().unwrap().to_owned()
}

fn form_with_file(csrf: &str, name: &str, bytes: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"client_msg_id\"\r\n\r\nnojs-1\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&multipart(name, bytes, Some("from the plain form")));
    body
}

#[tokio::test]
async fn the_no_javascript_form_shares_files_and_checks_csrf() {
    let wiki = start();
    let router = &wiki.parts.router;
    let admin = session_cookie(&wiki, "admin").await;
    let room = lobby(&get(router, "/", Some(&admin)).await.body);
    let popup = get(router, &format!("/rooms/{room}"), Some(&admin)).await;
    assert!(popup.body.contains(r#"enctype="multipart/form-data""#));
    assert!(popup.body.contains(r#"type="file" name="file""#));
    let csrf = csrf_of(&popup.body);

    let post = |csrf: String| {
        Request::post(format!("/rooms/{room}/messages"))
            .header(header::COOKIE, &admin)
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(Body::from(form_with_file(
                &csrf,
                "notes.txt",
                b"plain form bytes",
            )))
            .unwrap()
    };
    let before = files_on_disk(&wiki.dir.path().join("files"));
    let refused = send(router, post("wrong".into())).await;
    assert_eq!(refused.status, 403, "a wrong CSRF token is refused");
    assert_eq!(
        files_on_disk(&wiki.dir.path().join("files")),
        before,
        "the refused upload left nothing behind"
    );

    let sent = send(router, post(csrf)).await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let popup = get(router, &format!("/rooms/{room}"), Some(&admin)).await;
    assert!(popup.body.contains("from the plain form"));
    assert!(
        popup.body.contains(">notes.txt</a>"),
        "the file is linked in the message"
    );
}
