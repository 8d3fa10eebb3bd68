//! The checks of [`RegistryStore`]: the registry, routing table and abuse records replaced
//! whole or by source, and the saved attribution index dropped with any of them.

use baken_model::{AbuseContact, AbuseRecord, AbuseScope, Organisation, RoutedPrefix};
use std::borrow::Cow;

use crate::RegistryStore;

/// One check of [`RegistryStore`], on a fresh, empty store.
pub type Check = fn(&mut dyn RegistryStore);

/// The checks of [`RegistryStore`], by name.
pub const CHECKS: &[(&str, Check)] = &[
    (
        "the_registry_is_replaced_whole_and_by_source",
        the_registry_is_replaced_whole_and_by_source,
    ),
    (
        "the_attribution_index_goes_with_the_registry",
        the_attribution_index_goes_with_the_registry,
    ),
];

fn the_attribution_index_goes_with_the_registry(store: &mut dyn RegistryStore) {
    assert_eq!(store.attribution_index().unwrap(), None);
    store.put_attribution_index(b"index").unwrap();
    assert_eq!(
        store.attribution_index().unwrap().as_deref(),
        Some(&b"index"[..])
    );
    let o: Organisation =
        serde_json::from_value(serde_json::json!({"id": "org-1", "name": "One"})).unwrap();
    store
        .replace_organisations(&mut [o].iter().map(Cow::Borrowed))
        .unwrap();
    assert_eq!(
        store.attribution_index().unwrap(),
        None,
        "a new registry needs a new index"
    );
    store.put_attribution_index(b"index").unwrap();
    store.replace_routing("t", &[]).unwrap();
    assert_eq!(store.attribution_index().unwrap(), None);
    store.put_attribution_index(b"index").unwrap();
    store.replace_abuse("t", &[]).unwrap();
    assert_eq!(store.attribution_index().unwrap(), None);
    // replaced by a larger index, a smaller one and an empty one, it reads back as written
    for len in [3 * 65_536 + 7, 10, 0] {
        let index: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
        store.put_attribution_index(&index).unwrap();
        assert_eq!(
            store.attribution_index().unwrap(),
            Some(index),
            "{len} bytes"
        );
    }
}

fn organisation(id: &str, name: &str) -> Organisation {
    serde_json::from_value(serde_json::json!({"id": id, "name": name})).unwrap()
}

fn prefix(net: &str, asn: u32) -> RoutedPrefix {
    RoutedPrefix {
        net: net.parse().unwrap(),
        asn,
    }
}

fn abuse(net: &str, email: &str) -> AbuseRecord {
    AbuseRecord {
        scope: AbuseScope::Network(net.parse().unwrap()),
        contact: AbuseContact {
            email: email.into(),
            via: "RIPE".into(),
            holder: Some("hoster".into()),
            country: Some("NL".into()),
        },
    }
}

fn the_registry_is_replaced_whole_and_by_source(store: &mut dyn RegistryStore) {
    assert!(store.organisations().unwrap().is_empty());
    let (one, two) = (organisation("org-1", "One"), organisation("org-2", "Two"));
    store
        .replace_organisations(&mut [two.clone(), one.clone()].iter().map(Cow::Borrowed))
        .unwrap();
    assert_eq!(store.organisations().unwrap(), [one.clone(), two], "by id");
    store
        .replace_organisations(&mut std::iter::once(Cow::Borrowed(&one)))
        .unwrap();
    assert_eq!(store.organisations().unwrap(), [one], "replaced whole");

    let sorted = |mut v: Vec<RoutedPrefix>| {
        v.sort_by_key(|p| (p.net, p.asn));
        v
    };
    store
        .replace_routing("caida", &[prefix("198.18.0.0/16", 64496)])
        .unwrap();
    store
        .replace_routing(
            "iptoasn",
            &[
                prefix("198.19.0.0/16", 64497),
                prefix("2001:db8::/32", 64498),
            ],
        )
        .unwrap();
    assert_eq!(store.routing().unwrap().len(), 3);
    store
        .replace_routing("caida", &[prefix("198.18.0.0/24", 64499)])
        .unwrap();
    assert_eq!(
        sorted(store.routing().unwrap()),
        sorted(vec![
            prefix("198.18.0.0/24", 64499),
            prefix("198.19.0.0/16", 64497),
            prefix("2001:db8::/32", 64498)
        ]),
        "only the source's own entries are replaced"
    );

    store
        .replace_abuse("ripe", &[abuse("198.18.0.0/16", "abuse@a.example")])
        .unwrap();
    store
        .replace_abuse("arin", &[abuse("198.19.0.0/16", "abuse@b.example")])
        .unwrap();
    store.replace_abuse("ripe", &[]).unwrap();
    assert_eq!(
        store.abuse_records().unwrap(),
        [abuse("198.19.0.0/16", "abuse@b.example")],
        "only the source's own records are replaced, and come back whole"
    );
}
