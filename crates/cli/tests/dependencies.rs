//! `baken dependencies` end to end on the demo's generated country: the figures checked
//! against the registry and inventories the generator wrote, the blast radius of Citrix
//! against the inventories that name it, a user's vendor table, a sector, and the page.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::{run, run_ok, s, small_world};
use serde_json::Value;

struct World {
    _dir: tempfile::TempDir,
    data: std::path::PathBuf,
    /// registry id → (sector, vital), for organisations of kind `organisation`
    orgs: BTreeMap<String, (String, bool)>,
    /// organisations whose inventory names Citrix
    citrix: BTreeSet<String>,
    /// organisations with any inventory
    declared: BTreeSet<String>,
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let g = small_world(&dir.path().join("input"), &data, 600);
    for (org, path, _) in &g.inventories {
        run_ok(&data, &["inventory", "import", org, s(path)]);
    }
    for (org, path) in &g.other_inventories {
        run_ok(&data, &["inventory", "import", org, s(path)]);
    }
    let registry: Value =
        serde_json::from_str(&std::fs::read_to_string(&g.registry).unwrap()).unwrap();
    let orgs = registry["organisations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["kind"].as_str().is_none_or(|k| k == "organisation"))
        .map(|o| {
            (
                o["id"].as_str().unwrap().to_string(),
                (
                    o["sector"].as_str().unwrap_or("(no sector)").to_string(),
                    o["vital"].as_bool().unwrap_or(false),
                ),
            )
        })
        .collect();
    let names = |path: &Path, what: &str| std::fs::read_to_string(path).unwrap().contains(what);
    let citrix = g
        .inventories
        .iter()
        .map(|(o, _, _)| o)
        .chain(g.other_inventories.iter().map(|(o, _)| o))
        .zip(
            g.inventories
                .iter()
                .map(|(_, p, _)| p)
                .chain(g.other_inventories.iter().map(|(_, p)| p)),
        )
        .filter(|(_, p)| names(p, ":citrix:"))
        .map(|(o, _)| o.clone())
        .collect();
    let declared = g
        .inventories
        .iter()
        .map(|(o, _, _)| o.clone())
        .chain(g.other_inventories.iter().map(|(o, _)| o.clone()))
        .collect();
    World {
        _dir: dir,
        data,
        orgs,
        citrix,
        declared,
    }
}

fn json(data: &Path, args: &[&str]) -> Value {
    let mut all = vec!["dependencies", "--json"];
    all.extend_from_slice(args);
    serde_json::from_str(&run_ok(data, &all)).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn the_picture_agrees_with_the_generated_country() {
    let w = world();
    let v = json(&w.data, &[]);
    for key in ["vendors", "countries", "concentration", "blast_radius"] {
        assert!(v.get(key).is_some(), "{key} in {v}");
    }
    assert!(v["blast_radius"].is_null(), "only with --vendor");
    assert_eq!(v["organisations"].as_u64().unwrap() as usize, w.orgs.len());
    assert_eq!(
        v["with_inventory"].as_u64().unwrap() as usize,
        w.declared.len()
    );
    let vital = |ids: &BTreeSet<String>| ids.iter().filter(|id| w.orgs[*id].1).count();
    let vital_declared = vital(&w.declared);
    assert!(
        vital_declared > 0,
        "the demo gives vital providers inventories"
    );
    assert_eq!(
        v["concentration"]["vital_with_inventory"].as_u64().unwrap() as usize,
        vital_declared
    );

    // Citrix: exactly the organisations whose files name it
    let vendors = v["vendors"].as_array().unwrap();
    assert!(
        vendors.len() >= 10,
        "a meaningful picture: {}",
        vendors.len()
    );
    let citrix = vendors.iter().find(|x| x["vendor"] == "citrix").unwrap();
    assert_eq!(
        citrix["organisations"].as_u64().unwrap() as usize,
        w.citrix.len()
    );
    assert_eq!(citrix["vital"].as_u64().unwrap() as usize, vital(&w.citrix));
    assert_eq!(citrix["country"], "US");
    assert!(close(
        citrix["vital_share"].as_f64().unwrap(),
        vital(&w.citrix) as f64 / vital_declared as f64
    ));
    let listed: BTreeSet<String> = citrix["products"][0]["organisations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed, w.citrix);

    // shares of dependencies by country add up to one; every HHI is an HHI
    let shares: f64 = v["countries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["share"].as_f64().unwrap())
        .sum();
    assert!(close(shares, 1.0), "{shares}");
    for s in v["concentration"]["sectors"].as_array().unwrap() {
        let hhi = s["hhi"].as_f64().unwrap();
        assert!((0.0..=10_000.0).contains(&hhi), "{s}");
    }
    // the hosters vital providers' mail sits at are non-vital suppliers of theirs
    let suppliers = v["suppliers"]["network"].as_array().unwrap();
    assert!(
        suppliers
            .iter()
            .any(|x| x["id"].as_str().unwrap().starts_with("hoster-")
                && x["kinds"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|k| k == "hosting")),
        "{suppliers:?}"
    );
}

#[test]
fn the_blast_radius_of_citrix_is_who_declared_it_and_how_they_are_told() {
    let w = world();
    let v = json(&w.data, &["--vendor", "citrix"]);
    let b = &v["blast_radius"];
    let n = |k: &str| b[k].as_u64().unwrap() as usize;
    assert_eq!(n("organisations"), w.citrix.len());
    let vital = w.citrix.iter().filter(|id| w.orgs[*id].1).count();
    assert_eq!(
        (n("vital"), n("non_vital")),
        (vital, w.citrix.len() - vital)
    );
    assert_eq!(n("reached") + n("unreachable"), n("organisations"));
    let parties: BTreeSet<String> = b["parties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(parties, w.citrix);
    let by_sector: usize = b["by_sector"]
        .as_object()
        .unwrap()
        .values()
        .map(|s| s["organisations"].as_u64().unwrap() as usize)
        .sum();
    assert_eq!(by_sector, w.citrix.len());
    // under nl-2020 a vital provider with a contact is told directly; the others are not
    // told by the NCSC at all, and the plan says why
    for p in b["parties"].as_array().unwrap() {
        match p["coverage"]["status"].as_str().unwrap() {
            "reached" => assert!(!p["coverage"]["paths"].as_array().unwrap().is_empty()),
            "unreachable" => assert!(!p["coverage"]["reason"].as_str().unwrap().is_empty()),
            other => panic!("{other}"),
        }
    }
    assert!(n("reached") > 0 && n("unreachable") > 0, "{b}");

    // a product nobody declared affects nobody; the text says so
    let text = run_ok(
        &w.data,
        &[
            "dependencies",
            "--vendor",
            "citrix",
            "--product",
            "workspace_app",
        ],
    );
    assert!(
        text.contains("blast radius of citrix workspace_app"),
        "{text}"
    );
    assert!(text.contains("no inventory names it"), "{text}");
}

#[test]
fn a_sector_a_vendor_table_and_the_page() {
    let w = world();
    let health = json(&w.data, &["--sector", "health"]);
    let in_health = w.orgs.values().filter(|(s, _)| s == "health").count();
    assert_eq!(
        health["organisations"].as_u64().unwrap() as usize,
        in_health
    );
    for v in health["vendors"].as_array().unwrap() {
        let sectors: Vec<&String> = v["sectors"].as_object().unwrap().keys().collect();
        assert_eq!(sectors, ["health"], "{v}");
    }
    let out = run(&w.data, &["dependencies", "--sector", "astrology"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("astrology") && err.contains("health"), "{err}");

    // a user's table replaces a shipped row
    let table = w.data.join("mine.csv");
    std::fs::write(
        &table,
        "vendor,name,country,source\ncitrix,Citrix (test),IE,a test\n",
    )
    .unwrap();
    let mine = json(&w.data, &["--vendors", s(&table)]);
    let citrix = mine["vendors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["vendor"] == "citrix")
        .unwrap();
    assert_eq!(citrix["country"], "IE");
    assert!(
        mine["countries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["country"] == "IE")
    );
    std::fs::write(&table, "citrix,Citrix,Ireland\n").unwrap();
    let out = run(&w.data, &["dependencies", "--vendors", s(&table)]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("mine.csv:1") && err.contains("ISO 3166-1"),
        "{err}"
    );

    // the page: three charts, nothing loaded from elsewhere
    let html = w.data.join("dependencies.html");
    let text = run_ok(
        &w.data,
        &["dependencies", "--vendor", "citrix", "--html", s(&html)],
    );
    assert!(text.contains("page written to"), "{text}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert_eq!(page.matches("<svg").count(), 3, "three charts");
    assert!(page.contains("Blast radius of citrix"));
    let mut rest = page.as_str();
    while let Some(i) = rest.find("http") {
        let before = &rest[..i];
        // a product such as apache's http_server is text, not a reference
        let url = rest[i..].starts_with("http://") || rest[i..].starts_with("https://");
        assert!(
            !url || before.ends_with("xmlns=\"") || before.ends_with("xmlns:xlink=\""),
            "a reference to elsewhere: {}",
            &rest[i.saturating_sub(40)..(i + 60).min(rest.len())]
        );
        rest = &rest[i + 4..];
    }
    for tag in ["<script", "<link", "<img", "@import", "url("] {
        assert!(!page.contains(tag), "{tag}");
    }
}
