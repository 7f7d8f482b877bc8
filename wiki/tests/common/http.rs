//! The test wiki served on a real socket (`127.0.0.1:0`) and a small HTTP
//! client for it, for tests that must go over the wire.

use super::TestWiki;

/// The served wiki: its base URL and a client (no redirects followed, so
/// tests see the 303s the forms answer with).
pub struct Served {
    pub base: String,
    pub client: reqwest::Client,
    /// The server task, stopped when this drops.
    server: tokio::task::JoinHandle<()>,
}

/// A response with its body read.
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Serves `wiki`'s router on a free loopback port.
pub async fn serve(wiki: &TestWiki) -> Served {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = wiki.parts.router.clone();
    let server = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Served {
        base,
        client,
        server,
    }
}

impl Served {
    async fn answer(request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.unwrap();
        Answer {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response.text().await.unwrap(),
        }
    }

    fn with_cookie(
        request: reqwest::RequestBuilder,
        cookie: Option<&str>,
    ) -> reqwest::RequestBuilder {
        match cookie {
            Some(cookie) => request.header(reqwest::header::COOKIE, cookie),
            None => request,
        }
    }

    pub async fn get(&self, path: &str, cookie: Option<&str>) -> Answer {
        let request = self.client.get(format!("{}{path}", self.base));
        Self::answer(Self::with_cookie(request, cookie)).await
    }

    /// A JSON request (`PUT`, `POST`, `DELETE`...).
    pub async fn json(
        &self,
        method: &str,
        path: &str,
        cookie: Option<&str>,
        body: serde_json::Value,
    ) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .json(&body);
        Self::answer(Self::with_cookie(request, cookie)).await
    }

    /// A form POST (`body` already encoded).
    pub async fn form(&self, path: &str, cookie: Option<&str>, body: &str) -> Answer {
        let request = self
            .client
            .post(format!("{}{path}", self.base))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body.to_owned());
        Self::answer(Self::with_cookie(request, cookie)).await
    }

    /// A raw POST with its content type (multipart uploads).
    pub async fn post_bytes(
        &self,
        path: &str,
        cookie: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> Answer {
        let request = self
            .client
            .post(format!("{}{path}", self.base))
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body);
        Self::answer(Self::with_cookie(request, cookie)).await
    }
}
