//! The Connect middleware: a signed page URL (`?jwt=`) is verified and
//! becomes a request of the plugin session it opens; [`wrap`] puts the
//! plugin's router behind it.

use super::{qsh, query_param, routes, ConnectHost, SESSION_COOKIE};
use crate::error::AppError;
use axum::extract::{Request, State};
use axum::http::uri::PathAndQuery;
use axum::http::{header, HeaderValue, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use protocol::PageId;

/// The plugin's routes for an external wiki: `plugin` (from [`crate::app`])
/// behind [`authenticate`], plus the lifecycle callbacks and sign-in page.
pub fn wrap(connect: ConnectHost, plugin: Router) -> Router {
    plugin
        .layer(middleware::from_fn_with_state(
            connect.clone(),
            authenticate,
        ))
        .merge(routes(connect))
}

/// Middleware: a request with `?jwt=` is verified and becomes a request of
/// the plugin session it opens (the `page` parameter namespaced, `jwt`
/// removed); a request without one passes untouched.
pub async fn authenticate(
    State(connect): State<ConnectHost>,
    request: Request,
    next: Next,
) -> Response {
    let Some(token) = request
        .uri()
        .query()
        .and_then(|q| query_param(q, qsh::JWT_PARAM))
    else {
        return next.run(request).await;
    };
    let (mut parts, body) = request.into_parts();
    let accepted = match connect
        .accept_page_token(&token, &parts.method, &parts.uri, &parts.headers)
        .await
    {
        Ok(accepted) => accepted,
        Err(err) => return err.into_response(),
    };
    if let Err(err) = rewrite_uri(&mut parts.uri, &accepted.page) {
        return err.into_response();
    }
    // The token decides who this is, not whatever else the request carries.
    parts.headers.remove(header::AUTHORIZATION);
    parts.headers.remove(header::COOKIE);
    let set_cookie = match &accepted.session {
        Some(token) => {
            let pair = format!("{SESSION_COOKIE}={token}");
            match (
                HeaderValue::from_str(&pair),
                HeaderValue::from_str(&connect.session_cookie(token)),
            ) {
                (Ok(pair), Ok(set_cookie)) => {
                    parts.headers.insert(header::COOKIE, pair);
                    Some(set_cookie)
                }
                _ => {
                    return AppError::from(anyhow::anyhow!("unencodable session cookie"))
                        .into_response()
                }
            }
        }
        None => None,
    };

    let mut response = next.run(Request::from_parts(parts, body)).await;
    let headers = response.headers_mut();
    if let Some(set_cookie) = set_cookie {
        headers.append(header::SET_COOKIE, set_cookie);
    }
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("private, no-store"));
    headers
        .entry(header::REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("no-referrer"));
    // The macro table (and any other answer to a signed URL without its own
    // policy, as the popup has) runs no script and loads only from here.
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(SIGNED_RESPONSE_CSP));
    response
}

/// The Content-Security-Policy of answers to signed URLs that set none.
pub const SIGNED_RESPONSE_CSP: &str =
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'";

/// Drops `jwt` from the query and points `page` at the namespaced page.
fn rewrite_uri(uri: &mut Uri, page: &PageId) -> Result<(), AppError> {
    let query = uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|segment| !segment.is_empty())
        .filter_map(|segment| {
            let name = qsh::decode(segment.split_once('=').map_or(segment, |(n, _)| n));
            if name == qsh::JWT_PARAM.as_bytes() {
                None
            } else if name == b"page" {
                Some(format!("page={}", qsh::encode(page.as_str().as_bytes())))
            } else {
                Some(segment.to_owned())
            }
        })
        .collect::<Vec<_>>()
        .join("&");
    let path_and_query = if query.is_empty() {
        uri.path().to_owned()
    } else {
        format!("{}?{query}", uri.path())
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(
        PathAndQuery::try_from(path_and_query)
            .map_err(|_| AppError::bad_request("unusable request URI"))?,
    );
    *uri = Uri::from_parts(parts).map_err(|_| AppError::bad_request("unusable request URI"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rewritten_uri_drops_jwt_and_namespaces_page() {
        let mut uri: Uri = "/macro/chat?page=42&room=Team+Room&jwt=a.b.c"
            .parse()
            .unwrap();
        rewrite_uri(&mut uri, &PageId::new("ck:42")).unwrap();
        assert_eq!(uri.to_string(), "/macro/chat?page=ck%3A42&room=Team+Room");
        let mut bare: Uri = "/rooms/r1?jwt=a.b.c".parse().unwrap();
        rewrite_uri(&mut bare, &PageId::new("ck:42")).unwrap();
        assert_eq!(bare.to_string(), "/rooms/r1");
    }
}
