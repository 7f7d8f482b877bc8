//! Times and days in the reader's zone: relabelling the server-rendered
//! times on start, the date separators between days, and the `HH:MM` and
//! tooltip text for a message's time.

use super::{append, View};
use crate::dom::{self, DomError};
use crate::state;
use chrono::NaiveDate;
use wasm_bindgen::JsValue;
use web_sys::Element;

impl View {
    /// Relabels server-rendered `<time datetime>` (in the page's zone) in the
    /// reader's zone, like the messages that arrive live.
    pub fn localize_times(&self) {
        for time in dom::query_all(&self.list, "time[datetime]") {
            let Some(stamp) = time.get_attribute("datetime") else {
                continue;
            };
            let date = js_sys::Date::new(&JsValue::from_str(&stamp));
            if let Some((label, title)) = local_time(&date) {
                time.set_text_content(Some(&label));
                // Relabelling is cosmetic: the server's label stays if this fails.
                let _ = time.set_attribute("title", &title);
            }
        }
    }

    /// Date separators (in the reader's zone) between messages of different
    /// days, fixing what earlier inserts left.
    pub fn refresh_days(&self) {
        let children = self.list.children();
        let items: Vec<Element> = (0..children.length())
            .filter_map(|i| children.item(i))
            .collect();
        let today = local_day(&js_sys::Date::new_0());
        let mut prev: Option<NaiveDate> = None;
        let mut pending: Option<Element> = None;
        for item in items {
            let classes = item.class_list();
            if classes.contains("bc-day") {
                if let Some(old) = pending.replace(item) {
                    old.remove();
                }
                continue;
            }
            if !classes.contains("bc-msg") {
                continue;
            }
            let Some(day) = dom::query(&item, "time[datetime]")
                .and_then(|t| t.get_attribute("datetime"))
                .and_then(|s| local_day(&js_sys::Date::new(&JsValue::from_str(&s))))
            else {
                continue;
            };
            if prev == Some(day) {
                if let Some(sep) = pending.take() {
                    sep.remove();
                }
            } else {
                let key = day.to_string();
                let sep = pending.take();
                let right = sep
                    .as_ref()
                    .is_some_and(|s| dom::data(s, "day").as_deref() == Some(key.as_str()));
                if !right {
                    if let Some(wrong) = sep {
                        wrong.remove();
                    }
                    if let Ok(fresh) = self.day_separator(day, today) {
                        let _ = self.list.insert_before(&fresh, Some(item.as_ref()));
                    }
                }
            }
            prev = Some(day);
        }
        if let Some(sep) = pending {
            sep.remove();
        }
    }

    fn day_separator(&self, day: NaiveDate, today: Option<NaiveDate>) -> Result<Element, DomError> {
        let label = match today {
            Some(today) => state::day_label(day, today),
            None => day.to_string(),
        };
        let li = dom::element(&self.doc, "li", "bc-day")?;
        li.set_attribute("role", "separator")?;
        li.set_attribute("data-day", &day.to_string())?;
        append(&li, &dom::text_element(&self.doc, "span", "", &label)?)?;
        Ok(li)
    }
}

/// A date's calendar day in the browser's zone.
fn local_day(date: &js_sys::Date) -> Option<NaiveDate> {
    if date.get_time().is_nan() {
        return None;
    }
    NaiveDate::from_ymd_opt(
        i32::try_from(date.get_full_year()).ok()?,
        date.get_month() + 1,
        date.get_date(),
    )
}

/// `HH:MM` in the browser's time zone, and `YYYY-MM-DD HH:MM:SS UTC±HH:MM`
/// for the tooltip (the server's shape); `None` for an invalid date.
pub fn local_time(date: &js_sys::Date) -> Option<(String, String)> {
    if date.get_time().is_nan() {
        return None;
    }
    let (hours, minutes) = (date.get_hours(), date.get_minutes());
    let label = format!("{hours:02}:{minutes:02}");
    let title = format!(
        "{:04}-{:02}-{:02} {hours:02}:{minutes:02}:{:02} {}",
        date.get_full_year(),
        date.get_month() + 1,
        date.get_date(),
        date.get_seconds(),
        zone_label(date.get_timezone_offset()),
    );
    Some((label, title))
}

/// `UTC`, `UTC+01:00` or `UTC-05:30` from JavaScript's `getTimezoneOffset`
/// (minutes *behind* UTC, so the sign is flipped).
pub fn zone_label(offset_minutes: f64) -> String {
    // Offsets are whole minutes within ±24 h; the cast cannot truncate.
    let east = -(offset_minutes as i32);
    if east == 0 {
        return "UTC".to_owned();
    }
    let sign = if east > 0 { '+' } else { '-' };
    let east = east.abs();
    format!("UTC{sign}{:02}:{:02}", east / 60, east % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_labels_flip_javascripts_offset_sign() {
        assert_eq!(zone_label(0.0), "UTC");
        assert_eq!(zone_label(-60.0), "UTC+01:00");
        assert_eq!(zone_label(330.0), "UTC-05:30");
    }
}
