//! `baken registry import`: what changed, and a file that would empty the registry or remove
//! most of it is refused unless `--replace-all`.

mod common;

use std::path::Path;

use baken_store::{SqliteStore, prelude::*};
use common::{run, run_ok, s};
use serde_json::{Value, json};

/// Organisation `org-<i>` named `name`, with a network and a contact of its own.
fn org(i: u32, name: &str) -> Value {
    json!({
        "id": format!("org-{i}"),
        "name": name,
        "networks": [format!("198.18.{i}.0/24")],
        "domains": [format!("org{i}.example")],
        "contacts": [{ "email": format!("soc@org{i}.example"), "role": "security" }],
    })
}

/// Writes `text` to `dir/name` and returns the path.
fn file(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// The ids of the registered organisations.
fn registered(data: &Path) -> Vec<String> {
    SqliteStore::open(data)
        .unwrap()
        .organisations()
        .unwrap()
        .into_iter()
        .map(|o| o.id.0)
        .collect()
}

/// Regression: importing an empty file or `[]` replaced the whole registry with nothing and
/// succeeded.
#[test]
fn an_import_that_would_empty_or_halve_the_registry_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let ten: Vec<Value> = (1..=10).map(|i| org(i, &format!("Org {i}"))).collect();
    let full = file(dir.path(), "full.json", &Value::from(ten).to_string());
    let out = run_ok(&data, &["registry", "import", s(&full)]);
    assert_eq!(
        out.trim(),
        format!(
            "10 organisations imported from {}: 10 added, 0 removed, 0 changed, 0 unchanged",
            full.display()
        )
    );
    let all: Vec<String> = registered(&data);
    assert_eq!(all.len(), 10);

    // An empty array, an empty file, and a file with four of the ten: each would remove more
    // than half, and each is refused without changing anything.
    let four: Vec<Value> = (1..=4).map(|i| org(i, &format!("Org {i}"))).collect();
    let refused = [
        (file(dir.path(), "empty.json", "[]"), 0, 10),
        (file(dir.path(), "empty.jsonl", ""), 0, 10),
        (
            file(dir.path(), "four.json", &Value::from(four).to_string()),
            4,
            6,
        ),
    ];
    for (path, incoming, removed) in &refused {
        let out = run(&data, &["registry", "import", s(path)]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{}: {stderr}", path.display());
        assert!(
            stderr.contains(&format!(
                "{} holds {incoming} organisations: importing it would remove {removed} of the 10 registered organisations, so nothing was changed",
                path.display()
            )),
            "{stderr}"
        );
        assert!(stderr.contains("--replace-all"), "{stderr}");
        assert_eq!(
            registered(&data),
            all,
            "{}: nothing changed",
            path.display()
        );
    }
    // The lookup index was left alone too.
    let lookup = run_ok(&data, &["registry", "lookup", "198.18.9.7"]);
    assert!(lookup.contains("org-9"), "{lookup}");

    // Half may go: five kept (one renamed), two new.
    let mut half: Vec<Value> = (1..=5).map(|i| org(i, &format!("Org {i}"))).collect();
    half[0] = org(1, "Org One");
    half.extend([org(11, "Org 11"), org(12, "Org 12")]);
    let half = file(dir.path(), "half.json", &Value::from(half).to_string());
    let out = run_ok(&data, &["registry", "import", s(&half)]);
    assert_eq!(
        out.trim(),
        format!(
            "7 organisations imported from {}: 2 added, 5 removed, 1 changed, 4 unchanged",
            half.display()
        )
    );
    assert_eq!(registered(&data).len(), 7);

    // --replace-all says it is meant.
    let empty = &refused[0].0;
    let out = run_ok(&data, &["registry", "import", "--replace-all", s(empty)]);
    assert_eq!(
        out.trim(),
        format!(
            "0 organisations imported from {}: 0 added, 7 removed, 0 changed, 0 unchanged",
            empty.display()
        )
    );
    assert!(registered(&data).is_empty());
}
