//! Accounts and groups: creating users, checking passwords (argon2), and the
//! group memberships page permissions refer to.
//!
//! A user's name is their identity everywhere (sessions, permissions,
//! `protocol::UserId`, chat authorship), so names are never renamed. Names
//! and group names compare case-insensitively.
//!
//! Every write here may change what someone can access, so the store bumps
//! the ACL epoch in the same transaction.

use crate::hasher;
pub use crate::model::{Member, User};
use crate::store::{NewUser, Store};
use anyhow::bail;

/// The longest user or group name, in bytes.
pub const MAX_NAME_BYTES: usize = 64;

/// Whether `name` can name a user or group: 1-[`MAX_NAME_BYTES`] bytes of
/// letters, digits, '-', '_' or '.'. No control, format or space
/// characters, so a name written into a log line cannot forge another.
pub fn valid_name(name: &str) -> bool {
    let ok_char = |c: char| c.is_alphanumeric() || matches!(c, '-' | '_' | '.');
    !name.is_empty() && name.len() <= MAX_NAME_BYTES && name.chars().all(ok_char)
}

/// Why a name was refused.
fn check_name(what: &str, name: &str) -> anyhow::Result<()> {
    if !valid_name(name) {
        bail!("{what} name {name:?} must be 1-64 letters, digits, '-', '_' or '.'");
    }
    Ok(())
}

/// Creates a user with `password`, in `groups` (created if missing). Fails
/// if the name is taken.
pub async fn create(
    store: &dyn Store,
    name: &str,
    password: &str,
    is_admin: bool,
    groups: &[String],
) -> anyhow::Result<User> {
    check_name("user", name)?;
    check_password(password)?;
    for group in groups {
        check_name("group", group)?;
    }
    let password_hash = hasher::hash(password).await?;
    store
        .create_user(NewUser {
            name: name.to_owned(),
            password_hash,
            is_admin,
            groups: groups.to_vec(),
        })
        .await
}

/// Replaces a user's password and ends all their sessions: browser
/// sessions and API tokens alike (whoever knew the old password may have
/// minted a token with it).
pub async fn set_password(store: &dyn Store, name: &str, password: &str) -> anyhow::Result<()> {
    check_password(password)?;
    if store.user(name).await?.is_none() {
        bail!("no user {name:?}");
    }
    let hash = hasher::hash(password).await?;
    store.set_password_hash(name, &hash).await
}

fn check_password(password: &str) -> anyhow::Result<()> {
    if password.chars().count() < 8 {
        bail!("passwords must be at least 8 characters");
    }
    Ok(())
}

/// A user and their groups, by name.
pub async fn member(store: &dyn Store, name: &str) -> anyhow::Result<Option<Member>> {
    let Some(user) = store.user(name).await? else {
        return Ok(None);
    };
    let groups = store.groups_of(user.id).await?;
    Ok(Some(Member { user, groups }))
}

/// Checks `password` for `name`. Returns the user on success and `None` for
/// an unknown user or a wrong password (callers must not tell them apart:
/// an unknown name costs the same argon2 check as a known one). Fails with
/// [`hasher::Busy`] when too many checks are waiting.
pub async fn verify(store: &dyn Store, name: &str, password: &str) -> anyhow::Result<Option<User>> {
    let found = store.user_with_hash(name).await?;
    let (user, hash) = match found {
        Some((user, hash)) => (Some(user), Some(hash)),
        None => (None, None),
    };
    let matches = hasher::check(password, hash).await?;
    Ok(user.filter(|_| matches))
}

/// Creates a group. Fails if the name is taken.
pub async fn create_group(store: &dyn Store, name: &str) -> anyhow::Result<()> {
    check_name("group", name)?;
    store.create_group(name).await
}

/// Adds `user` to `group`, creating the group if it does not exist yet.
pub async fn add_to_group(store: &dyn Store, user: &str, group: &str) -> anyhow::Result<()> {
    check_name("group", group)?;
    store.add_to_group(user, group, true).await
}

/// Adds an existing `user` to an existing `group` (no error if already in).
pub async fn add_member(store: &dyn Store, user: &str, group: &str) -> anyhow::Result<()> {
    store.add_to_group(user, group, false).await
}

/// A random password for a new account: 20 characters from an alphabet
/// without look-alikes (about 115 bits).
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..20)
        .map(|_| {
            let i = rand::Rng::random_range(&mut rng, 0..ALPHABET.len());
            char::from(ALPHABET[i])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_differ() {
        assert_ne!(generate_password(), generate_password());
        assert_eq!(generate_password().len(), 20);
    }
}
