//! Where tests and the bench find the outside services this machine runs:
//! PostgreSQL and NATS, each overridable by an environment variable.

/// The local PostgreSQL's maintenance database, where whole test databases
/// are created and dropped.
pub const LOCAL_POSTGRES_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The local NATS server.
pub const LOCAL_NATS: &str = "nats://127.0.0.1:4222";

/// `BACKCHANNEL_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/test`:
/// the database store tests make their schemas in.
pub fn postgres_url() -> String {
    std::env::var("BACKCHANNEL_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// `BACKCHANNEL_TEST_DATABASE_URL`, default [`LOCAL_POSTGRES_ADMIN`]: the
/// connection end-to-end tests create a database of their own through.
pub fn postgres_admin_url() -> String {
    std::env::var("BACKCHANNEL_TEST_DATABASE_URL")
        .unwrap_or_else(|_| LOCAL_POSTGRES_ADMIN.to_owned())
}

/// `BACKCHANNEL_TEST_NATS_URL`, default [`LOCAL_NATS`].
pub fn nats_url() -> String {
    std::env::var("BACKCHANNEL_TEST_NATS_URL").unwrap_or_else(|_| LOCAL_NATS.to_owned())
}
