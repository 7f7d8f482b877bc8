//! WebSocket client frames over generated input (issue 17, "Property
//! tests"): any text is a frame or a parse error, never a panic, and what
//! parses survives a round trip unchanged.

use proptest::prelude::*;
use protocol::{ClientFrame, RoomId};
use serde_json::json;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn any_text_parses_as_a_client_frame_or_an_error(text in "\\PC{0,64}") {
        let _ = serde_json::from_str::<ClientFrame>(&text);
    }

    #[test]
    fn frames_with_hostile_fields_parse_or_fail_cleanly(
        kind in prop_oneof![
            Just("subscribe"), Just("unsubscribe"), Just("send"), Just("presence"),
            Just("typing"), Just("read"), Just("ping"), Just("SEND"), Just(""),
        ],
        room in prop_oneof![Just(json!("r1")), Just(json!(1)), Just(json!(null)), Just(json!("\u{0}"))],
        number in prop_oneof![Just(json!(u64::MAX)), Just(json!(-1)), Just(json!(1e300)),
                              Just(json!("7")), Just(json!(null)), Just(json!(3))],
        body in "\\PC{0,16}",
    ) {
        let frame = json!({
            "type": kind, "room": room, "after": number, "seq": number,
            "reply_to": number, "body": body, "client_msg_id": body, "status": body,
        });
        if let Ok(parsed) = serde_json::from_value::<ClientFrame>(frame) {
            // What parses survives a round trip unchanged.
            let text = serde_json::to_string(&parsed).expect("a frame serialises");
            let again: ClientFrame = serde_json::from_str(&text).expect("its own JSON parses");
            prop_assert_eq!(again, parsed);
        }
    }
}

/// The frames a client really sends still parse (so the properties above
/// do not pass only because everything fails).
#[test]
fn real_frames_parse() {
    let frame: ClientFrame =
        serde_json::from_str(r#"{"type":"subscribe","room":"r1","after":3}"#).expect("a frame");
    assert_eq!(
        frame,
        ClientFrame::Subscribe {
            room: RoomId::new("r1"),
            after: Some(3)
        }
    );
}
