//! Which day a message belongs to, in the time zone of the page it is
//! published under.
//!
//! A local day is the half-open span of instants from its first moment to the
//! first moment of the next day. Usually that is local midnight, but not
//! always: on daylight-saving days a day lasts 23 or 25 hours, a few zones
//! skip midnight itself (the day then starts when the clocks jump, e.g. at
//! 01:00), and a zone may skip a whole date (Pacific/Apia skipped 2011-12-30),
//! whose span is then empty.

use chrono::{DateTime, Days, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// The local date of instant `t` in `zone`.
pub fn local_date(t: DateTime<Utc>, zone: Tz) -> NaiveDate {
    t.with_timezone(&zone).date_naive()
}

/// The instants that make up `date` in `zone`: start inclusive, end
/// exclusive, so `start <= t && t < end` exactly when
/// `local_date(t, zone) == date`.
pub fn day_bounds(date: NaiveDate, zone: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = day_start(date, zone);
    let end = match date.checked_add_days(Days::new(1)) {
        Some(next) => day_start(next, zone),
        None => DateTime::<Utc>::MAX_UTC,
    };
    (start, end)
}

/// The first instant whose local wall time is `date` 00:00 or later.
fn day_start(date: NaiveDate, zone: Tz) -> DateTime<Utc> {
    let midnight = date.and_time(NaiveTime::MIN);
    match zone.from_local_datetime(&midnight) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        // Midnight happened twice (clocks went back over it): the day
        // starts at the first one.
        LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        // Midnight was skipped: the day starts when the clocks jumped.
        LocalResult::None => first_instant_at_or_after(midnight, zone),
    }
}

/// Binary search for the first whole second whose wall time in `zone` is at
/// least `wall`. UTC offsets lie within -12h..+14h, so the answer lies
/// within this window around `wall` read as UTC; tz transitions fall on
/// whole seconds.
fn first_instant_at_or_after(wall: NaiveDateTime, zone: Tz) -> DateTime<Utc> {
    let as_utc = wall.and_utc().timestamp();
    let wall_at =
        |secs: i64| DateTime::from_timestamp(secs, 0).map(|t| t.with_timezone(&zone).naive_local());
    // Wall time 15 hours earlier is before `wall`, 13 hours later after it.
    let mut lo = as_utc - 15 * 3600;
    let mut hi = as_utc + 13 * 3600;
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        match wall_at(mid) {
            Some(local) if local < wall => lo = mid,
            _ => hi = mid,
        }
    }
    DateTime::from_timestamp(hi, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;
    use chrono_tz::{America, Europe, Pacific};

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().expect("RFC 3339 timestamp")
    }

    fn hours(bounds: (DateTime<Utc>, DateTime<Utc>)) -> i64 {
        (bounds.1 - bounds.0).num_hours()
    }

    #[test]
    fn the_last_millisecond_belongs_to_the_day_and_midnight_to_the_next() {
        let zone = Europe::Berlin;
        let last = utc("2026-11-22T23:59:59.999+01:00");
        let next = utc("2026-11-23T00:00:00.000+01:00");
        assert_eq!(local_date(last, zone), date(2026, 11, 22));
        assert_eq!(local_date(next, zone), date(2026, 11, 23));
        let (start, end) = day_bounds(date(2026, 11, 22), zone);
        assert_eq!(start, utc("2026-11-21T23:00:00Z"));
        assert_eq!(end, next);
        assert!(start <= last && last < end);
        assert!(next >= end);
    }

    #[test]
    fn daylight_saving_days_last_23_and_25_hours_in_berlin() {
        let zone = Europe::Berlin;
        let spring = day_bounds(date(2026, 3, 29), zone);
        assert_eq!(spring.0, utc("2026-03-28T23:00:00Z"));
        assert_eq!(spring.1, utc("2026-03-29T22:00:00Z"));
        assert_eq!(hours(spring), 23);
        let autumn = day_bounds(date(2026, 10, 25), zone);
        assert_eq!(autumn.0, utc("2026-10-24T22:00:00Z"));
        assert_eq!(autumn.1, utc("2026-10-25T23:00:00Z"));
        assert_eq!(hours(autumn), 25);
        assert_eq!(hours(day_bounds(date(2026, 3, 30), zone)), 24);
    }

    #[test]
    fn a_day_whose_midnight_is_skipped_starts_when_the_clocks_jump() {
        // Havana springs forward at 00:00 -> 01:00 (second Sunday in March).
        let zone = America::Havana;
        let (start, end) = day_bounds(date(2026, 3, 8), zone);
        assert_eq!(start, utc("2026-03-08T05:00:00Z"));
        assert_eq!(
            start.with_timezone(&zone).to_string(),
            "2026-03-08 01:00:00 CDT"
        );
        assert_eq!(hours((start, end)), 23);
        assert_eq!(
            local_date(start - TimeDelta::milliseconds(1), zone),
            date(2026, 3, 7)
        );
        assert_eq!(local_date(start, zone), date(2026, 3, 8));
    }

    #[test]
    fn a_skipped_date_is_empty() {
        // Samoa moved across the date line: 2011-12-29 was followed by 2011-12-31.
        let zone = Pacific::Apia;
        let (start, end) = day_bounds(date(2011, 12, 30), zone);
        assert_eq!(start, end);
        assert_eq!(day_bounds(date(2011, 12, 29), zone).1, start);
        assert_eq!(day_bounds(date(2011, 12, 31), zone).0, start);
    }

    #[test]
    fn bounds_agree_with_local_date_around_every_edge() {
        let cases = [
            (Europe::Berlin, date(2026, 3, 29)),
            (Europe::Berlin, date(2026, 10, 25)),
            (America::Havana, date(2026, 3, 8)),
            (America::Havana, date(2026, 11, 1)),
            (Pacific::Apia, date(2011, 12, 29)),
        ];
        for (zone, day) in cases {
            let (start, end) = day_bounds(day, zone);
            for edge in [start, end] {
                for ms in [-1, 0, 1] {
                    let t = edge + TimeDelta::milliseconds(ms);
                    let inside = start <= t && t < end;
                    assert_eq!(local_date(t, zone) == day, inside, "{zone} {day} {t}");
                }
            }
        }
    }
}
