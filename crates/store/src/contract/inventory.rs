//! The checks of [`InventoryStore`]: an organisation's inventory replaced per source.

use crate::{InventoryRecord, InventoryReplacement, InventoryStore};

/// One check of [`InventoryStore`], on a fresh, empty store.
pub type Check = fn(&mut dyn InventoryStore);

/// The checks of [`InventoryStore`], by name.
pub const CHECKS: &[(&str, Check)] = &[
    (
        "inventory_is_replaced_per_organisation_and_source",
        inventory_is_replaced_per_organisation_and_source,
    ),
    (
        "inventories_are_replaced_together_as_one_by_one",
        inventories_are_replaced_together_as_one_by_one,
    ),
];

fn entry(org: &str, source: &str, name: &str, version: &str, place: &str) -> InventoryRecord {
    InventoryRecord {
        org: org.into(),
        source: source.into(),
        cpe: Some(format!("cpe:2.3:a:vendor:{name}:{version}:*:*:*:*:*:*:*")),
        purl: None,
        name: Some(name.into()),
        version: Some(version.into()),
        host: Some("198.18.0.1".into()),
        place: place.into(),
    }
}

fn inventory_is_replaced_per_organisation_and_source(store: &mut dyn InventoryStore) {
    assert!(store.inventory().unwrap().is_empty());
    let a1 = entry("org-1", "assets.csv", "adc", "13.0", "line 2");
    let a2 = entry("org-1", "assets.csv", "gateway", "12.1", "line 3");
    let sbom = entry("org-1", "sbom.json", "openssl", "3.0.1", "$.components[0]");
    let other = entry("org-2", "assets.csv", "adc", "13.1", "line 2");
    store
        .replace_inventory("org-2", "assets.csv", std::slice::from_ref(&other))
        .unwrap();
    store
        .replace_inventory("org-1", "assets.csv", &[a1.clone(), a2.clone()])
        .unwrap();
    store
        .replace_inventory("org-1", "sbom.json", std::slice::from_ref(&sbom))
        .unwrap();
    assert_eq!(
        store.inventory().unwrap(),
        [a1.clone(), a2, sbom.clone(), other.clone()],
        "by organisation and source, each source's entries in the order given"
    );
    // the same file again, with one entry gone: only that file's entries change
    store
        .replace_inventory("org-1", "assets.csv", std::slice::from_ref(&a1))
        .unwrap();
    assert_eq!(store.inventory().unwrap(), [a1, sbom, other.clone()]);
    store.replace_inventory("org-1", "assets.csv", &[]).unwrap();
    store.replace_inventory("org-1", "sbom.json", &[]).unwrap();
    assert_eq!(store.inventory().unwrap(), [other]);
}

fn inventories_are_replaced_together_as_one_by_one(store: &mut dyn InventoryStore) {
    let old = entry("org-1", "org-1.csv", "adc", "12.0", "line 2");
    let kept = entry("org-3", "org-3.csv", "vpn", "1.0", "line 2");
    store
        .replace_inventory("org-1", "org-1.csv", std::slice::from_ref(&old))
        .unwrap();
    store
        .replace_inventory("org-3", "org-3.csv", std::slice::from_ref(&kept))
        .unwrap();
    let a = [
        entry("org-1", "org-1.csv", "adc", "13.0", "line 2"),
        entry("org-1", "org-1.csv", "gateway", "12.1", "line 3"),
    ];
    let b = [entry(
        "org-2",
        "org-2.cdx.json",
        "openssl",
        "3.0.1",
        "$.components[0]",
    )];
    store
        .replace_inventories(&[
            InventoryReplacement {
                org: "org-1",
                source: "org-1.csv",
                entries: &a,
            },
            InventoryReplacement {
                org: "org-2",
                source: "org-2.cdx.json",
                entries: &b,
            },
        ])
        .unwrap();
    let mut want = a.to_vec();
    want.extend(b.iter().cloned());
    want.push(kept);
    assert_eq!(
        store.inventory().unwrap(),
        want,
        "each inventory replaced as by replace_inventory; the others kept"
    );
    store.replace_inventories(&[]).unwrap();
    assert_eq!(
        store.inventory().unwrap(),
        want,
        "an empty batch changes nothing"
    );
}
