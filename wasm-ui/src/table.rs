//! The live macro table: on wiki pages, each server-rendered
//! `table.bc-macro[data-room]` gets its last activity and participants (with
//! how many are online now) refreshed from `GET /api/rooms/{id}` every
//! [`REFRESH_MS`], without a reload. The table works as rendered without
//! JavaScript; this only keeps it fresh.

use crate::dom::{self, DomError, Interval};
use crate::http;
use crate::view::local_time;
use chrono::{DateTime, Utc};
use protocol::{RoomId, UserId};
use serde::Deserialize;
use std::rc::Rc;
use wasm_bindgen::JsValue;
use web_sys::{Document, Element};

/// How often the tables refresh.
pub const REFRESH_MS: u32 = 30_000;

/// What a table shows of the room (`protocol::RoomInfo`, the answer to
/// `GET /api/rooms/{id}`). Only these fields are read: decoding the whole
/// answer (files, transcripts and their dates) would put decoders in the
/// bundle that nothing here uses.
#[derive(Debug, Deserialize)]
pub struct TableInfo {
    pub last_activity: Option<DateTime<Utc>>,
    /// Everyone who has posted, most recent first.
    #[serde(default)]
    pub participants: Vec<Named>,
    /// Who is connected now.
    #[serde(default)]
    pub present: Vec<Named>,
}

/// A participant, by the name the table shows.
#[derive(Debug, Deserialize)]
pub struct Named {
    pub id: UserId,
    pub name: String,
}

/// The live tables on a page. Drop it to stop refreshing.
pub struct Tables {
    _timer: Interval,
}

impl Tables {
    /// Starts refreshing the macro tables in `doc`, if there are any.
    pub fn start(doc: &Document) -> Result<Option<Tables>, DomError> {
        let Some(root) = doc.document_element() else {
            return Ok(None);
        };
        if dom::query(&root, "table.bc-macro[data-room]").is_none() {
            return Ok(None);
        }
        let doc = Rc::new(doc.clone());
        refresh(&doc);
        let timer = Interval::new(REFRESH_MS, move || refresh(&doc))?;
        Ok(Some(Tables { _timer: timer }))
    }
}

/// Fetches each table's room and updates it.
fn refresh(doc: &Rc<Document>) {
    let Some(root) = doc.document_element() else {
        return;
    };
    for table in dom::query_all(&root, "table.bc-macro[data-room]") {
        let Some(room) = dom::data(&table, "room") else {
            continue;
        };
        wasm_bindgen_futures::spawn_local(async move {
            let url = http::room_api(&RoomId::new(room), "");
            let Ok(answer) = http::request("GET", &url, None, None).await else {
                return;
            };
            if !answer.ok() {
                return;
            }
            if let Ok(info) = serde_json::from_str::<TableInfo>(&answer.text) {
                if let Err(err) = apply(&table, &info) {
                    web_sys::console::warn_1(&format!("backchannel: {err}").into());
                }
            }
        });
    }
}

/// The participants cell's text: names, most recent first, and who is online.
pub fn participants_text(info: &TableInfo) -> String {
    if info.participants.is_empty() {
        return "nobody yet".to_owned();
    }
    let names: Vec<&str> = info.participants.iter().map(|p| p.name.as_str()).collect();
    let mut text = names.join(", ");
    if !info.present.is_empty() {
        text.push_str(&format!(" · {} online", info.present.len()));
    }
    text
}

/// Writes `info` into one table (as text, never markup).
pub fn apply(table: &Element, info: &TableInfo) -> Result<(), DomError> {
    let doc = table.owner_document().ok_or(DomError::NoDocument)?;
    if let (Some(cell), Some(at)) = (dom::query(table, "td.bc-last-activity"), info.last_activity) {
        let time = doc.create_element("time")?;
        let stamp = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        time.set_attribute("datetime", &stamp)?;
        let date = js_sys::Date::new(&JsValue::from_str(&stamp));
        let label = match local_time(&date) {
            // "YYYY-MM-DD HH:MM:SS UTC+01:00" → "YYYY-MM-DD HH:MM UTC+01:00"
            Some((_, title)) => {
                let (day_time, zone) = title.split_at(title.find(" UTC").unwrap_or(title.len()));
                format!("{}{zone}", day_time.get(..16).unwrap_or(day_time))
            }
            None => stamp.clone(),
        };
        time.set_text_content(Some(&label));
        cell.set_text_content(None);
        cell.append_child(&time)?;
    }
    if let Some(cell) = dom::query(table, "td.bc-participants") {
        show_participants(&doc, &cell, info)?;
        cell.set_attribute("data-online", &info.present.len().to_string())?;
    }
    Ok(())
}

/// Rebuilds the participants cell as the server renders it: a
/// `span.bc-person[data-user]` per person (keeping the picture the server
/// gave them), then how many are online. Its text is [`participants_text`].
fn show_participants(doc: &Document, cell: &Element, info: &TableInfo) -> Result<(), DomError> {
    let pictures: Vec<(String, Element)> = dom::query_all(cell, "span.bc-person[data-user]")
        .into_iter()
        .filter_map(|span| {
            let img = dom::query(&span, "img.bc-face")?;
            Some((span.get_attribute("data-user")?, img))
        })
        .collect();
    if info.participants.is_empty() {
        cell.set_text_content(Some(&participants_text(info)));
        return Ok(());
    }
    cell.set_text_content(None);
    for (i, person) in info.participants.iter().enumerate() {
        if i > 0 {
            cell.append_child(&doc.create_text_node(", "))?;
        }
        let span = dom::element(doc, "span", "bc-person")?;
        span.set_attribute("data-user", person.id.as_str())?;
        if let Some((_, img)) = pictures.iter().find(|(id, _)| id == person.id.as_str()) {
            span.append_child(img)?;
            span.append_child(&doc.create_text_node(" "))?;
        }
        span.append_child(&doc.create_text_node(&person.name))?;
        cell.append_child(&span)?;
    }
    if !info.present.is_empty() {
        let online = format!(" · {} online", info.present.len());
        cell.append_child(&doc.create_text_node(&online))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::{PageId, PageRef, Participant, RoomInfo};

    fn person(id: &str) -> Participant {
        Participant {
            id: UserId::new(id),
            name: id.to_uppercase(),
            presence: None,
            last_seen: None,
        }
    }

    /// The server's answer, read the way the table reads it.
    fn read(info: &RoomInfo) -> TableInfo {
        serde_json::from_str(&serde_json::to_string(info).unwrap()).unwrap()
    }

    #[test]
    fn the_participants_cell_names_people_and_counts_who_is_online() {
        let mut info = RoomInfo {
            id: RoomId::new("r1"),
            name: "Lobby".into(),
            page: Some(PageRef {
                id: PageId::new("1"),
                title: "Welcome".into(),
                url: "/pages/Welcome".into(),
            }),
            topic: String::new(),
            last_activity: None,
            participants: vec![],
            present: vec![],
            files: vec![],
            transcripts: vec![],
            last_seq: 0,
        };
        assert_eq!(participants_text(&read(&info)), "nobody yet");
        info.participants = vec![person("bob"), person("amy")];
        info.present = vec![person("bob")];
        info.last_activity =
            Some(chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, 22, 8, 15, 0).unwrap());
        info.transcripts = vec![protocol::TranscriptRef {
            date: chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap(),
            path: "Welcome/Chat/Lobby/2026-11-22".into(),
            url: "/pages/Welcome/Chat/Lobby/2026-11-22".into(),
        }];
        let table = read(&info);
        assert_eq!(participants_text(&table), "BOB, AMY · 1 online");
        assert_eq!(table.last_activity, info.last_activity);
    }
}
