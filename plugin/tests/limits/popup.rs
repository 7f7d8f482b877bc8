//! The no-JavaScript form decides from the headers whether the caller may
//! post, before reading the body, and reads a plain form only up to a
//! small cap.

use super::{team, SOON};
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Sends the head of a form post announcing `length` body bytes, and only
/// the first few of them; the status line of the answer, if one comes
/// within [`SOON`] while the rest of the body is still owed.
async fn status_before_the_body(
    addr: std::net::SocketAddr,
    path: &str,
    headers: &str,
    content_type: &str,
    length: usize,
) -> Option<String> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\n\
         Content-Length: {length}\r\n{headers}\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(b"body=").await.unwrap();
    let mut answer = vec![0u8; 1024];
    match tokio::time::timeout(SOON, stream.read(&mut answer)).await {
        Ok(Ok(n)) if n > 0 => {
            let text = String::from_utf8_lossy(&answer[..n]).into_owned();
            text.lines().next().map(str::to_owned)
        }
        _ => None,
    }
}

#[tokio::test]
async fn strangers_are_refused_before_their_body_is_read() {
    let t = team(|_| {}).await;
    let path = format!("/rooms/{}/messages", t.room());
    let big = 20 * 1024 * 1024;
    for (who, headers, expected) in [
        // Anonymous callers who may not read are sent to sign in.
        ("anonymous", String::new(), "303"),
        (
            "a reader",
            "Authorization: Bearer rita\r\n".to_owned(),
            "403",
        ),
        (
            "an outsider",
            "Authorization: Bearer mallory\r\n".to_owned(),
            "404",
        ),
    ] {
        for content_type in [
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
        ] {
            let status =
                status_before_the_body(t.server.addr, &path, &headers, content_type, big).await;
            let status = status.unwrap_or_else(|| {
                panic!("{who} ({content_type}): no answer while the body was owed")
            });
            assert!(
                status.contains(expected),
                "{who} ({content_type}): {status}"
            );
        }
    }
}

#[tokio::test]
async fn a_plain_form_is_read_only_up_to_a_small_cap() {
    let t = team(|_| {}).await;
    let url = format!("{}/rooms/{}/messages", t.server.base_url(), t.room());
    let form = |pad: usize| {
        format!(
            "body=hello&client_msg_id={}&pad={}",
            uuid::Uuid::new_v4(),
            "x".repeat(pad)
        )
    };
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(SOON)
        .build()
        .unwrap();
    let send = |body: String| {
        no_redirects
            .post(&url)
            .bearer_auth("alice")
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
    };
    // An ordinary post goes through (and redirects back to the room).
    let ok = send(form(10)).await.unwrap();
    assert_eq!(ok.status(), StatusCode::SEE_OTHER, "{:?}", ok.text().await);
    // A megabyte of form for a 16 KiB message is refused.
    let big = send(form(1024 * 1024)).await.unwrap();
    assert_eq!(big.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let page = big.text().await.unwrap();
    assert!(page.contains("at most"), "{page}");
}
