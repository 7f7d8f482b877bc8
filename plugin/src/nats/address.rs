//! [`NatsAddress`]: a `--nats-url` split into the server to dial and the
//! credentials to present, because async-nats ignores credentials written
//! in the URL and would connect without them.
//!
//! - `nats://user:password@host:4222`: user and password;
//! - `nats://token@host:4222`: a token (a user with no password);
//! - `nats://host:4222`: no authentication.
//!
//! Both parts are percent-decoded (`%40` for `@`, `%3A` for `:`). The
//! secret is never shown: [`NatsAddress`]'s `Display` and `Debug`, and so
//! every log line and error that names the server, print the URL without
//! its credentials.

use anyhow::Context as _;
use percent_encoding::percent_decode_str;

/// Where the NATS server is and how to authenticate to it.
#[derive(Clone)]
pub struct NatsAddress {
    /// The URL with its credentials removed: safe to log.
    server: String,
    auth: Auth,
}

/// How a node authenticates to NATS.
#[derive(Clone, PartialEq, Eq)]
enum Auth {
    None,
    UserPassword { user: String, password: String },
    Token(String),
}

impl NatsAddress {
    /// Parses `url`; an error never repeats the URL (it may hold a secret).
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        let mut parsed = reqwest::Url::parse(url.trim())
            .ok()
            .filter(|u| matches!(u.scheme(), "nats" | "tls" | "ws" | "wss"))
            .filter(|u| u.host_str().is_some_and(|h| !h.is_empty()))
            .context("the NATS URL must look like nats://[user:password@|token@]host:port")?;
        let decode = |part: &str| -> anyhow::Result<String> {
            Ok(percent_decode_str(part)
                .decode_utf8()
                .context("the NATS credentials are not UTF-8 once decoded")?
                .into_owned())
        };
        let auth = match (parsed.username(), parsed.password()) {
            ("", None) => Auth::None,
            ("", Some(_)) => anyhow::bail!("the NATS URL has a password but no user"),
            (token, None) => Auth::Token(decode(token)?),
            (user, Some(password)) => Auth::UserPassword {
                user: decode(user)?,
                password: decode(password)?,
            },
        };
        // Setting them cannot fail on a URL with a host.
        let _ = parsed.set_username("");
        let _ = parsed.set_password(None);
        Ok(Self {
            server: parsed.as_str().trim_end_matches('/').to_owned(),
            auth,
        })
    }

    /// The server without credentials, to dial and to log.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// `options` with this address's credentials, if it has any.
    pub fn authenticate(&self, options: async_nats::ConnectOptions) -> async_nats::ConnectOptions {
        match &self.auth {
            Auth::None => options,
            Auth::UserPassword { user, password } => {
                options.user_and_password(user.clone(), password.clone())
            }
            Auth::Token(token) => options.token(token.clone()),
        }
    }

    /// What kind of credentials it carries, for the connection log line.
    pub fn auth_kind(&self) -> &'static str {
        match self.auth {
            Auth::None => "none",
            Auth::UserPassword { .. } => "user and password",
            Auth::Token(_) => "token",
        }
    }
}

impl std::fmt::Display for NatsAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.server)
    }
}

impl std::fmt::Debug for NatsAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsAddress")
            .field("server", &self.server)
            .field("auth", &self.auth_kind())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_split_off_and_decoded() {
        let plain = NatsAddress::parse("nats://127.0.0.1:4222").unwrap();
        assert_eq!(plain.server(), "nats://127.0.0.1:4222");
        assert!(plain.auth == Auth::None);

        let user = NatsAddress::parse("nats://bc:p%40ss%3Aword@nats.internal:4222").unwrap();
        assert_eq!(user.server(), "nats://nats.internal:4222");
        assert!(
            user.auth
                == Auth::UserPassword {
                    user: "bc".to_owned(),
                    password: "p@ss:word".to_owned()
                }
        );

        let token = NatsAddress::parse("nats://s3cr3t-token@nats.internal:4222").unwrap();
        assert_eq!(token.server(), "nats://nats.internal:4222");
        assert!(token.auth == Auth::Token("s3cr3t-token".to_owned()));
    }

    #[test]
    fn the_secret_never_shows() {
        for url in ["nats://bc:hunter2@h:4222", "nats://hunter2@h:4222"] {
            let address = NatsAddress::parse(url).unwrap();
            for shown in [address.to_string(), format!("{address:?}")] {
                assert!(!shown.contains("hunter2"), "{shown}");
            }
        }
        for bad in ["hunter2", "http://hunter2@h", "nats://:hunter2@h:4222"] {
            let error = format!("{:#}", NatsAddress::parse(bad).unwrap_err());
            assert!(!error.contains("hunter2"), "{error}");
        }
    }

    /// A `nats-server` of our own on a free port, started with `args`
    /// (its authentication), killed when dropped; `None` when the binary is
    /// not installed (skipped, or a failure under CI).
    async fn server_with(args: &[&str]) -> Option<(tokio::process::Child, u16)> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let child = tokio::process::Command::new("nats-server")
            .args(["-a", "127.0.0.1", "-p", &port.to_string()])
            .args(args)
            .kill_on_drop(true)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        let child = infra::skip::require(
            "NATS credentials",
            child.map_err(|e| format!("nats-server could not be started: {e}")),
        )?;
        for _ in 0..50 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Some((child, port));
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("nats-server did not listen on {port}");
    }

    /// Whether a node connects to `url`; the error, which must not show
    /// `secret`, when it does not.
    async fn connects(url: &str, secret: &str) -> bool {
        match crate::nats::NatsBus::connect(url, "credentials-test").await {
            Ok(_) => true,
            Err(e) => {
                let shown = format!("{e:#}");
                assert!(!shown.contains(secret), "{shown}");
                false
            }
        }
    }

    #[tokio::test]
    async fn a_server_that_wants_a_user_and_password_gets_them_from_the_url() {
        let Some((_server, port)) = server_with(&["--user", "bc", "--pass", "hunter2"]).await
        else {
            return;
        };
        assert!(connects(&format!("nats://bc:hunter2@127.0.0.1:{port}"), "hunter2").await);
        assert!(!connects(&format!("nats://127.0.0.1:{port}"), "hunter2").await);
        assert!(
            !connects(
                &format!("nats://bc:wrong-hunter2@127.0.0.1:{port}"),
                "hunter2"
            )
            .await
        );
    }

    #[tokio::test]
    async fn a_server_that_wants_a_token_gets_it_from_the_url() {
        let Some((_server, port)) = server_with(&["--auth", "s3cr3t"]).await else {
            return;
        };
        assert!(connects(&format!("nats://s3cr3t@127.0.0.1:{port}"), "s3cr3t").await);
        assert!(!connects(&format!("nats://127.0.0.1:{port}"), "s3cr3t").await);
        assert!(!connects(&format!("nats://not-s3cr3t@127.0.0.1:{port}"), "s3cr3t").await);
    }
}
