use std::cmp::Ordering;

use proptest::prelude::*;

use super::*;

fn cmp(scheme: Scheme, a: &str, b: &str) -> Ordering {
    scheme.compare(a, b).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn semver_precedence() {
    use Ordering::*;
    let s = Scheme::Semver;
    // semver.org §11 example chain
    let chain = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "2.0.0",
        "2.1.0",
        "2.1.1",
    ];
    for w in chain.windows(2) {
        assert_eq!(cmp(s, w[0], w[1]), Less, "{} < {}", w[0], w[1]);
    }
    assert_eq!(cmp(s, "1.0.0+build.1", "1.0.0+build.2"), Equal);
    assert_eq!(cmp(s, "v1.4", "1.4.0"), Equal);
    assert_eq!(cmp(s, "1", "1.0.0"), Equal);
    assert!(s.compare("1.0.0.0", "1.0.0").is_err());
    assert!(s.compare("latest", "1.0.0").is_err());
}

#[test]
fn debian_order() {
    use Ordering::*;
    let d = Scheme::Debian;
    assert_eq!(cmp(d, "1.0~rc1-1", "1.0-1"), Less);
    assert_eq!(cmp(d, "1.0-1", "1.0-1+deb12u1"), Less);
    assert_eq!(cmp(d, "1:0.9", "2.0"), Greater);
    assert_eq!(cmp(d, "3.0.11-1~deb12u2", "3.0.11-1"), Less);
    assert_eq!(cmp(d, "1.0", "1.0-0"), Equal);
    assert_eq!(cmp(d, "2.30-1", "2.4-1"), Greater);
    assert!(d.compare("abc", "1.0").is_err());
    assert!(d.compare("1.0 beta", "1.0").is_err());
}

#[test]
fn rpm_order() {
    use Ordering::*;
    let r = Scheme::Rpm;
    // cases from rpm's own rpmvercmp test suite
    for (a, b, o) in [
        ("1.0", "1.0", Equal),
        ("1.0", "2.0", Less),
        ("2.0.1", "2.0.1a", Less),
        ("5.5p1", "5.5p2", Less),
        ("5.5p10", "5.5p1", Greater),
        ("10xyz", "10.1xyz", Less),
        ("xyz10", "xyz10.1", Less),
        ("1.0aa", "1.0a", Greater),
        ("1.0a", "1.0", Greater),
        ("1.0~rc1", "1.0", Less),
        ("1.0~rc1", "1.0~rc2", Less),
        ("1.0~rc1~git123", "1.0~rc1", Less),
        ("1.0^", "1.0", Greater),
        ("1.0^git1", "1.0", Greater),
        ("1.0^git1", "1.01", Less),
        ("1.0^git1~pre", "1.0^git1", Less),
        ("2_0", "2_0", Equal),
        ("2.0", "2_0", Equal),
        ("a", "1", Less),
        ("1.010", "1.10", Equal),
    ] {
        assert_eq!(rpm::rpmvercmp(a, b), o, "{a} vs {b}");
    }
    assert_eq!(cmp(r, "1:1.0-1.el9", "2.0-1.el9"), Greater);
    assert_eq!(cmp(r, "1.0.2k-19.el7", "1.0.2k-21.el7"), Less);
    assert_eq!(cmp(r, "1.0.2k", "1.0.2k-21.el7"), Equal);
    assert!(r.compare("x:1.0", "1.0").is_err());
}

#[test]
fn generic_order_and_its_limits() {
    use Ordering::*;
    let g = Scheme::Generic;
    assert_eq!(cmp(g, "13.0-47.22", "13.0.47.24"), Less);
    assert_eq!(cmp(g, "13.0", "13.0.0"), Equal);
    assert_eq!(cmp(g, "13.0", "13.0.47.24"), Less);
    assert_eq!(cmp(g, "2.10", "2.9"), Greater);
    assert_eq!(cmp(g, "1.0b2", "1.0b10"), Less);
    assert!(g.compare("1.0rc1", "1.0").is_err());
    assert!(g.compare("1.0a", "1.0b").is_err());
    assert!(g.compare("", "1.0").is_err());
    assert!(g.compare("1.0 (build 5)", "1.0").is_err());
}

fn check(v: Verdict, expected: &str) {
    let got = match v {
        Verdict::Affected => "affected",
        Verdict::NotAffected => "not affected",
        Verdict::Unknown(_) => "unknown",
    };
    assert_eq!(got, expected);
}

#[test]
fn ranges_bounds_inclusive_and_exclusive() {
    let s = Scheme::Semver;
    check(
        in_range(s, "1.0.0", Some("1.0.0"), Some("2.0.0"), None),
        "affected",
    );
    check(
        in_range(s, "0.9.9", Some("1.0.0"), Some("2.0.0"), None),
        "not affected",
    );
    check(
        in_range(s, "2.0.0", Some("1.0.0"), Some("2.0.0"), None),
        "not affected",
    );
    check(
        in_range(s, "2.0.0-rc.1", Some("1.0.0"), Some("2.0.0"), None),
        "affected",
    );
    check(
        in_range(s, "2.0.0", Some("1.0.0"), None, Some("2.0.0")),
        "affected",
    );
    check(
        in_range(s, "2.0.1", Some("1.0.0"), None, Some("2.0.0")),
        "not affected",
    );
    check(
        in_range(s, "0.0.1", Some("0"), Some("1.0.0"), None),
        "affected",
    );
    check(in_range(s, "5.0.0", None, None, None), "affected");
    check(in_range(s, "x", None, Some("1.0.0"), None), "unknown");
    // a bound that excludes decides even when another cannot be compared
    check(
        in_range(s, "3.0.0", Some("junk"), Some("2.0.0"), None),
        "not affected",
    );
    check(
        in_range(s, "1.5.0", Some("junk"), Some("2.0.0"), None),
        "unknown",
    );
}

#[test]
fn osv_event_lists() {
    use OsvEvent::*;
    let events = [
        Introduced("0".into()),
        Fixed("1.2.0".into()),
        Introduced("2.0.0".into()),
        LastAffected("2.3.0".into()),
        Introduced("3.0.0".into()),
    ];
    for (v, expected) in [
        ("1.1.9", "affected"),
        ("1.2.0", "not affected"),
        ("1.9.0", "not affected"),
        ("2.3.0", "affected"),
        ("2.3.1", "not affected"),
        ("9.0.0", "affected"),
        ("nope", "unknown"),
    ] {
        check(osv_events(Scheme::Semver, v, &events), expected);
    }
}

#[test]
fn cve5_entries() {
    check(
        cve5_range(Some("semver"), "1.0", Some("1.4"), None, "1.3.9"),
        "affected",
    );
    check(
        cve5_range(Some("semver"), "1.0", Some("1.4"), None, "1.4.0"),
        "not affected",
    );
    check(
        cve5_range(Some("semver"), "1.0", None, Some("1.4"), "1.4.0"),
        "affected",
    );
    check(
        cve5_range(None, "13.0", Some("13.0.47.24"), None, "13.0.47.22"),
        "affected",
    );
    check(
        cve5_range(Some("custom"), "unspecified", Some("5"), None, "4.2"),
        "affected",
    );
    check(
        cve5_range(
            Some("rpm"),
            "0",
            Some("1.0.2k-21.el7"),
            None,
            "1.0.2k-19.el7",
        ),
        "affected",
    );
    check(
        cve5_range(Some("git"), "abc123", Some("def456"), None, "abc999"),
        "unknown",
    );
    check(
        cve5_range(Some("semver"), "2.4.1", None, None, "2.4.1"),
        "affected",
    );
    check(
        cve5_range(Some("semver"), "2.4.1", None, None, "2.4.2"),
        "not affected",
    );
}

#[test]
fn vers_specifiers() {
    for (vers, v, expected) in [
        ("vers:semver/>=1.0.0|<2.0.0", "1.5.0", "affected"),
        ("vers:semver/>=1.0.0|<2.0.0", "2.0.0", "not affected"),
        ("vers:npm/<1.0.0|>=2.0.0|<3.0.0", "0.5.0", "affected"),
        ("vers:npm/<1.0.0|>=2.0.0|<3.0.0", "1.5.0", "not affected"),
        ("vers:npm/<1.0.0|>=2.0.0|<3.0.0", "2.5.0", "affected"),
        ("vers:npm/<1.0.0|>=2.0.0", "7.0.0", "affected"),
        ("vers:semver/*", "7.0.0", "affected"),
        ("vers:semver/!=1.2.3", "1.2.3", "not affected"),
        ("vers:semver/!=1.2.3", "1.2.4", "affected"),
        (
            "vers:semver/>=1.0.0|!=1.2.3|<2.0.0",
            "1.2.3",
            "not affected",
        ),
        ("vers:semver/1.2.3|1.2.5", "1.2.5", "affected"),
        ("vers:semver/1.2.3|1.2.5", "1.2.4", "not affected"),
        ("vers:deb/>=1:1.0-1|<1:1.2~rc1", "1:1.1-3", "affected"),
        ("vers:deb/>=1:1.0-1|<1:1.2~rc1", "1:1.2", "not affected"),
        ("vers:rpm/<1.0.2k-21.el7", "1.0.2k-19.el7", "affected"),
        ("vers:generic/>=13.0|<13.0.47.24", "13.0-47.22", "affected"),
        (
            "vers:generic/>=13.0|<13.0.47.24",
            "13.0 build 47",
            "unknown",
        ),
        ("vers:pypi/<2.0", "1.9", "affected"),
        ("vers:mystery/<2.0", "1.9", "unknown"),
        ("vers:semver/<2.0.0", "two", "unknown"),
        (
            "vers:semver/>=1.0.0|<1.0.0%2Bbuild",
            "1.0.0",
            "not affected",
        ),
    ] {
        let parsed: Vers = vers.parse().unwrap();
        let got = parsed.contains(v);
        let label = match got {
            Verdict::Affected => "affected",
            Verdict::NotAffected => "not affected",
            Verdict::Unknown(_) => "unknown",
        };
        assert_eq!(label, expected, "{vers} contains {v}? {got:?}");
    }
    for bad in [
        "semver/<1",
        "vers:/<1",
        "vers:semver/",
        "vers:semver/>=",
        "vers:semver/*|<1",
    ] {
        assert!(bad.parse::<Vers>().is_err(), "{bad}");
    }
    assert_eq!(
        "vers:semver/ >= 1.0.0 | < 2.0.0"
            .parse::<Vers>()
            .unwrap()
            .to_string(),
        "vers:semver/>=1.0.0|<2.0.0"
    );
}

#[test]
fn specs_from_advisories() {
    let range = |scheme: &str, i: &str, f: &str| VersionSpec::Range {
        scheme: Some(scheme.into()),
        introduced: Some(i.into()),
        fixed: Some(f.into()),
        last_affected: None,
    };
    check(
        spec_verdict(
            &range("ECOSYSTEM", "0", "1.1.1n-0+deb11u4"),
            Some("Debian:11"),
            None,
            "1.1.1n-0+deb11u3",
        ),
        "affected",
    );
    check(
        spec_verdict(
            &range("ECOSYSTEM", "0", "2.0"),
            Some("Nowhere"),
            None,
            "1.0",
        ),
        "unknown",
    );
    check(
        spec_verdict(&range("GIT", "abc", "def"), None, None, "abc"),
        "unknown",
    );
    check(
        spec_verdict(
            &VersionSpec::Text {
                text: "<=1.14.0".into(),
            },
            None,
            None,
            "1.0",
        ),
        "unknown",
    );
    check(
        spec_verdict(
            &VersionSpec::Exact {
                version: "13.0".into(),
            },
            None,
            None,
            "13.0.0",
        ),
        "affected",
    );
    check(
        spec_verdict(
            &VersionSpec::Vers {
                vers: "vers:semver/<2".into(),
            },
            None,
            None,
            "1.0.0",
        ),
        "affected",
    );
    check(
        spec_verdict(
            &VersionSpec::Vers {
                vers: "nonsense".into(),
            },
            None,
            None,
            "1.0.0",
        ),
        "unknown",
    );
}

fn semver_triple() -> impl Strategy<Value = (u64, u64, u64)> {
    (0u64..20, 0u64..20, 0u64..20)
}

fn fmt3((a, b, c): (u64, u64, u64)) -> String {
    format!("{a}.{b}.{c}")
}

fn any_scheme() -> impl Strategy<Value = Scheme> {
    prop_oneof![
        Just(Scheme::Semver),
        Just(Scheme::Debian),
        Just(Scheme::Rpm),
        Just(Scheme::Generic)
    ]
}

proptest! {
    /// Plain dotted triples order the same in every scheme, as tuples.
    #[test]
    fn schemes_agree_on_plain_triples(s in any_scheme(), a in semver_triple(), b in semver_triple()) {
        prop_assert_eq!(s.compare(&fmt3(a), &fmt3(b)).unwrap(), a.cmp(&b));
    }

    /// A version strictly between introduced and fixed is affected; introduced is affected;
    /// fixed is not; below introduced is not.
    #[test]
    fn interval_consistency(s in any_scheme(), mut v in proptest::collection::vec(semver_triple(), 3)) {
        v.sort();
        v.dedup();
        prop_assume!(v.len() == 3);
        let (lo, mid, hi) = (fmt3(v[0]), fmt3(v[1]), fmt3(v[2]));
        prop_assert_eq!(in_range(s, &mid, Some(&lo), Some(&hi), None), Verdict::Affected);
        prop_assert_eq!(in_range(s, &lo, Some(&lo), Some(&hi), None), Verdict::Affected);
        prop_assert_eq!(in_range(s, &hi, Some(&lo), Some(&hi), None), Verdict::NotAffected);
        prop_assert_eq!(in_range(s, &hi, Some(&lo), None, Some(&hi)), Verdict::Affected);
        prop_assert_eq!(in_range(s, &lo, Some(&mid), Some(&hi), None), Verdict::NotAffected);
        prop_assert_eq!(in_range(s, &hi, Some(&lo), None, Some(&mid)), Verdict::NotAffected);
        let vers: Vers = format!("vers:{}/>={lo}|<{hi}", s.name()).parse().unwrap();
        prop_assert_eq!(vers.contains(&mid), Verdict::Affected);
        prop_assert_eq!(vers.contains(&hi), Verdict::NotAffected);
        let vers: Vers = format!("vers:{}/>{lo}|<={hi}", s.name()).parse().unwrap();
        prop_assert_eq!(vers.contains(&lo), Verdict::NotAffected);
        prop_assert_eq!(vers.contains(&hi), Verdict::Affected);
    }

    /// semver pre-releases of the fixed version are still affected.
    #[test]
    fn prerelease_of_fixed_is_affected(f in semver_triple(), pre in "[a-z]{1,5}(\\.[1-9][0-9]?)?") {
        prop_assume!(f != (0, 0, 0));
        let fixed = fmt3(f);
        prop_assert_eq!(
            in_range(Scheme::Semver, &format!("{fixed}-{pre}"), None, Some(&fixed), None),
            Verdict::Affected
        );
    }

    /// Comparison is antisymmetric and reflexive wherever it answers.
    #[test]
    fn comparison_is_antisymmetric(s in any_scheme(), a in "[0-9a-z.~+-]{1,8}", b in "[0-9a-z.~+-]{1,8}") {
        if let (Ok(x), Ok(y)) = (s.compare(&a, &b), s.compare(&b, &a)) {
            prop_assert_eq!(x, y.reverse());
        }
        if s.validate(&a).is_ok() {
            prop_assert_eq!(s.compare(&a, &a).unwrap(), Ordering::Equal);
        }
    }

    /// Versions that cannot be read, and schemes baken does not know, are unknown — never a
    /// yes or no.
    #[test]
    fn unknown_never_guesses(
        junk in "[!#@][!#@ a-z]{0,4}",
        scheme in "[a-z]{3,10}",
        f in semver_triple(),
    ) {
        let fixed = fmt3(f);
        for s in [Scheme::Semver, Scheme::Debian, Scheme::Rpm, Scheme::Generic] {
            prop_assert!(in_range(s, &junk, None, Some(&fixed), None).is_unknown());
        }
        prop_assume!(Scheme::from_name(&scheme).is_none());
        let vers: Vers = format!("vers:{scheme}/<{fixed}").parse().unwrap();
        prop_assert!(vers.contains("0.0.1").is_unknown());
        prop_assert!(cve5_range(Some(&scheme), "0", Some(&fixed), None, "0.0.1").is_unknown());
    }

    /// Debian `~` sorts before the version it prefixes, RPM's too.
    #[test]
    fn tilde_sorts_first(v in semver_triple(), suffix in "[a-z]{1,4}[0-9]?") {
        let base = fmt3(v);
        let pre = format!("{base}~{suffix}");
        prop_assert_eq!(Scheme::Debian.compare(&pre, &base).unwrap(), Ordering::Less);
        prop_assert_eq!(Scheme::Rpm.compare(&pre, &base).unwrap(), Ordering::Less);
    }
}
