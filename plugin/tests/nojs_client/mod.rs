//! A browser without JavaScript, for the plugin's form tests: each step
//! fetches a page or submits one of its forms with the session cookie of
//! `plugin::testing`'s host and the CSRF token the form carries, against
//! the real app's router (no socket).
#![allow(dead_code)]

use axum::body::Body;
use axum::http::Request;
use axum::Router;
use backchannel_tests::http::{find_form, form_encode, Form};
use plugin::testing::{TestApp, SESSION_COOKIE};
use tower::ServiceExt;

pub const SITE: &str = "chat.test";

/// One person's browser: their session cookie, no JavaScript.
pub struct Browser {
    router: Router,
    user: &'static str,
}

/// What came back.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub location: String,
    pub body: String,
}

impl Page {
    /// The form whose markup contains `marker`, or a failure naming it.
    pub fn form(&self, marker: &str) -> Form {
        find_form(&self.body, marker)
            .unwrap_or_else(|| panic!("no form with {marker:?} in:\n{}", self.body))
    }

    /// The `<section id="{id}">` of the page.
    pub fn section(&self, id: &str) -> &str {
        let start = self
            .body
            .find(&format!("<section id=\"{id}\""))
            .unwrap_or_else(|| panic!("no section {id} in:\n{}", self.body));
        let end = self.body[start..].find("</section>").unwrap();
        &self.body[start..start + end]
    }

    pub fn has_form(&self, marker: &str) -> bool {
        find_form(&self.body, marker).is_some()
    }
}

impl Browser {
    pub fn new(app: &TestApp, user: &'static str) -> Self {
        Self {
            router: app.router(),
            user,
        }
    }

    pub async fn send(&self, request: axum::http::request::Builder, body: String) -> Page {
        let request = request
            .header("host", SITE)
            .header("cookie", format!("{SESSION_COOKIE}={}", self.user))
            .body(Body::from(body))
            .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        Page {
            status,
            location,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// GET `path`, whatever it answers.
    pub async fn send_get(&self, path: &str) -> Page {
        self.send(Request::get(path), String::new()).await
    }

    pub async fn get(&self, path: &str) -> Page {
        let page = self.send(Request::get(path), String::new()).await;
        assert_eq!(
            page.status, 200,
            "GET {path} as {}: {}",
            self.user, page.body
        );
        page
    }

    /// Posts `fields` to `path` from this site's pages, exactly as given.
    pub async fn post(&self, path: &str, fields: &[(String, String)]) -> Page {
        let request = Request::post(path)
            .header("origin", format!("http://{SITE}"))
            .header("content-type", "application/x-www-form-urlencoded");
        self.send(request, form_encode(fields)).await
    }

    /// Submits `form` (its own fields, token included) with `changes`.
    pub async fn submit(&self, mut form: Form, changes: &[(&str, &str)]) -> Page {
        for (name, value) in changes {
            form.set(name, value);
        }
        let action = form.action.clone().expect("the form has an action");
        self.post(&action, &form.inputs).await
    }

    /// Submits the form containing `marker` on the page at `path`; expects a
    /// redirect and answers where to.
    pub async fn act(&self, path: &str, marker: &str, changes: &[(&str, &str)]) -> String {
        let form = self.get(path).await.form(marker);
        let done = self.submit(form, changes).await;
        assert_eq!(
            done.status, 303,
            "{marker} on {path} as {}: {}",
            self.user, done.body
        );
        done.location
    }
}
