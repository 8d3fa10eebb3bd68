use super::*;

fn scanner(keywords: &[&str], allowed: &[&str]) -> Scanner {
    let protected = [
        Protected {
            name: "rivm.nl".into(),
            owner: Some("rivm".into()),
        },
        Protected {
            name: "government.example".into(),
            owner: Some("gov".into()),
        },
        Protected {
            name: "ing.test".into(),
            owner: None,
        },
    ];
    let config = Config {
        keywords: keywords.iter().map(|k| k.to_string()).collect(),
        allowed: allowed.iter().map(|k| k.to_string()).collect(),
        ..Config::default()
    };
    Scanner::new(&protected, &config).unwrap()
}

/// Asserts that `name` is flagged as imitating `protected` by (at least) `rules`.
fn check(s: &Scanner, name: &str, protected: &str, rules: &[Rule]) -> Flag {
    let flag = s.scan(name).unwrap_or_else(|| panic!("{name} not flagged"));
    assert_eq!(flag.protected, protected, "{name}");
    for r in rules {
        assert!(
            flag.kinds.contains(r),
            "{name}: {r:?} not in {:?}",
            flag.kinds
        );
    }
    flag
}

#[test]
fn permutations() {
    let s = scanner(&[], &[]);
    check(
        &s,
        "rivn.nl",
        "rivm.nl",
        &[Rule::Permutation(Kind::Replacement)],
    );
    check(
        &s,
        "rivrn.nl",
        "rivm.nl",
        &[Rule::Permutation(Kind::Homoglyph)],
    );
    check(
        &s,
        "ri.vm.nl",
        "rivm.nl",
        &[Rule::Permutation(Kind::Subdomain)],
    );
    check(
        &s,
        "login.irvm.nl",
        "rivm.nl",
        &[Rule::Permutation(Kind::Transposition)],
    );
    check(
        &s,
        "g0vernment.example",
        "government.example",
        &[Rule::Permutation(Kind::Homoglyph)],
    );
    check(
        &s,
        "rivm.com",
        "rivm.nl",
        &[Rule::Permutation(Kind::TldSwap)],
    );
    check(
        &s,
        "rivm.zz",
        "rivm.nl",
        &[Rule::Permutation(Kind::TldSwap)],
    ); // any suffix
}

#[test]
fn homographs_with_mixed_scripts() {
    let s = scanner(&[], &[]);
    // Cyrillic а (U+0430) in a name with Latin letters, as typed and as punycode
    for name in ["gov\u{435}rnment.example", "r\u{456}vm.nl", "riv\u{43c}.nl"] {
        let protected = if name.starts_with("gov") {
            "government.example"
        } else {
            "rivm.nl"
        };
        let flag = check(&s, name, protected, &[Rule::Homograph, Rule::MixedScript]);
        assert!(flag.domain.starts_with("xn--"), "{}", flag.domain);
        assert!(flag.unicode.is_some());
        assert!(flag.score >= 95);
        let puny = idna::domain_to_ascii(name).unwrap();
        assert_eq!(s.scan(&puny).unwrap().kinds, flag.kinds);
    }
    // wholly Cyrillic letters that look Latin: still a homograph of a Latin name
    let flag = check(&s, "\u{456}ng.test", "ing.test", &[Rule::Homograph]);
    assert!(flag.kinds.contains(&Rule::MixedScript));
    // accented Latin letters: a homograph without mixed scripts
    let flag = check(
        &s,
        "gövernmént.example",
        "government.example",
        &[Rule::Homograph],
    );
    assert!(!flag.kinds.contains(&Rule::MixedScript));
    // an IDN look-alike of a permutation
    check(
        &s,
        "r\u{456}vrn.nl",
        "rivm.nl",
        &[Rule::Permutation(Kind::Homoglyph)],
    );
    // an IDN name that looks like nothing protected
    assert_eq!(s.scan("пример.example"), None);
}

#[test]
fn embedded_and_as_subdomain() {
    let s = scanner(&[], &[]);
    check(&s, "rivm-info-corona.example", "rivm.nl", &[Rule::Embedded]);
    check(&s, "rivm.nl.login.example", "rivm.nl", &[Rule::AsSubdomain]);
    check(
        &s,
        "secure.government-portal.test",
        "government.example",
        &[Rule::Embedded],
    );
    check(
        &s,
        "mygovernment.test",
        "government.example",
        &[Rule::Embedded],
    ); // six letters or more: anywhere
    check(&s, "ing-login.example", "ing.test", &[Rule::Embedded]); // three letters: a whole word
    assert_eq!(s.scan("drivmaster.example"), None, "rivm inside a word");
    assert_eq!(s.scan("bringing.example"), None, "ing inside a word");
    assert_eq!(s.scan("example.nl"), None);
}

#[test]
fn edit_distance() {
    let s = scanner(&[], &[]);
    // two edits of a ten-letter label: no generated permutation, but near
    let flag = check(
        &s,
        "guvernmant.example",
        "government.example",
        &[Rule::EditDistance],
    );
    assert_eq!(flag.kinds, [Rule::EditDistance]);
    // one edit of a four-letter label, under another suffix
    check(&s, "rivx.test", "rivm.nl", &[Rule::EditDistance]);
    // two edits of a four-letter label are too many
    assert_eq!(s.scan("rixx.test"), None);
}

#[test]
fn keywords_raise_the_score_but_never_flag_alone() {
    let plain = scanner(&[], &[]);
    let crisis = scanner(&["corona", "vaccin"], &[]);
    let a = plain.scan("rivm-info-corona.example").unwrap();
    let b = crisis.scan("rivm-info-corona.example").unwrap();
    assert!(b.score > a.score);
    assert_eq!(b.keywords, ["corona"]);
    assert!(b.kinds.contains(&Rule::Keyword));
    assert_eq!(crisis.scan("corona-vaccin.example"), None);
    let c = crisis.scan("rivm-corona-vaccin.example").unwrap();
    assert!(c.score > b.score);
    assert!(c.score <= 100);
}

#[test]
fn never_the_protected_names_or_their_owners_domains() {
    let s = scanner(&["corona"], &["rivm.example", "overheid.example"]);
    for name in [
        "rivm.nl",
        "RIVM.NL.",
        "www.rivm.nl",
        "*.corona.rivm.nl",
        "government.example",
        "login.government.example",
        "rivm.example",
        "corona.rivm.example",
        "overheid.example",
        "ing.test",
    ] {
        assert_eq!(s.scan(name), None, "{name}");
    }
    // a permutation of one protected name that is another protected name
    let both = Scanner::new(
        &[
            Protected {
                name: "rivm.nl".into(),
                owner: None,
            },
            Protected {
                name: "rivn.nl".into(),
                owner: None,
            },
        ],
        &Config::default(),
    )
    .unwrap();
    assert_eq!(both.scan("rivn.nl"), None);
    assert_eq!(both.scan("rivm.nl"), None);
}

#[test]
fn every_generated_permutation_is_flagged() {
    let s = scanner(&[], &[]);
    for name in ["rivm.nl", "government.example", "ing.test"] {
        let all = generate::generate(name);
        let missed: Vec<_> = all.iter().filter(|p| s.scan(&p.domain).is_none()).collect();
        assert!(
            missed.is_empty(),
            "{name}: {} of {} missed: {missed:?}",
            missed.len(),
            all.len()
        );
    }
}

#[test]
fn bad_protected_names_are_refused() {
    for bad in ["", "rivm", "-rivm.nl", "ri vm.nl"] {
        let e = Scanner::new(
            &[Protected {
                name: bad.into(),
                owner: None,
            }],
            &Config::default(),
        )
        .unwrap_err();
        assert_eq!(e.name, bad);
    }
}

#[test]
fn output_as_json() {
    let s = scanner(&["corona"], &[]);
    let flag = s.scan("rivm-corona.example").unwrap();
    let json = serde_json::to_value(&flag).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "domain": "rivm-corona.example",
            "protected": "rivm.nl",
            "owner": "rivm",
            "kinds": ["embedded", "keyword"],
            "keywords": ["corona"],
            "score": 80,
        })
    );
}

proptest::proptest! {
    /// Whatever a stream holds, scanning it never panics, and a flag names a protected name.
    #[test]
    fn any_text_is_scanned_without_panic(name in "[a-z0-9.*_ \\-\u{430}-\u{44f}\u{e0}-\u{ff}\u{3b1}-\u{3c9}]{0,40}") {
        let s = scanner(&["corona"], &["rivm.example"]);
        if let Some(flag) = s.scan(&name) {
            proptest::prop_assert!(["rivm.nl", "government.example", "ing.test"].contains(&flag.protected.as_str()));
            proptest::prop_assert!(flag.score <= 100 && !flag.kinds.is_empty());
        }
    }
}
