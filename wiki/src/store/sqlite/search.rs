//! The SQLite store's full-text search: FTS5 queries built from parsed
//! terms, ranked ids, and snippets.

use super::*;

/// The FTS5 expression for parsed terms, `None` if there are none: every
/// term a quoted string, so user input is never FTS5 syntax.
fn fts_query(terms: &[Term]) -> Option<String> {
    let quote = |text: &str| format!("\"{}\"", text.replace('"', "\"\""));
    let parts: Vec<String> = terms
        .iter()
        .map(|term| match term {
            Term::Word { text, prefix } => {
                let quoted = quote(text);
                if *prefix {
                    format!("{quoted}*")
                } else {
                    quoted
                }
            }
            Term::Phrase(text) => quote(text),
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join(" AND "))
}

pub(super) async fn search(store: &SqliteStore, terms: &[Term]) -> anyhow::Result<Vec<i64>> {
    let Some(query) = fts_query(terms) else {
        return Ok(Vec::new());
    };
    store
        .call(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT rowid FROM pages_fts WHERE pages_fts MATCH ?1
             ORDER BY bm25(pages_fts, ?2, 1.0), rowid",
            )?;
            let ids: Result<Vec<i64>, _> = stmt
                .query_map(params![query, TITLE_WEIGHT], |row| row.get(0))?
                .collect();
            match ids {
                Ok(ids) => Ok(ids),
                // Quoting should make this unreachable; if FTS5 still refuses
                // the expression, the searcher gets "no results", not a 500.
                Err(err) => {
                    tracing::warn!(%query, error = %err, "FTS5 refused a query");
                    Ok(Vec::new())
                }
            }
        })
        .await
}

pub(super) async fn hits(
    store: &SqliteStore,
    terms: &[Term],
    ids: &[i64],
) -> anyhow::Result<Vec<RawHit>> {
    let Some(query) = fts_query(terms) else {
        return Ok(Vec::new());
    };
    let terms = terms.to_vec();
    let ids = ids.to_vec();
    store
        .call(move |conn| {
            let mut page =
                conn.prepare_cached("SELECT path, title, markdown FROM pages WHERE id = ?1")?;
            // FTS5's snippet() tokenizes the whole page: only for a page
            // that holds the terms in a stemmed form alone (see `search`).
            let mut fts_snippet = conn.prepare_cached(
                "SELECT snippet(pages_fts, 1, ?2, ?3, '…', ?4)
             FROM pages_fts WHERE pages_fts MATCH ?1 AND pages_fts.rowid = ?5",
            )?;
            let mut hits = Vec::with_capacity(ids.len());
            for id in ids {
                let Some((path, title, markdown)) = page
                    .query_row([id], |row| {
                        Ok((
                            row.get::<_, String>(0)?,
                            row.get(1)?,
                            row.get::<_, String>(2)?,
                        ))
                    })
                    .optional()?
                else {
                    continue;
                };
                let snippet = match query::literal_snippet(&markdown, &terms) {
                    Some(snippet) => snippet,
                    None => fts_snippet
                        .query_row(
                            params![
                                query,
                                query::OPEN.to_string(),
                                query::CLOSE.to_string(),
                                query::SNIPPET_WORDS,
                                id
                            ],
                            |row| row.get(0),
                        )
                        .optional()?
                        .unwrap_or_default(),
                };
                hits.push(RawHit {
                    id,
                    path,
                    title,
                    snippet,
                });
            }
            Ok(hits)
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fts_query(input: &str) -> Option<String> {
        super::fts_query(&query::terms(input))
    }

    #[test]
    fn queries_are_quoted_so_user_syntax_cannot_break_them() {
        assert_eq!(
            fts_query("hello world").as_deref(),
            Some(r#""hello" AND "world""#)
        );
        assert_eq!(
            fts_query(r#"say "exact phrase" now"#).as_deref(),
            Some(r#""say" AND "exact phrase" AND "now""#)
        );
        assert_eq!(fts_query("plan*").as_deref(), Some(r#""plan"*"#));
        assert_eq!(
            fts_query(r#"AND OR NOT ( "#).as_deref(),
            Some(r#""AND" AND "OR" AND "NOT""#)
        );
        assert_eq!(fts_query(r#"a"b"#).as_deref(), Some(r#""a" AND "b""#));
        assert_eq!(
            fts_query(r#""unclosed phrase"#).as_deref(),
            Some(r#""unclosed phrase""#)
        );
        assert_eq!(fts_query(r#"col:umn"#).as_deref(), Some(r#""col:umn""#));
        assert_eq!(fts_query("  \" \" *** -- "), None);
        assert_eq!(fts_query(""), None);
    }
}
