//! The attribution rules, one test per rule, on a small hand-made registry.

use std::net::IpAddr;

use baken_attribute::{Attributor, Conflict, Query};
use baken_model::{
    AbuseContact, AbuseRecord, AbuseScope, OrgId, Organisation, Owner, RoutedPrefix, Rule,
};

fn org(id: &str, name: &str, networks: &[&str], asns: &[u32], domains: &[&str]) -> Organisation {
    Organisation {
        id: OrgId(id.into()),
        name: name.into(),
        kind: Default::default(),
        sector: None,
        vital: false,
        wbni: Default::default(),
        supervisor: None,
        cert: None,
        networks: networks.iter().map(|n| n.parse().unwrap()).collect(),
        asns: asns.to_vec(),
        domains: domains.iter().map(|d| d.to_string()).collect(),
        contacts: Vec::new(),
    }
}

fn routed(net: &str, asn: u32) -> RoutedPrefix {
    RoutedPrefix {
        net: net.parse().unwrap(),
        asn,
    }
}

fn abuse(scope: AbuseScope, email: &str, via: &str) -> AbuseRecord {
    AbuseRecord {
        scope,
        contact: AbuseContact {
            email: email.into(),
            via: via.into(),
            holder: None,
            country: None,
        },
    }
}

fn attributor() -> Attributor {
    Attributor::new(
        vec![
            org(
                "org-1",
                "Big Provider",
                &["198.18.0.0/16", "2001:db8::/32"],
                &[],
                &[],
            ),
            org(
                "org-17",
                "Example Zorg BV",
                &["198.18.4.0/24", "2001:db8:17::/48"],
                &[64496],
                &["zorg.example"],
            ),
            org(
                "org-18",
                "Subsidiary",
                &["198.18.4.128/25"],
                &[64497],
                &["a.zorg.example"],
            ),
            org("org-19", "Routed Only", &[], &[64498], &[]),
        ],
        vec![
            routed("198.19.0.0/16", 64498),
            routed("198.19.128.0/17", 64499),
            routed("203.0.113.0/24", 64510),
        ],
        vec![
            abuse(
                AbuseScope::Network("198.19.128.0/17".parse().unwrap()),
                "abuse@hoster.example",
                "inetnum 198.19.128.0 - 198.19.255.255 (netname HOSTER-NET)",
            ),
            abuse(
                AbuseScope::Network("198.19.192.0/18".parse().unwrap()),
                "abuse@customer.example",
                "inetnum 198.19.192.0 - 198.19.255.255 (netname CUSTOMER-NET)",
            ),
            abuse(
                AbuseScope::Asn(64510),
                "abuse@transit.example",
                "aut-num AS64510 (as-name TRANSIT-AS)",
            ),
        ],
    )
    .unwrap()
}

fn ip(s: &str) -> Option<IpAddr> {
    Some(s.parse().unwrap())
}

fn check(ip: Option<IpAddr>, asn: Option<u32>, domain: Option<&str>, rule: Rule, reason: &str) {
    let a = attributor().attribute(ip, asn, domain);
    assert_eq!((a.rule, a.reason.as_str()), (rule, reason));
}

fn owner_of(ip: Option<IpAddr>, asn: Option<u32>, domain: Option<&str>) -> Owner {
    attributor().attribute(ip, asn, domain).owner
}

fn org_owner(id: &str) -> Owner {
    Owner::Organisation {
        id: OrgId(id.into()),
    }
}

#[test]
fn prefix_longest_wins_ipv4() {
    check(
        ip("198.18.4.7"),
        None,
        None,
        Rule::Prefix,
        "198.18.4.7 is in 198.18.4.0/24, registered to org-17 (Example Zorg BV)",
    );
    assert_eq!(
        owner_of(ip("198.18.4.200"), None, None),
        org_owner("org-18")
    );
    assert_eq!(owner_of(ip("198.18.5.1"), None, None), org_owner("org-1"));
}

#[test]
fn prefix_longest_wins_ipv6() {
    check(
        ip("2001:db8:17::1"),
        None,
        None,
        Rule::Prefix,
        "2001:db8:17::1 is in 2001:db8:17::/48, registered to org-17 (Example Zorg BV)",
    );
    assert_eq!(
        owner_of(ip("2001:db8:18::1"), None, None),
        org_owner("org-1")
    );
}

#[test]
fn prefix_beats_asn_and_domain() {
    assert_eq!(
        owner_of(ip("198.18.4.7"), Some(64497), Some("a.zorg.example")),
        org_owner("org-17")
    );
}

#[test]
fn asn_from_the_event() {
    check(
        ip("192.0.2.1"),
        Some(64497),
        None,
        Rule::Asn,
        "AS64497 (from the event) is registered to org-18 (Subsidiary)",
    );
}

#[test]
fn asn_from_the_routing_table() {
    check(
        ip("198.19.1.1"),
        None,
        None,
        Rule::Asn,
        "198.19.1.1 is routed by AS64498 (198.19.0.0/16 in the routing table), registered to org-19 (Routed Only)",
    );
    // An unregistered event ASN does not hide the routed one.
    assert_eq!(
        owner_of(ip("198.19.1.1"), Some(65000), None),
        org_owner("org-19")
    );
    // The event's registered ASN comes before the routed one.
    assert_eq!(
        owner_of(ip("198.19.1.1"), Some(64496), None),
        org_owner("org-17")
    );
}

#[test]
fn domain_suffix_at_label_boundary() {
    check(
        None,
        None,
        Some("WWW.Zorg.Example."),
        Rule::Domain,
        "www.zorg.example is under zorg.example, registered to org-17 (Example Zorg BV)",
    );
    check(
        None,
        None,
        Some("zorg.example"),
        Rule::Domain,
        "zorg.example is registered to org-17 (Example Zorg BV)",
    );
    // The longest registered suffix wins.
    assert_eq!(
        owner_of(None, None, Some("x.a.zorg.example")),
        org_owner("org-18")
    );
    // Not at a label boundary: no match.
    assert_eq!(owner_of(None, None, Some("xzorg.example")), Owner::Unknown);
    assert_eq!(owner_of(None, None, Some("example")), Owner::Unknown);
}

#[test]
fn registry_abuse_network_then_asn() {
    check(
        ip("198.19.200.1"),
        None,
        None,
        Rule::RegistryAbuse,
        "198.19.200.1 is in 198.19.192.0/18 of inetnum 198.19.192.0 - 198.19.255.255 (netname CUSTOMER-NET), abuse contact abuse@customer.example",
    );
    let a = attributor().attribute(ip("198.19.130.1"), None, None);
    match a.owner {
        Owner::Abuse(c) => assert_eq!(c.email, "abuse@hoster.example"),
        other => panic!("expected an abuse contact, got {other:?}"),
    }
    check(
        ip("203.0.113.9"),
        None,
        None,
        Rule::RegistryAbuse,
        "AS64510 (routed) has abuse contact abuse@transit.example from aut-num AS64510 (as-name TRANSIT-AS)",
    );
    check(
        None,
        Some(64510),
        None,
        Rule::RegistryAbuse,
        "AS64510 (from the event) has abuse contact abuse@transit.example from aut-num AS64510 (as-name TRANSIT-AS)",
    );
}

#[test]
fn domain_beats_registry_abuse() {
    assert_eq!(
        owner_of(ip("198.19.200.1"), None, Some("www.zorg.example")),
        org_owner("org-17")
    );
}

#[test]
fn unknown_lists_what_was_tried() {
    check(
        ip("192.0.2.1"),
        Some(65000),
        Some("www.other.test"),
        Rule::None,
        "no owner found: no registered network contains 192.0.2.1; AS65000 (from the event) is not registered; no registered domain covers www.other.test; no public registry abuse contact",
    );
    check(
        ip("192.0.2.1"),
        None,
        None,
        Rule::None,
        "no owner found: no registered network contains 192.0.2.1; the routing table has no route for it; no public registry abuse contact",
    );
    check(
        None,
        None,
        None,
        Rule::None,
        "no owner found: the event has no IP address, AS number or host name",
    );
}

#[test]
fn conflicts_are_reported() {
    let err = Attributor::new(
        vec![
            org("a", "A", &["198.18.0.0/24"], &[1], &["x.example"]),
            org(
                "b",
                "B",
                &["198.18.0.0/24", "198.18.0.0/25"],
                &[1],
                &["X.example."],
            ),
            org("a", "A again", &[], &[], &[]),
        ],
        vec![],
        vec![],
    )
    .unwrap_err();
    assert_eq!(
        err.conflicts,
        [
            Conflict::Network(
                "198.18.0.0/24".parse().unwrap(),
                OrgId("a".into()),
                OrgId("b".into())
            ),
            Conflict::Asn(1, OrgId("a".into()), OrgId("b".into())),
            Conflict::Domain("x.example".into(), OrgId("a".into()), OrgId("b".into())),
            Conflict::DuplicateId(OrgId("a".into())),
        ]
    );
    assert_eq!(
        err.to_string(),
        "the registry has 4 conflict(s); the first: network 198.18.0.0/24 is registered to both a and b; keep it with the organisation that holds it (a more specific network may go to the other)"
    );
}

#[test]
fn organisation_by_id() {
    let a = attributor();
    assert_eq!(
        a.organisation(&OrgId("org-18".into())).unwrap().name,
        "Subsidiary"
    );
    assert!(a.organisation(&OrgId("nope".into())).is_none());
    assert_eq!(a.organisations().len(), 4);
}

#[test]
fn lookup_lists_candidates() {
    let a = attributor();
    let l = a.lookup("198.18.4.200").unwrap();
    assert_eq!(l.query, Query::Ip("198.18.4.200".parse().unwrap()));
    assert_eq!(l.attribution.rule, Rule::Prefix);
    let matched: Vec<&str> = l.candidates.iter().map(|c| c.matched.as_str()).collect();
    assert_eq!(
        matched,
        ["198.18.4.128/25", "198.18.4.0/24", "198.18.0.0/16"]
    );

    let l = a.lookup("198.19.200.1").unwrap();
    let notes: Vec<&str> = l.candidates.iter().map(|c| c.note.as_str()).collect();
    assert_eq!(
        notes,
        [
            "routed by AS64499 (198.19.128.0/17), not registered",
            "abuse contact abuse@customer.example from inetnum 198.19.192.0 - 198.19.255.255 (netname CUSTOMER-NET)",
            "abuse contact abuse@hoster.example from inetnum 198.19.128.0 - 198.19.255.255 (netname HOSTER-NET)",
        ]
    );

    for q in ["AS64496", "as64496", "64496"] {
        let l = a.lookup(q).unwrap();
        assert_eq!(l.query, Query::Asn(64496));
        assert_eq!(l.attribution.owner, org_owner("org-17"));
    }

    let l = a.lookup("www.a.zorg.example").unwrap();
    let matched: Vec<&str> = l.candidates.iter().map(|c| c.matched.as_str()).collect();
    assert_eq!(matched, ["a.zorg.example", "zorg.example"]);
    assert_eq!(l.attribution.owner, org_owner("org-18"));

    let err = a.lookup("198.18.0.0/24").unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot look up `198.18.0.0/24`: give one address, not a network; e.g. the network's first address"
    );
    assert!(a.lookup("").is_err());
}

#[test]
fn registry_abuse_is_the_first_abuse_candidate_of_a_lookup() {
    let a = attributor();
    let mut found = 0;
    for q in [
        "198.19.200.1",
        "198.19.130.1",
        "198.18.4.1",
        "203.0.113.9",
        "192.0.2.1",
        "2001:db8:17::1",
        "2001:db8:ffff::1",
    ] {
        let lookup = a.lookup(q).unwrap();
        let expected = lookup.candidates.iter().find_map(|c| match &c.owner {
            Owner::Abuse(contact) if c.rule == Rule::RegistryAbuse => Some(contact),
            _ => None,
        });
        assert_eq!(a.registry_abuse(q.parse().unwrap()), expected, "{q}");
        found += usize::from(expected.is_some());
    }
    // the network's contact, the network's of another holder, and the routing AS's
    assert!(found >= 3, "only {found} addresses had an abuse contact");
}
