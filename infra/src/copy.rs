//! Copying SQLite tables into PostgreSQL row for row: the engine behind
//! `backchannel migrate`. The chat (`plugin::store::copy`) and the wiki
//! (`wiki::store::copy`) each describe their tables with it.
//!
//! The copy is row for row, table by table, not through a store's API: ids,
//! seqs, timestamps, revisions, tombstones and read marks must arrive exactly
//! as they were, which appending would not preserve. Each table is described
//! once ([`Table`]: columns with the [`Kind`] that says how a value travels,
//! e.g. SQLite's Unix milliseconds to `timestamptz`, a JSON list to
//! `text[]`), and [`copy_tables`] does the rest: one reader thread streams
//! every table from one read transaction (a consistent snapshot, even while a
//! server writes) over a bounded channel, and the writer inserts batches with
//! multi-row INSERTs inside the caller's PostgreSQL transaction, then checks
//! every table's count.
//!
//! The caller owns that transaction, so an interrupted copy leaves the
//! target as it was. Targets must hold no data yet: a merge of two
//! histories is not a migration.

use anyhow::{bail, Context as _};
use chrono::{DateTime, NaiveDate, TimeZone as _, Utc};
use rusqlite::{Connection, OpenFlags};
use sqlx::{Postgres, QueryBuilder, Transaction};
use std::path::Path;

/// Rows per read from SQLite and per INSERT into PostgreSQL (13 columns ×
/// 1,000 rows stays well below PostgreSQL's 65,535 bind parameters).
const BATCH: usize = 1_000;

/// How a column travels from SQLite's storage class to PostgreSQL's type.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Int,
    OptInt,
    Text,
    OptText,
    /// An integer flag (0 or 1) to a boolean.
    Bool,
    /// Unix milliseconds to `timestamptz`.
    Millis,
    OptMillis,
    /// A JSON list of strings to `text[]`.
    JsonTextList,
    /// `YYYY-MM-DD` text to `date`.
    Date,
    /// A BLOB to `bytea`.
    Bytes,
}

/// One column: its name in SQLite (`source`, may be an expression such as
/// `rowid`) and in PostgreSQL (`target`).
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub source: &'static str,
    pub target: &'static str,
    pub kind: Kind,
}

impl Column {
    /// A column with the same name on both sides.
    pub const fn new(name: &'static str, kind: Kind) -> Self {
        Self {
            source: name,
            target: name,
            kind,
        }
    }

    /// A column read from `source` and written to `target`.
    pub const fn renamed(source: &'static str, target: &'static str, kind: Kind) -> Self {
        Self {
            source,
            target,
            kind,
        }
    }
}

/// One table to copy.
#[derive(Debug)]
pub struct Table {
    pub name: &'static str,
    pub columns: &'static [Column],
    /// The read (and so insert) order: the primary key, or whatever puts
    /// rows a table refers to within itself first.
    pub order: &'static str,
}

/// How many rows of each table were copied (and verified), in copy order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Copied(pub Vec<(&'static str, u64)>);

/// Progress as the copy goes: the table, rows done, rows in all.
pub type Progress<'a> = &'a (dyn Fn(&'static str, u64, u64) + Sync);

/// Opens the SQLite file at `path` read-only for [`copy_tables`].
pub fn open_source(path: &Path) -> anyhow::Result<Connection> {
    if !path.exists() {
        bail!("{} does not exist", path.display());
    }
    Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .with_context(|| format!("opening {}", path.display()))
}

/// Moves `table`'s `id` sequence past the copied ids, so rows created
/// afterwards do not collide with them.
pub async fn continue_ids(tx: &mut Transaction<'_, Postgres>, table: &str) -> anyhow::Result<()> {
    sqlx::query(&format!(
        "SELECT setval(pg_get_serial_sequence('{table}', 'id'),
                       COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)"
    ))
    .execute(&mut **tx)
    .await
    .with_context(|| format!("moving the id sequence of {table} past the copied rows"))?;
    Ok(())
}

/// Copies `tables` from `source` into `tx`, in order, and checks that each
/// holds as many rows in `tx` as in the source's snapshot. Commits nothing.
pub async fn copy_tables(
    source: Connection,
    tx: &mut Transaction<'_, Postgres>,
    tables: &'static [Table],
    progress: Progress<'_>,
) -> anyhow::Result<Copied> {
    // A reader thread streams every table, batch by batch, while this task
    // writes; the bounded channel keeps memory flat on big histories.
    let (sender, mut batches) = tokio::sync::mpsc::channel(4);
    let reader = tokio::task::spawn_blocking(move || read_all(source, tables, &sender));

    let mut copied: Vec<(&'static str, u64)> = Vec::new();
    let mut done = 0;
    let mut failed = None;
    while let Some(batch) = batches.recv().await {
        match batch {
            Batch::Table(table, total) => {
                copied.push((table.name, total));
                done = 0;
                progress(table.name, 0, total);
            }
            Batch::Rows(table, rows) => {
                let n = rows.len() as u64;
                if let Err(e) = insert(tx, table, rows).await {
                    failed = Some(e);
                    break;
                }
                done += n;
                let total = copied.last().map_or(done, |(_, total)| *total);
                progress(table.name, done, total);
            }
        }
    }
    // Dropping the receiver stops the reader at its next send; its error,
    // if any, explains more than the writer's.
    drop(batches);
    reader.await.context("the SQLite reader panicked")??;
    if let Some(e) = failed {
        return Err(e);
    }

    for (table, expected) in &copied {
        let found: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&mut **tx)
            .await?;
        if found as u64 != *expected {
            bail!("{table}: SQLite has {expected} rows but PostgreSQL counts {found}; nothing was committed");
        }
    }
    Ok(Copied(copied))
}

/// What the reader thread sends: a table's row count, then its rows.
enum Batch {
    Table(&'static Table, u64),
    Rows(&'static Table, Vec<Row>),
}

/// One value, as PostgreSQL takes it.
enum Value {
    Int(i64),
    OptInt(Option<i64>),
    Text(String),
    OptText(Option<String>),
    Bool(bool),
    Time(DateTime<Utc>),
    OptTime(Option<DateTime<Utc>>),
    TextList(Vec<String>),
    Date(NaiveDate),
    Bytes(Vec<u8>),
}

type Row = Vec<Value>;

/// Reads every table inside one read transaction (one consistent snapshot)
/// and sends it in batches of [`BATCH`]. Stops early if the writer is gone.
fn read_all(
    mut conn: Connection,
    tables: &'static [Table],
    sender: &tokio::sync::mpsc::Sender<Batch>,
) -> anyhow::Result<()> {
    let snapshot = conn.transaction()?;
    for table in tables {
        let total: i64 = snapshot
            .query_row(&format!("SELECT count(*) FROM {}", table.name), [], |r| {
                r.get(0)
            })
            .with_context(|| format!("counting {} in SQLite", table.name))?;
        if sender
            .blocking_send(Batch::Table(table, total as u64))
            .is_err()
        {
            return Ok(());
        }
        let sources: Vec<&str> = table.columns.iter().map(|c| c.source).collect();
        let sql = format!(
            "SELECT {} FROM {} ORDER BY {}",
            sources.join(", "),
            table.name,
            table.order
        );
        let mut statement = snapshot.prepare(&sql)?;
        let mut rows = statement.query([])?;
        let mut batch = Vec::with_capacity(BATCH);
        while let Some(row) = rows.next()? {
            batch.push(convert(table, row).with_context(|| format!("reading {}", table.name))?);
            if batch.len() == BATCH {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                if sender.blocking_send(Batch::Rows(table, full)).is_err() {
                    return Ok(());
                }
            }
        }
        if !batch.is_empty() && sender.blocking_send(Batch::Rows(table, batch)).is_err() {
            return Ok(());
        }
    }
    Ok(())
}

fn time(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// One SQLite row of `table` as PostgreSQL values.
fn convert(table: &Table, r: &rusqlite::Row<'_>) -> anyhow::Result<Row> {
    table
        .columns
        .iter()
        .enumerate()
        .map(|(i, column)| {
            Ok(match column.kind {
                Kind::Int => Value::Int(r.get(i)?),
                Kind::OptInt => Value::OptInt(r.get(i)?),
                Kind::Text => Value::Text(r.get(i)?),
                Kind::OptText => Value::OptText(r.get(i)?),
                Kind::Bool => Value::Bool(r.get::<_, i64>(i)? != 0),
                Kind::Millis => Value::Time(time(r.get(i)?)),
                Kind::OptMillis => Value::OptTime(r.get::<_, Option<i64>>(i)?.map(time)),
                Kind::JsonTextList => {
                    let json: String = r.get(i)?;
                    Value::TextList(serde_json::from_str(&json).with_context(|| {
                        format!("{}: {json:?} is not a JSON list", column.source)
                    })?)
                }
                Kind::Bytes => Value::Bytes(r.get(i)?),
                Kind::Date => {
                    let day: String = r.get(i)?;
                    Value::Date(
                        NaiveDate::parse_from_str(&day, "%Y-%m-%d")
                            .with_context(|| format!("{}: {day:?} is not a date", column.source))?,
                    )
                }
            })
        })
        .collect()
}

async fn insert(
    tx: &mut Transaction<'_, Postgres>,
    table: &Table,
    rows: Vec<Row>,
) -> anyhow::Result<()> {
    let targets: Vec<&str> = table.columns.iter().map(|c| c.target).collect();
    // Identity columns are GENERATED BY DEFAULT: they take the ids given.
    let mut query: QueryBuilder<Postgres> = QueryBuilder::new(format!(
        "INSERT INTO {} ({}) ",
        table.name,
        targets.join(", ")
    ));
    query.push_values(rows, |mut b, row| {
        for value in row {
            match value {
                Value::Int(v) => b.push_bind(v),
                Value::OptInt(v) => b.push_bind(v),
                Value::Text(v) => b.push_bind(v),
                Value::OptText(v) => b.push_bind(v),
                Value::Bool(v) => b.push_bind(v),
                Value::Time(v) => b.push_bind(v),
                Value::OptTime(v) => b.push_bind(v),
                Value::TextList(v) => b.push_bind(v),
                Value::Date(v) => b.push_bind(v),
                Value::Bytes(v) => b.push_bind(v),
            };
        }
    });
    query
        .build()
        .execute(&mut **tx)
        .await
        .with_context(|| format!("copying rows into {}", table.name))?;
    Ok(())
}
