//! The wiki and `manifest.json` agree with the plugin: every declared macro
//! is registered with its parameters, and every URL template, filled in,
//! names a route the plugin actually serves.

mod common;

use common::{get, session_cookie, start};
use wiki::macros::{fill_url, Registry};
use wiki::manifest::Manifest;
use wiki::pages::{self, PagePath};

#[tokio::test]
async fn manifest_macros_and_pages_are_served_by_the_plugin() {
    let manifest = Manifest::bundled().expect("manifest.json is a valid manifest");
    let registry = Registry::from_manifest(&manifest);
    let chat = registry.get("chat").expect("the chat macro is registered");
    let room = chat
        .params
        .iter()
        .find(|p| p.identifier == "room")
        .expect("the chat macro has a room parameter");
    assert!(room.required, "the room parameter is required");

    let wiki = start();
    let plugin = plugin::app(wiki.parts.plugin.clone());
    let cookie = session_cookie(&wiki, "admin").await;
    let welcome = wiki
        .parts
        .wiki
        .store
        .page_by_path(&PagePath::parse(pages::WELCOME).unwrap())
        .await
        .unwrap()
        .expect("bootstrap made the Welcome page");

    let mut room_id = None;
    for def in registry.macros() {
        let values: Vec<_> = def
            .params
            .iter()
            .map(|p| (p.identifier.clone(), "Agreement Test".to_owned()))
            .collect();
        let url = fill_url(&def.url, &welcome.id.to_string(), &values);
        let reply = get(&plugin, &url, Some(&cookie)).await;
        assert_eq!(
            reply.status, 200,
            "{} macro URL {url}: {}",
            def.key, reply.body
        );
        if def.key == "chat" {
            assert!(reply.body.contains("bc-macro"), "{}", reply.body);
            room_id = reply
                .body
                .split(r#"data-room=""#)
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .map(str::to_owned);
        }
    }
    let room_id = room_id.expect("the chat table names its room");

    for page in &manifest.modules.general_pages {
        let url = page.url.replace("{room.id}", &room_id);
        assert!(!url.contains('{'), "unknown placeholder in {}", page.url);
        let reply = get(&plugin, &url, Some(&cookie)).await;
        assert_eq!(
            reply.status, 200,
            "{} page URL {url}: {}",
            page.key, reply.body
        );
    }
}
