//! Pure text helpers for the view: day labels for date separators and
//! turning a pasted block of code or lines into a fenced block.

use chrono::NaiveDate;

/// The label of a date separator: "Today", "Yesterday" or e.g.
/// "Sunday, 22 November 2026", all in the reader's zone.
pub fn day_label(day: NaiveDate, today: NaiveDate) -> String {
    if day == today {
        "Today".to_owned()
    } else if today.pred_opt() == Some(day) {
        "Yesterday".to_owned()
    } else {
        // By hand: chrono's strftime machinery costs the bundle tens of KB.
        const DAYS: [&str; 7] = [
            "Monday",
            "Tuesday",
            "Wednesday",
            "Thursday",
            "Friday",
            "Saturday",
            "Sunday",
        ];
        const MONTHS: [&str; 12] = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        use chrono::Datelike;
        let weekday = DAYS[day.weekday().num_days_from_monday() as usize % 7];
        let month = MONTHS[day.month0() as usize % 12];
        format!("{weekday}, {} {month} {}", day.day(), day.year())
    }
}

/// Pasted text that should become a preformatted block: several lines, or a
/// line that looks like code. Returns the fenced block to insert, with a
/// fence longer than any backtick run inside.
pub fn fence_paste(text: &str) -> Option<String> {
    let text = text.trim_end_matches(['\n', '\r']);
    if text.is_empty() || text.trim_start().starts_with("```") {
        return None;
    }
    let multi_line = text.contains('\n');
    if !multi_line && !looks_like_code(text) {
        return None;
    }
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    Some(format!("{fence}\n{text}\n{fence}\n"))
}

/// A single line that reads as code rather than prose.
fn looks_like_code(line: &str) -> bool {
    let t = line.trim();
    let starts = [
        "fn ",
        "let ",
        "const ",
        "var ",
        "def ",
        "import ",
        "#include",
        "SELECT ",
        "select ",
        "$ ",
        "function ",
        "class ",
        "pub ",
    ];
    let ends = [';', '{', '}'];
    starts.iter().any(|s| t.starts_with(s))
        || ends.iter().any(|e| t.ends_with(*e))
        || t.contains("=>")
        || t.contains("::")
        || t.contains("();")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_line_or_code_like_pastes_become_fenced_blocks() {
        assert_eq!(fence_paste("just words"), None);
        assert_eq!(
            fence_paste("line one\nline two\n").as_deref(),
            Some("```\nline one\nline two\n```\n")
        );
        assert_eq!(
            fence_paste("let x = 1;").as_deref(),
            Some("```\nlet x = 1;\n```\n")
        );
        assert_eq!(
            fence_paste("a ``` b\nc").as_deref(),
            Some("````\na ``` b\nc\n````\n")
        );
    }

    #[test]
    fn day_labels_are_relative_near_today() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(day_label(d(2026, 11, 22), d(2026, 11, 22)), "Today");
        assert_eq!(day_label(d(2026, 11, 21), d(2026, 11, 22)), "Yesterday");
        assert_eq!(
            day_label(d(2026, 11, 2), d(2026, 11, 22)),
            "Monday, 2 November 2026"
        );
    }
}
