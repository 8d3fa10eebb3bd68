//! Registry, routing table and RPSL files: the fixtures under `tests/data/`, and the error
//! messages for bad input (file, line, field).

use std::path::{Path, PathBuf};

use baken_attribute::Attributor;
use baken_attribute::registry::{RegistryError, RegistryReader, load_registry};
use baken_attribute::routing::{RoutingFormat, load_routing};
use baken_attribute::rpsl::load_rpsl;
use baken_model::{AbuseScope, ContactRole, Language, OrgKind, Owner, Rule};

fn data(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(path)
}

/// Writes `text` to a file named `name` in a fresh directory and loads it.
fn load_text(name: &str, text: &str) -> (tempfile::TempDir, Result<usize, RegistryError>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    let result = load_registry(&path).map(|orgs| orgs.len());
    (dir, result)
}

/// The error message with the temporary directory replaced by `DIR`.
fn error_of(name: &str, text: &str) -> String {
    let (dir, result) = load_text(name, text);
    let message = result.unwrap_err().to_string();
    message.replace(&dir.path().display().to_string(), "DIR")
}

#[test]
fn the_four_registry_formats_agree() {
    let toml = load_registry(&data("registry/registry.toml")).unwrap();
    assert_eq!(toml.len(), 3);
    let zorg = &toml[0];
    assert_eq!(zorg.id.0, "org-17");
    assert!(zorg.vital && zorg.wbni.report && zorg.wbni.care);
    assert_eq!(zorg.domains, ["zorg.example"], "domains are normalised");
    assert_eq!(zorg.contacts[1].role, ContactRole::Abuse);
    assert_eq!(toml[2].kind, OrgKind::Cert);
    assert_eq!(
        zorg.contacts[0].language, None,
        "no language: the policy's default"
    );
    assert_eq!(toml[1].contacts[0].language, Some(Language::Nl));
    for other in [
        "registry/registry.json",
        "registry/registry.jsonl",
        "registry/registry.csv",
    ] {
        assert_eq!(load_registry(&data(other)).unwrap(), toml, "{other}");
    }
}

#[test]
fn streaming_reader_yields_one_at_a_time() {
    let ids: Vec<String> = RegistryReader::open(&data("registry/registry.csv"))
        .unwrap()
        .map(|o| o.unwrap().id.0)
        .collect();
    assert_eq!(ids, ["org-17", "org-18", "z-cert"]);
}

#[test]
fn csv_errors_name_line_and_field() {
    let header = "id,name,networks,asns,contacts,vital\n";
    let cases = [
        (
            "a,A,198.18.4.7/24,,,\n",
            "DIR/r.csv:2: organisation a: field `networks`: network 198.18.4.7/24 has host bits set; write 198.18.4.0/24 for the network, or 198.18.4.7/32 for the single address",
        ),
        (
            "a,A,198.18.4.7,,,\n",
            "DIR/r.csv:2: organisation a: field `networks`: `198.18.4.7` is an address, not a network; write 198.18.4.7/32 for the single address",
        ),
        (
            "a,A,,AS6449x,,\n",
            "DIR/r.csv:2: organisation a: field `asns`: `AS6449x` is not an AS number; write 64496 or AS64496",
        ),
        (
            "a,A,,,boss:x@a.example,\n",
            "DIR/r.csv:2: organisation a: field `contacts`: unknown contact role `boss` in `boss:x@a.example`; write role:email with role security, abuse or general",
        ),
        (
            "a,A,,,security:nobody,\n",
            "DIR/r.csv:2: organisation a: field `contacts`: `nobody` is not an e-mail address; write it as name@domain",
        ),
        (
            "a,A,,,,maybe\n",
            "DIR/r.csv:2: organisation a: field `vital`: `maybe` is not a yes/no value; write true/false, yes/no or 1/0",
        ),
        (
            "a,A,,,,\nb,B,,,,\na,A2,,,,\n",
            "DIR/r.csv:4: organisation a: field `id`: the id is used by an earlier organisation; ids must be unique, merge the two entries or rename one",
        ),
        (
            "a,A,,,\n",
            "DIR/r.csv:2: malformed CSV row: CSV error: record 1 (line: 2, byte: 37): found record with 5 fields, but the previous record has 6 fields",
        ),
    ];
    for (rows, expected) in cases {
        assert_eq!(
            error_of("r.csv", &format!("{header}{rows}")),
            expected,
            "{rows}"
        );
    }
    assert_eq!(
        error_of("r.csv", "id,name,colour\n"),
        "DIR/r.csv:1: unknown column `colour` in the header; the columns are id,name,kind,sector,vital,wbni_report,wbni_care,supervisor,cert,networks,asns,domains,contacts,language"
    );
    assert_eq!(
        error_of("r.csv", "id,networks\n"),
        "DIR/r.csv:1: the header has no `name` column; the first line must name the columns, e.g. id,name,kind,sector,vital,wbni_report,wbni_care,supervisor,cert,networks,asns,domains,contacts,language"
    );
}

#[test]
fn every_invalid_entry_is_listed() {
    let (dir, result) = load_text(
        "r.csv",
        "id,name,domains\na,A,*.a.example\nb,B,ok.example\nc,,\n",
    );
    let Err(RegistryError::Invalid { errors, .. }) = result else {
        panic!("expected invalid entries");
    };
    let lines: Vec<(Option<usize>, Option<&str>)> = errors
        .iter()
        .map(|e| (e.line, e.field.as_deref()))
        .collect();
    assert_eq!(lines, [(Some(2), Some("domains")), (Some(4), Some("name"))]);
    assert_eq!(
        errors[0].message,
        "`*.a.example`: write the domain without `*.`; `a.example` already covers every name under it"
    );
    drop(dir);
}

#[test]
fn toml_errors_name_the_line() {
    let text = "[[organisation]]\nid = \"a\"\nname = \"A\"\n\n[[organisation]]\nid = \"b\"\nname = \"B\"\ncontacts = [{ email = \"b.example\" }]\n";
    assert_eq!(
        error_of("r.toml", text),
        "DIR/r.toml:5: organisation b: field `contacts`: `b.example` is not an e-mail address; write it as name@domain"
    );
    let message = error_of(
        "r.toml",
        "[[organisation]]\nid = \"a\"\nname = \"A\"\ncolour = \"red\"\n",
    );
    assert!(
        message.starts_with("DIR/r.toml:4: unknown field `colour`"),
        "{message}"
    );
    let message = error_of("r.toml", "[[organisations]]\nid = \"a\"\n");
    assert!(
        message.starts_with("DIR/r.toml:1: unknown field `organisations`"),
        "{message}"
    );
}

#[test]
fn json_and_jsonl_errors() {
    let message = error_of(
        "r.json",
        "[\n{\"id\": \"a\", \"name\": \"A\"},\n{\"id\": \"b\", \"name\": \"B\", \"asns\": [\"x\"]}\n]",
    );
    assert!(
        message.starts_with("DIR/r.json:3: invalid type: string \"x\", expected u32"),
        "{message}"
    );
    assert_eq!(
        error_of(
            "r.json",
            "[{\"id\": \"a\", \"name\": \"A\", \"networks\": [\"198.18.4.7/24\"]}]"
        ),
        "DIR/r.json: organisation a: field `networks`: network 198.18.4.7/24 has host bits set; write 198.18.4.0/24 for the network, or 198.18.4.7/32 for the single address"
    );
    let message = error_of(
        "r.jsonl",
        "{\"id\": \"a\", \"name\": \"A\"}\n\n{\"id\": \"b\", \"name\": \"B\", \"vital\": \"yes\"}\n",
    );
    assert!(
        message.starts_with(
            "DIR/r.jsonl:3: organisation b: invalid type: string \"yes\", expected a boolean"
        ),
        "{message}"
    );
    assert_eq!(
        error_of("r.yaml", ""),
        "DIR/r.yaml: unknown registry format `.yaml`; name the file .toml, .json, .jsonl or .csv"
    );
}

/// A JSON registry is read element by element: both of its forms give the organisations,
/// and whatever breaks the document — a key beside `organisations`, text after its end, an
/// empty file, a value that is not an array — is reported with its line, as a syntax error was
/// when the document was read whole.
#[test]
fn a_json_registry_is_streamed_in_both_forms_and_its_syntax_errors_have_lines() {
    let two = "{\"id\": \"a\", \"name\": \"A\"},\n{\"id\": \"b\", \"name\": \"B\"}";
    let (_dir, array) = load_text("r.json", &format!("[\n{two}\n]\n"));
    assert_eq!(array.unwrap(), 2);
    let (_dir, wrapped) = load_text("r.json", &format!("{{\"organisations\": [\n{two}\n]}}"));
    assert_eq!(wrapped.unwrap(), 2);
    for (text, expected) in [
        (
            format!("{{\"organisations\": [\n{two}\n],\n\"extra\": 1}}"),
            "DIR/r.json:5: unknown field `extra`, expected `organisations`",
        ),
        (
            "{\"orgs\": []}".to_string(),
            "DIR/r.json:1: unknown field `orgs`, expected `organisations`",
        ),
        (
            "{}".to_string(),
            "DIR/r.json:1: missing field `organisations`",
        ),
        (
            format!("[\n{two}\n]\n]"),
            "DIR/r.json:5: trailing characters",
        ),
        (
            format!("[\n{two}\n"),
            "DIR/r.json:4: EOF while parsing a list",
        ),
        (String::new(), "DIR/r.json:1: EOF while parsing a value"),
        (
            "\"a\"".to_string(),
            "DIR/r.json:1: invalid type: string \"a\", expected an array of organisations",
        ),
    ] {
        let message = error_of("r.json", &text);
        assert!(message.starts_with(expected), "{text:?}: {message}");
        assert!(
            message.contains("a JSON registry is an array of organisations"),
            "{message}"
        );
    }
}

/// Whether this process has `path` open.
fn has_open(path: &Path) -> bool {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .any(|target| target == path)
}

/// A JSON registry is parsed on a thread of its own. A reader dropped before the end stops
/// that thread and waits for it: nothing reads on, the file is closed, and no thread
/// outlives the reader (a fuzzer's leak check found one still exiting). Here the thread is
/// parsing a long second organisation when the reader is dropped after the first.
#[cfg(target_os = "linux")]
#[test]
fn a_json_reader_dropped_early_leaves_no_thread_behind() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.json");
    let long = "x".repeat(8 << 20);
    std::fs::write(
        &path,
        format!(
            "[\n{{\"id\": \"org-0\", \"name\": \"Org 0\"}},\n{{\"id\": \"org-1\", \"name\": \"{long}\"}}\n]\n"
        ),
    )
    .unwrap();
    let path = path.canonicalize().unwrap();
    for _ in 0..3 {
        let mut reader = RegistryReader::open(&path).unwrap();
        assert_eq!(reader.next().unwrap().unwrap().id.0, "org-0");
        drop(reader);
        assert!(!has_open(&path), "the parsing thread still reads the file");
    }
}

#[test]
fn a_contact_language_other_than_en_or_nl_is_refused_with_file_line_and_field() {
    // CSV: the row's `language` cell, empty meaning the policy's default
    let csv = "id,name,contacts,language\na,A,soc@a.example,nl\nb,B,soc@b.example,\nc,C,soc@c.example,de\n";
    assert_eq!(
        error_of("r.csv", csv),
        "DIR/r.csv:4: organisation c: field `language`: unknown message language `de`; write en (English) or nl (Dutch), or leave the cell empty for the policy's default"
    );
    // TOML, JSON and JSON lines: a contact's `language`, where an empty one is refused too
    for (name, text, line) in [
        (
            "r.toml",
            "[[organisation]]\nid = \"a\"\nname = \"A\"\ncontacts = [\n  { email = \"soc@a.example\", language = \"fr\" },\n]\n",
            5,
        ),
        (
            "r.toml",
            "[[organisation]]\nid = \"a\"\nname = \"A\"\ncontacts = [{ email = \"soc@a.example\", language = \"\" }]\n",
            4,
        ),
        (
            "r.json",
            "[\n{\"id\": \"a\", \"name\": \"A\",\n \"contacts\": [{\"email\": \"soc@a.example\", \"language\": \"fr\"}]}\n]",
            3,
        ),
        (
            "r.jsonl",
            "{\"id\": \"a\", \"name\": \"A\"}\n{\"id\": \"b\", \"name\": \"B\", \"contacts\": [{\"email\": \"soc@b.example\", \"language\": \"\"}]}\n",
            2,
        ),
    ] {
        let message = error_of(name, text);
        assert!(
            message.starts_with(&format!("DIR/{name}:{line}: ")),
            "{name}: {message}"
        );
        assert!(
            message.contains("unknown message language")
                && message.contains("in field `language`")
                && message.contains("write \"en\" (English) or \"nl\" (Dutch)"),
            "{name}: {message}"
        );
    }
}

/// Every invalid entry of a registry file as (line, organisation, field, message).
fn invalid_entries(name: &str, text: &str) -> Vec<(Option<usize>, String, String, String)> {
    let (dir, result) = load_text(name, text);
    let Err(RegistryError::Invalid { errors, .. }) = result else {
        panic!("{name}: expected invalid entries, got {result:?}");
    };
    drop(dir);
    errors
        .into_iter()
        .map(|e| {
            (
                e.line,
                e.id.unwrap_or_default(),
                e.field.unwrap_or_default(),
                e.message,
            )
        })
        .collect()
}

/// Regression: a name, sector or contact address with a line break or another control
/// character was imported, and every message for that organisation then failed at sending
/// time, unnoticed.
#[test]
fn control_characters_in_text_are_refused_in_every_format() {
    assert_eq!(
        error_of(
            "r.csv",
            "id,name,sector\na,\"Zorg\r\nBcc: x@evil.example\",health\n"
        ),
        "DIR/r.csv:2: organisation a: field `name`: \"Zorg\\r\\nBcc: x@evil.example\" holds the \
         control character U+000D (carriage return) at character 5; remove it: it would break \
         the mail headers of every message for this organisation"
    );
    let csv = "id,name,sector,supervisor,cert,domains,contacts\n\
               a,A,\"heal\u{85}th\",,,,\n\
               b,B,,\"ig\u{2028}j\",,,\n\
               c,C,,,z\tcert,,\n\
               d,D,,,,d\u{7}.example,\n\
               e,E,,,,,security:soc@e.example\u{0}\n\
               f,\"F\u{2029}G\",,,,,\n\
               g,\"G\nH\",,,,,\n\
               h,H\u{7f}I,,,,,\n\
               i,Ine\u{301}s,,,,,security:soc@i.example\n";
    let found: Vec<(Option<usize>, String, String)> = invalid_entries("r.csv", csv)
        .into_iter()
        .map(|(line, id, field, _)| (line, id, field))
        .collect();
    let expected = [
        (2, "a", "sector"),
        (3, "b", "supervisor"),
        (4, "c", "cert"),
        (5, "d", "domains"),
        (6, "e", "contacts"),
        (7, "f", "name"),
        (8, "g", "name"),
        (10, "h", "name"),
    ];
    let expected: Vec<(Option<usize>, String, String)> = expected
        .iter()
        .map(|(l, i, f)| (Some(*l), i.to_string(), f.to_string()))
        .collect();
    assert_eq!(
        found, expected,
        "the combining accent of `i` is text, not a control"
    );

    let toml = "[[organisation]]\nid = \"a\"\nname = \"A\"\n\n\
                [[organisation]]\nid = \"b\"\nname = \"Zorg\\u2028BV\"\n";
    let found = invalid_entries("r.toml", toml);
    assert_eq!(found.len(), 1);
    assert_eq!(
        (found[0].0, found[0].1.as_str(), found[0].2.as_str()),
        (Some(5), "b", "name")
    );
    assert!(
        found[0]
            .3
            .contains("U+2028 (line separator) at character 5"),
        "{}",
        found[0].3
    );

    assert_eq!(
        error_of(
            "r.json",
            "[{\"id\": \"a\", \"name\": \"A\"}, {\"id\": \"b\", \"name\": \"B\", \"sector\": \"energy\\n\"}]"
        ),
        "DIR/r.json: organisation b: field `sector`: \"energy\\n\" holds the control character \
         U+000A (line feed) at character 7; remove it: it would break the mail headers of every \
         message for this organisation"
    );

    let jsonl = "{\"id\": \"a\", \"name\": \"A\"}\n\
                 {\"id\": \"b\", \"name\": \"B\", \"contacts\": [{\"email\": \"soc@b.example\\r\\nBcc: x@evil.example\"}]}\n\
                 {\"id\": \"c\\u0007\", \"name\": \"C\"}\n";
    let found = invalid_entries("r.jsonl", jsonl);
    let where_: Vec<(Option<usize>, &str, &str)> = found
        .iter()
        .map(|(l, i, f, _)| (*l, i.as_str(), f.as_str()))
        .collect();
    assert_eq!(
        where_,
        [(Some(2), "b", "contacts"), (Some(3), "c\u{7}", "id")]
    );
    let message = error_of("r.jsonl", jsonl);
    assert!(
        message.starts_with("DIR/r.jsonl:2: organisation b: field `contacts`: "),
        "{message}"
    );
    // the id with a control character is shown escaped, never raw
    let (dir, result) = load_text("r.jsonl", jsonl);
    let Err(RegistryError::Invalid { errors, .. }) = result else {
        panic!("invalid entries expected");
    };
    let shown = errors[1]
        .to_string()
        .replace(&dir.path().display().to_string(), "DIR");
    assert!(
        shown.starts_with("DIR/r.jsonl:3: organisation \"c\\u{7}\": field `id`: "),
        "{shown}"
    );
}

#[test]
fn routing_tables_in_three_formats() {
    let t = load_routing(&data("routing/pfx2as.txt")).unwrap();
    assert_eq!(t.format, Some(RoutingFormat::Pfx2as));
    let got: Vec<String> = t
        .prefixes
        .iter()
        .map(|p| format!("{} {}", p.net, p.asn))
        .collect();
    assert_eq!(
        got,
        [
            "198.18.0.0/15 64496",
            "198.18.4.0/24 64497",
            "198.19.0.0/16 64499",
            "2001:db8::/32 64496"
        ]
    );
    assert_eq!(t.errors.len(), 1);
    assert_eq!(t.errors[0].line, 5);
    assert!(
        t.errors[0]
            .to_string()
            .ends_with("pfx2as.txt:5: `not-an-as` is not an AS number")
    );

    let t = load_routing(&data("routing/iptoasn.tsv")).unwrap();
    assert_eq!(t.format, Some(RoutingFormat::IpToAsn));
    let got: Vec<String> = t
        .prefixes
        .iter()
        .map(|p| format!("{} {}", p.net, p.asn))
        .collect();
    assert_eq!(
        got,
        [
            "198.18.0.0/23 64496",
            "198.18.2.0/24 64496",
            "198.18.4.0/24 64500",
            "2001:db8::/32 64496"
        ]
    );
    let errors: Vec<String> = t
        .errors
        .iter()
        .map(|e| format!("{}: {}", e.line, e.message))
        .collect();
    assert_eq!(
        errors,
        ["4: expected 5 tab-separated fields (start, end, asn, country, description), found 1"]
    );

    let t = load_routing(&data("routing/prefixes.tsv")).unwrap();
    assert_eq!(t.format, Some(RoutingFormat::Simple));
    assert_eq!(t.prefixes.len(), 3);
    assert!(t.errors.is_empty());
}

fn rpsl_files() -> Vec<PathBuf> {
    // Deliberately not in dependency order: references cross files.
    ["inetnum", "role", "aut-num", "organisation", "inet6num"]
        .iter()
        .map(|c| data(&format!("rpsl/ripe.db.{c}")))
        .collect()
}

#[test]
fn rpsl_fixtures_resolve_abuse_contacts() {
    let d = load_rpsl(&rpsl_files()).unwrap();
    let got: Vec<String> = d
        .records
        .iter()
        .map(|r| {
            let scope = match r.scope {
                AbuseScope::Network(n) => n.to_string(),
                AbuseScope::Asn(a) => format!("AS{a}"),
            };
            format!(
                "{scope} {} [{}] {} {}",
                r.contact.email,
                r.contact.via,
                r.contact.holder.as_deref().unwrap_or("-"),
                r.contact.country.as_deref().unwrap_or("-")
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            "198.18.0.0/15 abuse@lir.example [inetnum 198.18.0.0 - 198.19.255.255 (netname EXAMPLE-LIR-NET)] EXAMPLE-LIR-NET NL",
            "198.18.4.0/24 abuse@hoster.test [inetnum 198.18.4.0 - 198.18.4.255 (netname HOSTER-CUST-NET)] HOSTER-CUST-NET NL",
            "AS64496 abuse@lir.example [aut-num AS64496 (as-name EXAMPLE-LIR-AS)] EXAMPLE-LIR-AS -",
            "AS64500 abuse@hoster.test [aut-num AS64500 (as-name HOSTER-AS)] HOSTER-AS DE",
            "2001:db8::/32 abuse@lir.example [inet6num 2001:db8::/32 (netname EXAMPLE-LIR-V6)] EXAMPLE-LIR-V6 NL",
            "2001:db8:4::/48 abuse@hoster.test [inet6num 2001:db8:4::/48 (netname HOSTER-V6)] HOSTER-V6 NL",
        ]
    );
    // NO-CONTACT-NET and DANGLING-ORG-NET have no resolvable abuse-c.
    assert_eq!(d.without_contact, 2);
    let problems: Vec<String> = d
        .problems
        .iter()
        .map(|p| {
            format!(
                "{}:{}: {}",
                Path::new(&p.file).file_name().unwrap().to_string_lossy(),
                p.line,
                p.message
            )
        })
        .collect();
    assert_eq!(
        problems,
        [
            "ripe.db.inetnum:51: inetnum `198.18.30.0 - 198.18.29.0`: the range 198.18.30.0 - 198.18.29.0 ends before it starts; object skipped"
        ]
    );
}

fn rpsl_records() -> Vec<baken_model::AbuseRecord> {
    load_rpsl(&rpsl_files()).unwrap().records
}

#[test]
fn rpsl_fallback_in_the_attributor() {
    let d = load_rpsl(&rpsl_files()).unwrap();
    let orgs = load_registry(&data("registry/registry.toml")).unwrap();
    let routed = load_routing(&data("routing/iptoasn.tsv")).unwrap().prefixes;
    let a = Attributor::new(orgs, routed, d.records).unwrap();
    // Registered: the registry wins over the RPSL data.
    assert_eq!(
        a.attribute(Some("198.18.4.1".parse().unwrap()), None, None)
            .rule,
        Rule::Prefix
    );
    // Not registered: the allocation's contact, also for the more specific net without one.
    let r = a.attribute(Some("198.19.8.1".parse().unwrap()), None, None);
    assert_eq!(r.rule, Rule::RegistryAbuse);
    assert_eq!(
        r.reason,
        "198.19.8.1 is in 198.18.0.0/15 of inetnum 198.18.0.0 - 198.19.255.255 (netname EXAMPLE-LIR-NET), abuse contact abuse@lir.example"
    );
    // A registered routed AS comes before the public registry data...
    let r = a.attribute(Some("2001:db8:4::9".parse().unwrap()), None, None);
    assert_eq!(r.rule, Rule::Asn);
    // ...and without a routing table the inet6num's contact is found.
    let without_routes =
        Attributor::new(a.organisations().to_vec(), vec![], rpsl_records()).unwrap();
    let r = without_routes.attribute(Some("2001:db8:4::9".parse().unwrap()), None, None);
    match r.owner {
        Owner::Abuse(c) => assert_eq!(c.email, "abuse@hoster.test"),
        other => panic!("expected the hoster's abuse contact, got {other:?}"),
    }
    let r = a.attribute(None, Some(64500), None);
    assert_eq!(
        r.reason,
        "AS64500 (from the event) has abuse contact abuse@hoster.test from aut-num AS64500 (as-name HOSTER-AS)"
    );
}

/// A registry id that reads as the key of one of baken's stand-in parties (the unregistered
/// holders behind a hoster, a hoster known from RPSL, an address nobody holds) would be
/// mistaken for that party in every message key and output: refused with line and field.
#[test]
fn ids_that_read_as_stand_in_parties_are_refused() {
    let csv = "id,name\n\
               ok-1,A\n\
               unregistered@abuse@hoster.example,B\n\
               rpsl-abuse:abuse@hoster.example,C\n\
               unattributed:198.18.0.1,D\n";
    let found: Vec<(Option<usize>, String, String)> = invalid_entries("r.csv", csv)
        .into_iter()
        .map(|(line, _, field, message)| {
            assert!(message.contains("reserved"), "{message}");
            (line, field, message)
        })
        .map(|(line, field, _)| (line, field, String::new()))
        .collect();
    assert_eq!(
        found,
        [3, 4, 5].map(|l| (Some(l), "id".to_string(), String::new()))
    );
}
