use super::*;

#[test]
fn versions_parse_as_integer_or_semantic() {
    assert_eq!(Version::parse("0"), Some(Version::Integer(0)));
    assert_eq!(Version::parse("12"), Some(Version::Integer(12)));
    let v = Version::parse("1.2.3-rc.1+build.7").unwrap();
    assert_eq!(
        (v.major(), v.pre(), v.build()),
        (1, Some("rc.1"), Some("build.7"))
    );
    for bad in [
        "",
        "01",
        "1.2",
        "1.2.3.4",
        "1.02.3",
        "1.2.3-",
        "1.2.3+",
        "v1",
        "1.2.3-a..b",
    ] {
        assert_eq!(Version::parse(bad), None, "{bad}");
    }
}

#[test]
fn semantic_precedence_follows_semver() {
    // semver.org, rule 11
    let order = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.9.0",
        "1.10.0",
        "2.0.0",
    ];
    for w in order.windows(2) {
        let (a, b) = (Version::parse(w[0]).unwrap(), Version::parse(w[1]).unwrap());
        assert_eq!(a.precedence(&b), Ordering::Less, "{} < {}", w[0], w[1]);
    }
    let (a, b) = (
        Version::parse("2.0.0+a").unwrap(),
        Version::parse("2.0.0+b").unwrap(),
    );
    assert_eq!(
        a.precedence(&b),
        Ordering::Equal,
        "build metadata is ignored"
    );
    assert_eq!(
        Version::parse("9")
            .unwrap()
            .precedence(&Version::parse("10").unwrap()),
        Ordering::Less
    );
}
