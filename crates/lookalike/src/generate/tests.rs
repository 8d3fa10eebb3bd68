use super::*;

/// Asserts that `generate(name)` lists each of `expected` under `kind`, and `absent` not at all.
fn check(name: &str, kind: Kind, expected: &[&str], absent: &[&str]) {
    let all = generate(name);
    for e in expected {
        assert!(
            all.iter().any(|p| p.domain == *e && p.kind == kind),
            "{name}: {e} not listed as {kind}; listed as {:?}",
            all.iter().find(|p| p.domain == *e).map(|p| p.kind)
        );
    }
    for a in absent {
        assert!(!all.iter().any(|p| p.domain == *a), "{name}: {a} listed");
    }
}

#[test]
fn addition() {
    check("rivm.nl", Kind::Addition, &["rivma.nl", "rivm0.nl"], &[]);
    check(
        "my-bank.example",
        Kind::Addition,
        &["myx-bank.example", "my-bankx.example"],
        &[],
    );
}

#[test]
fn bitsquatting() {
    // r (0x72) ^ 0x01 = s; i (0x69) ^ 0x01 = h; m (0x6d) ^ 0x20 = M, not kept
    check("rivm.nl", Kind::Bitsquatting, &["sivm.nl", "rhvm.nl"], &[]);
}

#[test]
fn homoglyph() {
    check(
        "rivm.nl",
        Kind::Homoglyph,
        &[
            "rlvm.nl",  // l for i
            "r1vm.nl",  // 1 for i
            "rivrn.nl", // rn for m
            "r1vrn.nl", // two rounds
            "rivn.nl",  // n for m (also a keyboard replacement)
        ],
        &[],
    );
    let cyrillic_i = idna::domain_to_ascii("r\u{456}vm.nl").unwrap();
    check("rivm.nl", Kind::Homoglyph, &[&cyrillic_i], &[]);
    // the Cyrillic а in a domain of the .example suffix
    let cyrillic_a = idna::domain_to_ascii("gоvernment.example").unwrap();
    check("government.example", Kind::Homoglyph, &[&cyrillic_a], &[]);
}

#[test]
fn hyphenation() {
    check(
        "rivm.nl",
        Kind::Hyphenation,
        &["r-ivm.nl", "riv-m.nl"],
        &["-rivm.nl", "rivm-.nl"],
    );
}

#[test]
fn insertion() {
    // u and b are next to v (QWERTY); z next to u on QWERTZ, next to a on QWERTY
    check(
        "rivm.nl",
        Kind::Insertion,
        &["riuvm.nl", "rivbm.nl", "rtivm.nl"],
        &[],
    );
}

#[test]
fn omission() {
    check(
        "rivm.nl",
        Kind::Omission,
        &["ivm.nl", "rvm.nl", "rim.nl", "riv.nl"],
        &[],
    );
}

#[test]
fn plural() {
    check(
        "government.example",
        Kind::Plural,
        &["govesrnment.example", "governmesnt.example"],
        &[],
    );
}

#[test]
fn repetition() {
    check(
        "rivm.nl",
        Kind::Repetition,
        &["rrivm.nl", "rivvm.nl", "rivmm.nl"],
        &[],
    );
}

#[test]
fn replacement() {
    // on AZERTY, m sits next to l and p
    check(
        "rivm.nl",
        Kind::Replacement,
        &["eivm.nl", "rovm.nl", "rivj.nl", "rivl.nl"],
        &[],
    );
}

#[test]
fn subdomain() {
    check("rivm.nl", Kind::Subdomain, &["r.ivm.nl", "ri.vm.nl"], &[]);
    check(
        "my-bank.example",
        Kind::Subdomain,
        &["m.y-bank.example"],
        &["my.-bank.example"],
    );
}

#[test]
fn transposition() {
    check(
        "rivm.nl",
        Kind::Transposition,
        &["irvm.nl", "rvim.nl", "rimv.nl"],
        &[],
    );
}

#[test]
fn vowel_swap() {
    check(
        "rivm.nl",
        Kind::VowelSwap,
        &["ravm.nl", "rovm.nl", "ruvm.nl"],
        &[],
    );
}

#[test]
fn dictionary() {
    check(
        "rivm.nl",
        Kind::Dictionary,
        &[
            "rivm-login.nl",
            "rivmlogin.nl",
            "login-rivm.nl",
            "loginrivm.nl",
        ],
        &[],
    );
    check(
        "my-bank.example",
        Kind::Dictionary,
        &["my-login.example", "login-bank.example"],
        &[],
    );
    let words = Options {
        dictionary: vec!["mondkapje".into()],
        ..Options::default()
    };
    assert!(
        generate_with("rivm.nl", &words)
            .iter()
            .any(|p| p.domain == "rivm-mondkapje.nl" && p.kind == Kind::Dictionary)
    );
}

#[test]
fn tld_swap() {
    check(
        "rivm.nl",
        Kind::TldSwap,
        &["rivm.com", "rivm.eu", "rivm.xyz"],
        &["rivm.nl"],
    );
    let own = Options {
        tlds: vec!["test".into()],
        ..Options::default()
    };
    let all = generate_with("rivm.nl", &own);
    let swaps: Vec<_> = all.iter().filter(|p| p.kind == Kind::TldSwap).collect();
    assert_eq!(swaps.len(), 1);
    assert_eq!(swaps[0].domain, "rivm.test");
}

#[test]
fn various() {
    check(
        "rivm.nl",
        Kind::Various,
        &["rivmnl.nl", "rivm-nl.com", "rivmnl.com"],
        &[],
    );
    check(
        "www.example.co.uk",
        Kind::Various,
        &[
            "www.example.uk",
            "www.exampleco.uk",
            "wwwexample.co.uk",
            "www-example.co.uk",
        ],
        &[],
    );
}

#[test]
fn never_the_name_itself_nor_invalid_names() {
    let all = generate("rivm.nl");
    assert!(all.iter().all(|p| p.domain != "rivm.nl"));
    assert!(
        all.iter().all(|p| domain::is_host_name(&p.domain)),
        "only host names"
    );
    let mut pairs: Vec<_> = all.iter().map(|p| (p.kind, &p.domain)).collect();
    pairs.sort();
    let n = pairs.len();
    pairs.dedup();
    assert_eq!(pairs.len(), n, "each name once a kind");
    assert!(generate("not a name").is_empty());
    assert!(generate("").is_empty());
}

#[test]
fn idn_names_are_generated_from_their_unicode_form() {
    // a protected IDN name: permutations are made of its letters, not its punycode
    let all = generate("bücher.example");
    assert!(
        all.iter().any(|p| p.domain == "xn--bcherr-3ya.example"),
        "repetition of r"
    );
    assert!(
        all.iter().any(|p| p.domain == "xn--bchr-0ra.example"),
        "omission of e"
    );
}

#[test]
fn kind_names_round_trip() {
    for k in Kind::ALL {
        assert_eq!(Kind::from_name(k.name()), Some(k));
    }
    assert_eq!(Kind::from_name("vowel-swap"), Some(Kind::VowelSwap));
}
