//! The PostgreSQL store's full-text search: `tsquery`s built from parsed
//! terms, ranked ids, and `ts_headline` snippets.

use super::*;

/// The SQL of a `tsquery` matching all `terms`, with its bind values: each
/// word or phrase is a `phraseto_tsquery` (the value is data, never query
/// syntax, so no input can make it fail); a `word*` prefix becomes a
/// `to_tsquery` of quoted lexemes whose last one ends in `:*`.
fn tsquery(terms: &[Term]) -> Option<(String, Vec<String>)> {
    let mut parts = Vec::new();
    let mut binds = Vec::new();
    for term in terms {
        match term {
            Term::Word {
                text,
                prefix: false,
            }
            | Term::Phrase(text) => {
                binds.push(text.clone());
                parts.push(format!("phraseto_tsquery('wiki_search', ${})", binds.len()));
            }
            Term::Word { text, prefix: true } => {
                let words: Vec<String> = text
                    .split(|c: char| !c.is_alphanumeric())
                    .filter(|w| !w.is_empty())
                    .map(|w| format!("'{}'", w.replace('\'', "''").replace('\\', "\\\\")))
                    .collect();
                let Some((last, before)) = words.split_last() else {
                    continue;
                };
                let mut query: Vec<String> = before.to_vec();
                query.push(format!("{last}:*"));
                binds.push(query.join(" <-> "));
                parts.push(format!("to_tsquery('wiki_search', ${})", binds.len()));
            }
        }
    }
    (!parts.is_empty()).then(|| (parts.join(" && "), binds))
}

pub(super) async fn search(store: &PostgresStore, terms: &[Term]) -> anyhow::Result<Vec<i64>> {
    let Some((query, binds)) = tsquery(terms) else {
        return Ok(Vec::new());
    };
    let sql = format!(
        "SELECT p.id FROM pages p, (SELECT {query} AS q) query
         WHERE p.search @@ query.q
         ORDER BY ts_rank('{RANK_WEIGHTS}', p.search, query.q) DESC, p.id"
    );
    let mut select = sqlx::query_scalar(&sql);
    for bind in &binds {
        select = select.bind(bind);
    }
    Ok(select.fetch_all(&store.pool).await?)
}

pub(super) async fn hits(
    store: &PostgresStore,
    terms: &[Term],
    ids: &[i64],
) -> anyhow::Result<Vec<RawHit>> {
    let Some((query, binds)) = tsquery(terms) else {
        return Ok(Vec::new());
    };
    // The same sentinels and length as FTS5's snippet(); `ShortWord=0`
    // keeps ts_headline from trimming short words at the edges.
    let options = format!(
        "StartSel=\"{}\", StopSel=\"{}\", MaxWords={}, MinWords={}, ShortWord=0",
        query::OPEN,
        query::CLOSE,
        query::SNIPPET_WORDS,
        query::SNIPPET_WORDS / 2
    );
    let ids_param = binds.len() + 1;
    let options_param = binds.len() + 2;
    let masks_param = binds.len() + 3;
    // ts_headline drops what its parser takes for HTML tags; FTS5 keeps
    // them as text. Masking `<` and `>` first keeps them (and the snippet
    // the same as on SQLite); they are unmasked below, before escaping.
    let sql = format!(
        "SELECT p.id, p.path, p.title,
                ts_headline('wiki_search', translate(p.markdown, '<>', ${masks_param}),
                            query.q, ${options_param})
         FROM pages p, (SELECT {query} AS q) query
         WHERE p.id = ANY(${ids_param})"
    );
    let mut select = sqlx::query_as::<_, (i64, String, String, String)>(&sql);
    for bind in &binds {
        select = select.bind(bind);
    }
    let rows = select
        .bind(ids.to_vec())
        .bind(options)
        .bind(format!("{LT_MASK}{GT_MASK}"))
        .fetch_all(&store.pool)
        .await?;
    let mut by_id: std::collections::HashMap<i64, RawHit> = rows
        .into_iter()
        .map(|(id, path, title, snippet)| {
            (
                id,
                RawHit {
                    id,
                    path,
                    title,
                    snippet: snippet.replace(LT_MASK, "<").replace(GT_MASK, ">"),
                },
            )
        })
        .collect();
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}
