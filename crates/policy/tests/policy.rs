//! Policy validation and the key decisions of the shipped policies.

use baken_model::{Language, OrgId, OrgKind, Organisation, Tlp};
use baken_policy::{
    Form, InfoClass, Invariant, Item, ItemKind, MemoryRegistry, Path, Policy, PolicyError, Problem,
    Provenance, Reach, Recipient, Role, Subject, aggregate, decide, route,
};

fn org(id: &str, kind: OrgKind, vital: bool) -> Organisation {
    Organisation {
        id: OrgId(id.into()),
        name: format!("{id} name"),
        kind,
        sector: None,
        vital,
        wbni: Default::default(),
        supervisor: None,
        cert: None,
        networks: Vec::new(),
        asns: Vec::new(),
        domains: Vec::new(),
        contacts: Vec::new(),
    }
}

fn provenance() -> Provenance {
    Provenance {
        source: "shadowserver scan_citrix".into(),
        supplied_by: None,
    }
}

/// A small national registry: a vital hospital and a non-vital school served by a CERT, a
/// shop nobody represents on a hoster's network, the DTC and a supervisor.
fn registry() -> MemoryRegistry {
    let mut hospital = org("hospital", OrgKind::Organisation, true);
    hospital.cert = Some("z-cert".into());
    hospital.supervisor = Some("igj".into());
    hospital.sector = Some("health".into());
    let mut school = org("school", OrgKind::Organisation, false);
    school.cert = Some("edu-cert".into());
    let shop = org("shop", OrgKind::Organisation, false);
    let mut hoster = org("hoster", OrgKind::Hoster, false);
    hoster.networks = vec!["198.18.0.0/24".parse().unwrap()];
    MemoryRegistry::new(vec![
        hospital,
        school,
        shop,
        hoster,
        org("z-cert", OrgKind::Cert, false),
        org("edu-cert", OrgKind::Cert, false),
        org("dtc", OrgKind::Dtc, false),
        org("igj", OrgKind::Supervisor, false),
    ])
}

fn finding(reg: &MemoryRegistry, id: &str, tlp: Tlp) -> Item {
    use baken_policy::RegistryView;
    let subject = reg.organisation(&OrgId(id.into())).unwrap();
    Item::finding(subject, tlp, provenance(), ["198.18.0.7".parse().unwrap()])
}

fn step(route: &baken_policy::Route, path: Path) -> &baken_policy::RouteStep {
    route
        .steps
        .iter()
        .find(|s| s.path == path)
        .unwrap_or_else(|| panic!("no {path} step in {route:#?}"))
}

fn problems(text: &str) -> Vec<Problem> {
    match Policy::parse(text) {
        Ok(_) => panic!("policy accepted"),
        Err(e) => e.problems().to_vec(),
    }
}

/// The nl-2020 text with `from` replaced by `to` (which must occur).
fn edited(from: &str, to: &str) -> String {
    let text = Policy::builtin_text("nl-2020").unwrap();
    assert!(text.contains(from), "{from:?} not in nl-2020");
    text.replacen(from, to, 1)
}

// ---- validation -------------------------------------------------------------------------

#[test]
fn shipped_policies_are_valid() {
    for name in Policy::builtin_names() {
        let policy = Policy::builtin(name).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(policy.name(), name);
        assert_eq!(policy.min_count(), 5);
        assert_eq!(policy.retention_days(), 180);
    }
    assert_eq!(
        Policy::builtin("nl-1999").unwrap_err(),
        PolicyError::UnknownBuiltin("nl-1999".into())
    );
}

#[test]
fn a_contradiction_names_both_rules() {
    // A second rule giving the DTC full advisories at AMBER, where another says nothing.
    let text = format!(
        "{}\n[[rule]]\nname = \"dtc-amber-advisories\"\nclass = \"advisory\"\ntlp = \"AMBER\"\nrole = [\"dtc\", \"vital\"]\nform = \"full\"\nbasis = \"test\"\n",
        Policy::builtin_text("nl-2020").unwrap()
    );
    let problems = problems(&text);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(
        problems[0].rules(),
        ["advisory-confidential-no-mandate", "dtc-amber-advisories"]
    );
    let message = problems[0].to_string();
    assert!(message.contains("advisory × TLP:AMBER × dtc"), "{message}");
    assert!(
        !message.contains("× vital"),
        "agreeing cases are no contradiction: {message}"
    );
}

#[test]
fn an_undecided_case_is_named() {
    let text = edited(
        "role = [\"non-vital\", \"dtc\", \"supervisor\", \"hoster\"]",
        "role = [\"non-vital\", \"supervisor\", \"hoster\"]",
    );
    let problems = problems(&text);
    assert_eq!(
        problems,
        [Problem::Undecided {
            class: InfoClass::Advisory,
            role: Role::Dtc,
            tlps: vec![Tlp::Amber, Tlp::AmberStrict, Tlp::Red],
        }]
    );
    assert_eq!(
        problems[0].to_string(),
        "no rule decides advisory × dtc at TLP:AMBER, TLP:AMBER+STRICT, TLP:RED; add a rule or widen one"
    );
}

#[test]
fn unknown_names_are_reported_with_rule_and_line() {
    let text = edited("role = \"oktt\"", "role = \"okt\"");
    let text = text.replacen(
        "tlp = [\"CLEAR\", \"GREEN\"]",
        "tlp = [\"CLEAR\", \"WHITISH\"]",
        1,
    );
    let text = text.replacen("form = \"aggregate\"", "form = \"counts\"", 1);
    let text = text.replacen("kinds = []", "kinds = [\"ministry\"]", 1);
    let err = Policy::parse(&text).unwrap_err();
    let problems = err.problems();
    let summary: Vec<(Vec<&str>, String)> = problems
        .iter()
        .map(|p| match p {
            Problem::UnknownName { field, value, .. } => (p.rules(), format!("{field}={value}")),
            other => panic!("unexpected {other}"),
        })
        .collect();
    assert_eq!(
        summary,
        [
            (vec!["oktt"], "kinds=ministry".to_string()),
            (vec!["advisory-open"], "tlp=WHITISH".to_string()),
            (
                vec!["findings-supervisor-aggregate"],
                "form=counts".to_string()
            ),
            (vec!["non-vital-findings-to-oktt"], "role=okt".to_string()),
        ]
    );
    let message = err.to_string();
    assert!(
        message.contains("rule \"non-vital-findings-to-oktt\" (line 89): unknown role \"okt\""),
        "{message}"
    );
}

#[test]
fn forms_a_class_cannot_take_and_duplicate_names_are_rejected() {
    let text = edited(
        "name = \"aggregate-open\"\nclass = \"sector-aggregate\"\ntlp = [\"CLEAR\", \"GREEN\"]\nrole = \"*\"\nform = \"aggregate\"",
        "name = \"advisory-open\"\nclass = \"sector-aggregate\"\ntlp = [\"CLEAR\", \"GREEN\"]\nrole = \"*\"\nform = \"full\"",
    );
    let problems = problems(&text);
    assert!(
        problems.iter().any(|p| matches!(p, Problem::FormNotAllowed { rule, form: Form::Full, class: InfoClass::SectorAggregate, .. } if rule == "advisory-open")),
        "{problems:#?}"
    );
    assert!(
        problems.contains(&Problem::DuplicateName {
            rule: "advisory-open".into(),
            count: 2
        }),
        "{problems:#?}"
    );
}

#[test]
fn syntax_errors_and_bad_settings_are_reported() {
    let problems = problems("name = \"x\"\nretention_days = 0\nmin_count = 0\nrules = 3\n");
    assert!(
        matches!(&problems[..], [Problem::Syntax(m)] if m.contains("rules")),
        "{problems:?}"
    );
    let problems = problems_of_empty("retention_days = 0\nmin_count = 0\n");
    assert_eq!(
        problems
            .iter()
            .filter(|p| matches!(p, Problem::Setting { .. }))
            .count(),
        2
    );
    // An empty policy leaves all 40 class × role pairs undecided.
    assert_eq!(
        problems
            .iter()
            .filter(|p| matches!(p, Problem::Undecided { .. }))
            .count(),
        40
    );
}

#[test]
fn the_lifecycle_is_read_checked_and_defaults_when_absent() {
    for name in Policy::builtin_names() {
        let l = Policy::builtin(name).unwrap().lifecycle();
        assert_eq!(
            (
                l.verify_after_reports,
                l.deadline_hours_vital,
                l.deadline_hours
            ),
            (1, 72, 336)
        );
    }
    let two = Policy::parse(&edited(
        "verify_after_reports = 1",
        "verify_after_reports = 2",
    ))
    .unwrap();
    assert_eq!(two.lifecycle().verify_after_reports, 2);
    let without = edited("[lifecycle]", "[unused_lifecycle]");
    assert!(
        problems(&without)
            .iter()
            .any(|p| matches!(p, Problem::Syntax(m) if m.contains("unused_lifecycle"))),
        "an unknown table is refused"
    );
    let zero = problems(&edited("deadline_hours = 336", "deadline_hours = 0"));
    assert!(
        zero.iter().any(
            |p| matches!(p, Problem::Setting { field, .. } if *field == "lifecycle.deadline_hours")
        ),
        "{zero:?}"
    );
    let typo = problems(&edited("deadline_hours = 336", "deadline_hour = 336"));
    assert!(
        typo.iter()
            .any(|p| matches!(p, Problem::Syntax(m) if m.contains("deadline_hour"))),
        "{typo:?}"
    );
    // a policy without the table takes the defaults
    let text = Policy::builtin_text("nl-2020").unwrap();
    let bare = &text[..text.find("[lifecycle]").unwrap()];
    assert_eq!(
        Policy::parse(bare).unwrap().lifecycle(),
        baken_policy::Lifecycle::default()
    );
}

#[test]
fn the_message_language_is_read_checked_and_defaults_to_english() {
    for name in Policy::builtin_names() {
        assert_eq!(
            Policy::builtin(name).unwrap().messages().language,
            Language::En
        );
    }
    let dutch = Policy::parse(&edited("language = \"en\"", "language = \"nl\"")).unwrap();
    assert_eq!(dutch.messages().language, Language::Nl);
    for bad in ["language = \"de\"", "language = \"\"", "taal = \"nl\""] {
        let found = problems(&edited("language = \"en\"", bad));
        assert!(
            found.iter().any(|p| matches!(p, Problem::Syntax(m)
                if m.contains("language") || m.contains("taal"))),
            "{bad}: {found:?}"
        );
    }
    // a policy without the table writes English
    let text = Policy::builtin_text("nl-2020").unwrap();
    let bare = &text[..text.find("[messages]").unwrap()];
    assert_eq!(
        Policy::parse(bare).unwrap().messages().language,
        Language::En
    );
}

fn problems_of_empty(settings: &str) -> Vec<Problem> {
    problems(&format!("name = \"empty\"\n{settings}"))
}

// ---- TLP invariants ---------------------------------------------------------------------

#[test]
fn tlp_red_goes_only_to_named_recipients() {
    let policy = Policy::builtin("nl-2020").unwrap();
    let reg = registry();
    let mut item = finding(&reg, "hospital", Tlp::Red);
    let route = route(&policy, &item, &reg);
    assert_eq!(step(&route, Path::Direct).decision.form, Form::Nothing);
    assert_eq!(
        step(&route, Path::Direct).decision.invariant,
        Some(Invariant::RedNamedOnly)
    );
    item.named_recipients = vec![OrgId("hospital".into())];
    let route = baken_policy::route(&policy, &item, &reg);
    assert_eq!(step(&route, Path::Direct).decision.form, Form::Full);
    assert_eq!(step(&route, Path::Cert).decision.form, Form::Nothing);
}

#[test]
fn amber_strict_goes_only_to_the_subject() {
    let policy = Policy::builtin("nl-dtc-oktt").unwrap();
    let reg = registry();
    let route = route(&policy, &finding(&reg, "hospital", Tlp::AmberStrict), &reg);
    assert_eq!(step(&route, Path::Direct).decision.form, Form::Full);
    let cert = &step(&route, Path::Cert).decision;
    assert_eq!(
        (cert.form, cert.invariant),
        (Form::Nothing, Some(Invariant::AmberStrictSubjectOnly))
    );
    assert!(
        cert.explanation.contains("would allow full"),
        "{}",
        cert.explanation
    );
}

// ---- the shipped policies ---------------------------------------------------------------

#[test]
fn nl_2020_an_owner_without_cert_gets_nothing_and_the_dtc_an_aggregate() {
    let policy = Policy::builtin("nl-2020").unwrap();
    let reg = registry();
    let route = route(&policy, &finding(&reg, "shop", Tlp::Amber), &reg);
    assert_eq!(step(&route, Path::Direct).decision.form, Form::Nothing);
    assert_eq!(
        step(&route, Path::Direct).decision.rule.as_deref(),
        Some("own-findings-non-vital-2020")
    );
    let dtc = step(&route, Path::Dtc);
    assert_eq!(dtc.decision.form, Form::Aggregate);
    assert!(dtc.addresses.is_empty());
    assert_eq!(step(&route, Path::Hoster).decision.form, Form::Nothing);
    let Reach::Unreachable(reason) = &route.reach else {
        panic!("shop reached under nl-2020: {route:#?}")
    };
    assert!(reason.contains("no CERT represents it"), "{reason}");
    assert!(reason.contains("dtc dtc may get aggregate"), "{reason}");
}

#[test]
fn nl_dtc_oktt_reaches_an_owner_without_cert_through_dtc_and_hoster() {
    let policy = Policy::builtin("nl-dtc-oktt").unwrap();
    let reg = registry();
    let route = route(&policy, &finding(&reg, "shop", Tlp::Amber), &reg);
    let dtc = step(&route, Path::Dtc);
    assert_eq!(dtc.decision.form, Form::Full);
    assert_eq!(dtc.decision.role, Some(Role::Oktt));
    assert_eq!(
        dtc.decision.rule.as_deref(),
        Some("non-vital-findings-to-oktt")
    );
    let hoster = step(&route, Path::Hoster);
    assert_eq!(hoster.decision.form, Form::OwnAssets);
    assert_eq!(
        hoster.addresses,
        ["198.18.0.7".parse::<std::net::IpAddr>().unwrap()]
    );
    assert_eq!(route.reach, Reach::Reached(vec![Path::Dtc, Path::Hoster]));
}

#[test]
fn a_non_vital_sector_cert_gets_ip_level_data_only_under_nl_dtc_oktt() {
    let reg = registry();
    let item = finding(&reg, "school", Tlp::Amber);
    let old = route(&Policy::builtin("nl-2020").unwrap(), &item, &reg);
    assert_eq!(step(&old, Path::Cert).decision.form, Form::Aggregate);
    assert!(matches!(old.reach, Reach::Unreachable(_)));
    let new = route(&Policy::builtin("nl-dtc-oktt").unwrap(), &item, &reg);
    assert_eq!(step(&new, Path::Cert).decision.form, Form::Full);
    assert_eq!(new.reach, Reach::Reached(vec![Path::Cert]));
    // Reached through its CERT, so the DTC and the hoster are not asked.
    assert!(
        new.steps
            .iter()
            .all(|s| s.path != Path::Dtc && s.path != Path::Hoster)
    );
}

#[test]
fn a_vital_provider_is_told_directly_and_through_its_cert_under_both() {
    let reg = registry();
    for name in Policy::builtin_names() {
        let policy = Policy::builtin(name).unwrap();
        let route = route(&policy, &finding(&reg, "hospital", Tlp::Amber), &reg);
        assert_eq!(
            route.reach,
            Reach::Reached(vec![Path::Direct, Path::Cert]),
            "{name}"
        );
        let direct = &step(&route, Path::Direct).decision;
        assert_eq!(direct.rule.as_deref(), Some("own-findings-mandate"));
        assert!(direct.explanation.starts_with(
            "hospital name (vital) gets full of this own-asset-finding at TLP:AMBER as vital: rule own-findings-mandate of "
        ), "{}", direct.explanation);
        assert_eq!(
            step(&route, Path::Supervisor).decision.form,
            Form::Aggregate
        );
    }
}

#[test]
fn a_cert_hears_only_about_its_own_constituency() {
    let policy = Policy::builtin("nl-dtc-oktt").unwrap();
    let reg = registry();
    let item = finding(&reg, "school", Tlp::Green);
    let z_cert = Recipient::new(&policy, &org("z-cert", OrgKind::Cert, false));
    let decision = decide(&policy, &item, &z_cert);
    assert_eq!(
        (decision.form, decision.invariant),
        (Form::Nothing, Some(Invariant::NoMandate))
    );
}

#[test]
fn advisories_at_amber_reach_the_dtc_only_as_oktt() {
    let advisory = Item {
        kind: ItemKind::Advisory,
        tlp: Tlp::Amber,
        subject: None,
        provenance: Provenance {
            source: "NCSC-2020-0001".into(),
            supplied_by: Some("Citrix".into()),
        },
        assets: Vec::new(),
        named_recipients: Vec::new(),
    };
    let dtc = org("dtc", OrgKind::Dtc, false);
    for (name, form) in [("nl-2020", Form::Nothing), ("nl-dtc-oktt", Form::Full)] {
        let policy = Policy::builtin(name).unwrap();
        let d = decide(&policy, &advisory, &Recipient::new(&policy, &dtc));
        assert_eq!(d.form, form, "{name}: {}", d.explanation);
    }
}

#[test]
fn a_subject_outside_the_registry_is_unreachable_with_a_reason() {
    let policy = Policy::builtin("nl-2020").unwrap();
    let mut item = finding(&registry(), "shop", Tlp::Clear);
    item.subject = Some(Subject {
        id: OrgId("ghost".into()),
        vital: false,
    });
    let route = route(&policy, &item, &registry());
    assert_eq!(
        route.reach,
        Reach::Unreachable("ghost is not in the registry".into())
    );
}

// ---- aggregates -------------------------------------------------------------------------

#[test]
fn aggregates_suppress_small_counts_and_pseudonymise() {
    let policy = Policy::builtin("nl-2020").unwrap();
    let p = baken_policy::Pseudonymiser::new(b"a per-run secret of 32 bytes....").unwrap();
    let ids: Vec<OrgId> = (0..7).map(|i| OrgId(format!("org-{i}"))).collect();
    let mut findings = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        // health: 7 organisations, org-0 with 6 findings; energy: 2 organisations.
        let n = if i == 0 { 6 } else { 1 };
        findings.extend(std::iter::repeat_n((Some("health"), id), n));
    }
    findings.push((Some("energy"), &ids[0]));
    findings.push((Some("energy"), &ids[1]));
    let out = aggregate(&policy, findings, &p);
    assert_eq!(out.len(), 2);
    let energy = &out[0];
    assert_eq!(
        (
            energy.sector.as_str(),
            energy.organisations.to_string(),
            energy.findings.to_string()
        ),
        ("energy", "<5".into(), "<5".into())
    );
    assert!(energy.by_organisation.is_empty());
    let health = &out[1];
    assert_eq!(health.organisations.to_string(), "7");
    assert_eq!(health.findings.to_string(), "12");
    let rows: Vec<String> = health
        .by_organisation
        .iter()
        .map(|(_, c)| c.to_string())
        .collect();
    assert_eq!(rows.iter().filter(|c| *c == "6").count(), 1);
    assert_eq!(rows.iter().filter(|c| *c == "<5").count(), 6);
    for (pseudonym, _) in &health.by_organisation {
        assert!(
            pseudonym.starts_with("p-") && pseudonym.len() == 18,
            "{pseudonym}"
        );
        assert!(!pseudonym.contains("org"));
    }
    // Another secret, other pseudonyms.
    let q = baken_policy::Pseudonymiser::new(b"another secret of sixteen+ bytes").unwrap();
    assert_ne!(p.pseudonym(&ids[0]), q.pseudonym(&ids[0]));
}
