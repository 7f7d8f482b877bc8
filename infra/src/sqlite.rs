//! SQLite schema migrations: numbered SQL steps applied in order, each in its
//! own transaction, with `PRAGMA user_version` recording how many ran. The
//! chat's `chat.db` and the wiki's `wiki.db` both migrate this way.

use anyhow::Context as _;
use rusqlite::Connection;

/// Applies the steps of `migrations` that `conn` has not run yet. `what`
/// names the schema in errors ("chat", "wiki").
pub fn migrate(conn: &mut Connection, what: &str, migrations: &[&str]) -> anyhow::Result<()> {
    let done: usize = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    for (index, sql) in migrations.iter().enumerate().skip(done) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)
            .with_context(|| format!("applying {what} schema migration {}", index + 1))?;
        tx.pragma_update(None, "user_version", index + 1)?;
        tx.commit()?;
    }
    Ok(())
}

/// How many migrations `conn` has run.
pub fn version(conn: &Connection) -> anyhow::Result<usize> {
    Ok(conn.pragma_query_value(None, "user_version", |row| row.get(0))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEPS: &[&str] = &[
        "CREATE TABLE a (x INTEGER)",
        "INSERT INTO a VALUES (1)",
        "CREATE TABLE b (y INTEGER)",
    ];

    #[test]
    fn steps_run_once_in_order() -> anyhow::Result<()> {
        let mut conn = Connection::open_in_memory()?;
        migrate(&mut conn, "test", &STEPS[..2])?;
        assert_eq!(version(&conn)?, 2);
        // A newer binary runs only what is new: the INSERT does not repeat.
        migrate(&mut conn, "test", STEPS)?;
        assert_eq!(version(&conn)?, 3);
        let rows: i64 = conn.query_row("SELECT count(*) FROM a", [], |row| row.get(0))?;
        assert_eq!(rows, 1);
        Ok(())
    }

    #[test]
    fn a_failing_step_names_itself_and_keeps_what_ran() -> anyhow::Result<()> {
        let mut conn = Connection::open_in_memory()?;
        let error = migrate(&mut conn, "test", &[STEPS[0], "NOT SQL"]).expect_err("bad step");
        assert!(
            format!("{error:#}").contains("test schema migration 2"),
            "{error:#}"
        );
        assert_eq!(version(&conn)?, 1);
        Ok(())
    }
}
