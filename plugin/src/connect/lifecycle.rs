//! The Connect lifecycle callbacks (`installed`, `uninstalled`) and the
//! page a browser without a session is sent to.

use super::{
    bearer, jwt_authorization, rejected, ConnectConfig, ConnectHost, Installation, NoClaims,
    INSTALLED_PATH, MIN_SECRET_BYTES, SIGN_IN_PATH, UNINSTALLED_PATH,
};
use crate::error::AppError;
use crate::extract::Json;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use protocol::ErrorCode;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The lifecycle callbacks and the sign-in page.
pub fn routes(connect: ConnectHost) -> Router {
    Router::new()
        .route(INSTALLED_PATH, post(installed))
        .route(UNINSTALLED_PATH, post(uninstalled))
        .route(SIGN_IN_PATH, get(sign_in))
        .with_state(connect)
}

/// `lifecycle.installed` body (Connect sends more; it is ignored).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InstallPayload {
    key: Option<String>,
    client_key: String,
    shared_secret: String,
    base_url: String,
    event_type: Option<String>,
}

async fn installed(
    State(connect): State<ConnectHost>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Json(payload): Json<InstallPayload>,
) -> Result<StatusCode, AppError> {
    let config = connect.config();
    if payload
        .event_type
        .as_deref()
        .is_some_and(|e| e != "installed")
    {
        return Err(AppError::bad_request("eventType must be \"installed\""));
    }
    if payload.key.as_deref().is_some_and(|k| k != config.app_key) {
        return Err(AppError::bad_request(format!(
            "this is the {:?} app",
            config.app_key
        )));
    }
    let client_key = payload.client_key;
    if client_key.is_empty() || client_key.len() > 255 || client_key.chars().any(char::is_control) {
        return Err(AppError::new(
            ErrorCode::InvalidInput,
            "clientKey must be 1 to 255 printable characters",
        ));
    }
    if payload.shared_secret.len() < MIN_SECRET_BYTES {
        return Err(AppError::new(
            ErrorCode::InvalidInput,
            format!("sharedSecret must be at least {MIN_SECRET_BYTES} bytes"),
        ));
    }
    let installation = Installation {
        base_url: connect.check_base_url(&payload.base_url)?,
        client_key,
        shared_secret: payload.shared_secret,
    };

    // First install: only with the operator's install secret (atomically,
    // so a racing one loses and must then sign as a re-install).
    let known = connect
        .0
        .installations
        .get(&installation.client_key)
        .await?
        .is_some();
    if !known {
        check_install_secret(connect.config(), &headers)?;
        if connect.0.installations.insert_new(&installation).await? {
            tracing::info!(client_key = %installation.client_key, base_url = %installation.base_url, "installed");
            return Ok(StatusCode::NO_CONTENT);
        }
    }
    // Re-install: only the holder of the current secret may change it.
    let token = jwt_authorization(&headers).ok_or_else(|| {
        rejected("already installed: sign the re-install with the current shared secret")
    })?;
    let (current, _) = connect.verify::<NoClaims>(&token, &method, &uri).await?;
    if current.client_key != installation.client_key {
        return Err(rejected("the token was signed for another clientKey"));
    }
    connect.0.installations.replace(&installation).await?;
    tracing::info!(client_key = %installation.client_key, base_url = %installation.base_url, "re-installed");
    Ok(StatusCode::NO_CONTENT)
}

/// A first install must carry the operator's install secret as
/// `Authorization: Bearer`; without one configured, first installs are
/// closed (403), so nobody can claim a client key before its wiki does.
fn check_install_secret(config: &ConnectConfig, headers: &HeaderMap) -> Result<(), AppError> {
    let Some(expected) = config.install_secret.as_deref().filter(|s| !s.is_empty()) else {
        return Err(AppError::forbidden(
            "installs are closed: the operator has set no install secret",
        ));
    };
    match bearer(headers) {
        Some(given) if same_secret(expected.as_bytes(), given.as_bytes()) => Ok(()),
        Some(_) => Err(rejected("wrong install secret")),
        None => Err(rejected(
            "a first install needs the install secret (Authorization: Bearer)",
        )),
    }
}

/// Compares two secrets in time independent of where they differ.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    let a: [u8; 32] = Sha256::digest(a).into();
    let b: [u8; 32] = Sha256::digest(b).into();
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

async fn uninstalled(
    State(connect): State<ConnectHost>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Result<StatusCode, AppError> {
    let token = jwt_authorization(&headers)
        .ok_or_else(|| rejected("sign the uninstall with the shared secret"))?;
    let (installation, _) = connect.verify::<NoClaims>(&token, &method, &uri).await?;
    connect
        .0
        .installations
        .remove(&installation.client_key)
        .await?;
    connect.forget(&installation.client_key);
    tracing::info!(client_key = %installation.client_key, "uninstalled");
    Ok(StatusCode::NO_CONTENT)
}

async fn sign_in() -> Response {
    let page = maud::html! {
        (maud::DOCTYPE)
        html lang="en" {
            head { meta charset="utf-8"; title { "Chat session expired" } }
            body {
                h1 { "Your chat session has expired" }
                p { "This chat belongs to a page in your wiki. Open the page there again to continue." }
            }
        }
    };
    (StatusCode::UNAUTHORIZED, page).into_response()
}
