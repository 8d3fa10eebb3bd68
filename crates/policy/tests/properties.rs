//! Property tests over random registries, policies and findings.
//!
//! Case counts (see `CASES_*`) add up to 100,000 per run; the whole file runs in about
//! 15 seconds in a debug build on two shared cores.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::LazyLock;

use baken_model::{OrgId, OrgKind, Organisation, Tlp};
use baken_policy::{
    Asset, Case, Count, Designations, Form, InfoClass, Item, ItemKind, MemoryRegistry, Path,
    Policy, PolicySpec, Problem, Provenance, Pseudonymiser, Reach, Recipient, RegistryView, Role,
    RuleSpec, Subject, aggregate, decide, disclose, roles, route,
};
use proptest::prelude::*;

const CASES_ROUTE: u32 = 40_000;
const CASES_DECIDE: u32 = 40_000;
const CASES_VALIDATION: u32 = 10_000;
const CASES_AGGREGATE: u32 = 10_000;

const TLPS: [Tlp; 5] = [
    Tlp::Clear,
    Tlp::Green,
    Tlp::Amber,
    Tlp::AmberStrict,
    Tlp::Red,
];
const KINDS: [OrgKind; 6] = [
    OrgKind::Organisation,
    OrgKind::Cert,
    OrgKind::Hoster,
    OrgKind::Supervisor,
    OrgKind::Dtc,
    OrgKind::NationalCsirt,
];

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        // XorShift is the fastest generator proptest offers; ChaCha cost a tenth of the run.
        rng_algorithm: proptest::test_runner::RngAlgorithm::XorShift,
        ..ProptestConfig::default()
    }
}

fn id(i: usize) -> OrgId {
    OrgId(format!("o{i}"))
}

// ---- random policies --------------------------------------------------------------------

/// A random complete decision table (one form per case, as the class allows, in
/// `Case::all()` order) and OKTT designations.
#[derive(Debug, Clone)]
struct RandomPolicy {
    table: Vec<Form>,
    oktt: Designations,
}

impl RandomPolicy {
    /// The policy document: one rule per class, role and form, listing its TLP labels.
    fn spec(&self) -> PolicySpec {
        let mut rules: Vec<RuleSpec> = Vec::with_capacity(64);
        // The rule of each class, role and form, by index.
        let mut group: Vec<Option<usize>> = vec![None; InfoClass::ALL.len() * Role::ALL.len() * 4];
        for (case, &form) in Case::all().zip(&self.table) {
            let key =
                (case.class as usize * Role::ALL.len() + case.role as usize) * 4 + form as usize;
            match group[key] {
                Some(i) => rules[i].tlps.push(case.tlp),
                None => {
                    group[key] = Some(rules.len());
                    rules.push(RuleSpec {
                        name: RULE_NAMES[key].clone(),
                        classes: vec![case.class],
                        tlps: vec![case.tlp],
                        roles: vec![case.role],
                        form,
                        basis: "test".into(),
                        line: None,
                    });
                }
            }
        }
        PolicySpec {
            name: "random".into(),
            description: String::new(),
            retention_days: 30,
            min_count: 5,
            oktt: self.oktt.clone(),
            rules,
            lifecycle: Default::default(),
            red_recipients: Vec::new(),
            messages: Default::default(),
        }
    }

    fn policy(&self) -> Policy {
        Policy::new(self.spec()).expect("a complete table is a valid policy")
    }

    fn form(&self, class: InfoClass, tlp: Tlp, role: Role) -> Form {
        let tlp = TLPS.iter().position(|&t| t == tlp).unwrap();
        self.table[(class as usize * TLPS.len() + tlp) * Role::ALL.len() + role as usize]
    }
}

fn rule_name(class: InfoClass, role: Role, form: Form) -> String {
    format!("{class}/{role}/{form}")
}

/// `rule_name` of every class, role and form, in the order `RandomPolicy::spec` indexes it.
static RULE_NAMES: LazyLock<Vec<String>> = LazyLock::new(|| {
    InfoClass::ALL
        .into_iter()
        .flat_map(|c| {
            Role::ALL
                .into_iter()
                .flat_map(move |r| Form::ALL.map(|f| rule_name(c, r, f)))
        })
        .collect()
});

/// Two random bits per case pick its form among those its class allows.
fn random_policy() -> impl Strategy<Value = RandomPolicy> {
    (
        prop::array::uniform8(any::<u64>()),
        prop::collection::vec(0usize..12, 0..3),
        prop::collection::vec(0usize..6, 0..2),
    )
        .prop_map(|(bits, ids, kinds)| {
            let table = Case::all()
                .enumerate()
                .map(|(i, case)| {
                    let pick = (bits[i / 32] >> (2 * (i % 32))) & 3;
                    let forms = case.class.allowed_forms();
                    forms[pick as usize % forms.len()]
                })
                .collect();
            RandomPolicy {
                table,
                oktt: Designations {
                    ids: ids.into_iter().map(id).collect(),
                    kinds: kinds.into_iter().map(|k| KINDS[k]).collect(),
                },
            }
        })
}

// ---- random registries and findings -----------------------------------------------------

/// Organisation i: kind, vital, CERT and supervisor (an index; one past the end is an id
/// nobody registered), and for hosters the /28 of 198.18.0.0/24 they hold.
type OrgGene = (usize, bool, Option<usize>, Option<usize>, u8);

fn registry_from(genes: &[OrgGene]) -> MemoryRegistry {
    let n = genes.len();
    let orgs = genes
        .iter()
        .enumerate()
        .map(|(i, &(kind, vital, cert, supervisor, net))| {
            let kind = KINDS[kind];
            let link = |x: Option<usize>| {
                x.map(|x| {
                    if x % (n + 1) == n {
                        "nobody".into()
                    } else {
                        id(x % (n + 1)).0
                    }
                })
            };
            Organisation {
                id: id(i),
                name: format!("org {i}"),
                kind,
                sector: None,
                vital,
                wbni: Default::default(),
                supervisor: link(supervisor),
                cert: link(cert),
                networks: if kind == OrgKind::Hoster {
                    vec![format!("198.18.0.{}/28", (net % 16) * 16).parse().unwrap()]
                } else {
                    Vec::new()
                },
                asns: Vec::new(),
                domains: Vec::new(),
                contacts: Vec::new(),
            }
        })
        .collect();
    MemoryRegistry::new(orgs)
}

fn org_genes() -> impl Strategy<Value = Vec<OrgGene>> {
    prop::collection::vec(
        (
            prop_oneof![3 => Just(0usize), 1 => 1usize..6],
            any::<bool>(),
            prop::option::of(0usize..16),
            prop::option::of(0usize..16),
            any::<u8>(),
        ),
        1..10,
    )
}

/// A finding: subject index (one past the end: not registered), TLP, addresses (last octet
/// in 198.18.0.0/24, unique) each with its owner (usually the subject), named recipients.
type FindingGene = (usize, usize, BTreeMap<u8, Option<usize>>, Vec<usize>);

fn finding_genes() -> impl Strategy<Value = FindingGene> {
    (
        0usize..16,
        0usize..5,
        prop::collection::btree_map(any::<u8>(), prop::option::weighted(0.2, 0usize..16), 0..4),
        prop::collection::vec(0usize..16, 0..3),
    )
}

fn finding_from(reg: &MemoryRegistry, gene: &FindingGene) -> Item {
    let n = reg.organisations().len();
    let (subject, tlp, addresses, named) = gene;
    let subject = subject % (n + 1);
    let subject_id = if subject == n {
        OrgId("unregistered".into())
    } else {
        id(subject)
    };
    let vital = reg.organisation(&subject_id).is_some_and(|o| o.vital);
    Item {
        kind: ItemKind::Finding,
        tlp: TLPS[*tlp],
        subject: Some(Subject {
            id: subject_id.clone(),
            vital,
        }),
        provenance: Provenance {
            source: "test".into(),
            supplied_by: None,
        },
        assets: addresses
            .iter()
            .map(|(&octet, other)| Asset {
                address: IpAddr::from([198, 18, 0, octet]),
                owner: other.map_or(subject_id.clone(), |o| id(o % n)),
                network_holder: None,
            })
            .collect(),
        named_recipients: named.iter().map(|&i| id(i % n)).collect(),
    }
}

// ---- the properties ---------------------------------------------------------------------

/// The widest form the policy gives `org` for `class` at `tlp`, over the roles that apply:
/// recomputed here from the random table, not through `decide`.
fn allowed(
    rp: &RandomPolicy,
    policy: &Policy,
    org: &Organisation,
    class: InfoClass,
    tlp: Tlp,
    applies: impl Fn(Role) -> bool,
) -> Form {
    roles(policy, org)
        .into_iter()
        .filter(|&r| !class.is_third_party() || applies(r))
        .map(|r| rp.form(class, tlp, r))
        .max()
        .unwrap_or(Form::Nothing)
}

fn check_route(
    rp: &RandomPolicy,
    genes: &[OrgGene],
    fgene: &FindingGene,
) -> Result<(), TestCaseError> {
    let policy = rp.policy();
    let reg = registry_from(genes);
    let item = finding_from(&reg, fgene);
    let subject = item.subject.as_ref().unwrap().id.clone();
    let r = route(&policy, &item, &reg);
    let Some(owner) = reg.organisation(&subject) else {
        prop_assert!(r.steps.is_empty());
        prop_assert!(matches!(&r.reach, Reach::Unreachable(reason) if !reason.is_empty()));
        return Ok(());
    };
    // Whose each address is, as the registry says (hosters looked up here, independently).
    let holder = |a: &Asset| {
        reg.hoster_of(a.address)
            .map(|h| h.id.clone())
            .filter(|h| *h != a.owner)
    };
    let belongs = |address: IpAddr, org: &OrgId| {
        item.assets
            .iter()
            .filter(|a| a.address == address)
            .any(|a| a.owner == *org || holder(a).as_ref() == Some(org))
    };
    prop_assert_eq!(
        r.steps.first().map(|s| (s.path, &s.recipient)),
        Some((Path::Direct, &subject))
    );
    let mut recipients = BTreeSet::new();
    for step in &r.steps {
        prop_assert!(
            recipients.insert(step.recipient.clone()),
            "recipient told twice"
        );
        let org = reg.organisation(&step.recipient).unwrap();
        let d = &step.decision;
        let class = item.class_for(&org.id);
        prop_assert_eq!(d.class, class);
        prop_assert_eq!(d.tlp, item.tlp);
        let limit = allowed(rp, &policy, org, class, item.tlp, |role| match role {
            Role::Cert => owner.cert.as_deref() == Some(org.id.0.as_str()),
            Role::Supervisor => owner.supervisor.as_deref() == Some(org.id.0.as_str()),
            Role::Hoster => item
                .assets
                .iter()
                .any(|a| holder(a).as_ref() == Some(&org.id)),
            _ => true,
        });
        prop_assert!(d.form <= limit, "{} exceeds the policy's {limit}", d.form);
        let gets_something = d.form != Form::Nothing || !step.addresses.is_empty();
        if gets_something && item.tlp == Tlp::Red {
            prop_assert!(
                item.named_recipients.contains(&org.id),
                "TLP:RED to {}",
                org.id
            );
        }
        if gets_something && item.tlp == Tlp::AmberStrict {
            prop_assert_eq!(&org.id, &subject, "TLP:AMBER+STRICT outside the subject");
        }
        match d.form {
            Form::Full => prop_assert_eq!(step.addresses.len(), item.assets.len()),
            Form::OwnAssets => {
                for &address in &step.addresses {
                    prop_assert!(belongs(address, &org.id), "{} is not {}'s", address, org.id);
                }
            }
            Form::Aggregate | Form::Nothing => prop_assert!(step.addresses.is_empty()),
        }
        if item.tlp == Tlp::AmberStrict {
            for &address in &step.addresses {
                prop_assert!(
                    belongs(address, &org.id),
                    "TLP:AMBER+STRICT with {}",
                    address
                );
            }
        }
        let informs = match d.form {
            Form::Full => true,
            Form::OwnAssets => {
                org.id == subject
                    || step.addresses.iter().any(|&a| {
                        item.assets
                            .iter()
                            .any(|x| x.address == a && x.owner == subject)
                    })
            }
            _ => false,
        };
        prop_assert_eq!(step.informs, informs);
    }
    let informing: Vec<Path> = r
        .steps
        .iter()
        .filter(|s| s.informs)
        .map(|s| s.path)
        .collect();
    match &r.reach {
        Reach::Reached(paths) => {
            prop_assert!(!paths.is_empty());
            let mut expected = informing.clone();
            expected.dedup();
            prop_assert_eq!(paths, &expected);
        }
        Reach::Unreachable(reason) => {
            prop_assert!(informing.is_empty());
            prop_assert!(!reason.is_empty());
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(CASES_ROUTE))]

    /// Routing a finding never gives a recipient more than its roles, TLP and the policy
    /// allow, and the owner is either reached or given a reason.
    #[test]
    fn routing_respects_policy_and_tlp(
        rp in random_policy(),
        genes in org_genes(),
        fgene in finding_genes(),
    ) {
        check_route(&rp, &genes, &fgene)?;
    }
}

/// A random item of any kind and a random recipient with random roles.
type DecideGene = (
    usize,
    usize,
    Option<(usize, bool)>,
    BTreeMap<u8, (usize, Option<usize>)>,
    Vec<usize>,
    usize,
    Vec<usize>,
    (Vec<usize>, Vec<usize>),
);

fn decide_genes() -> impl Strategy<Value = DecideGene> {
    (
        0usize..3,
        0usize..5,
        prop::option::weighted(0.8, (0usize..4, any::<bool>())),
        prop::collection::btree_map(any::<u8>(), (0usize..4, prop::option::of(0usize..4)), 0..4),
        prop::collection::vec(0usize..4, 0..3),
        0usize..4,
        prop::collection::vec(0usize..8, 0..4),
        (
            prop::collection::vec(0usize..4, 0..3),
            prop::collection::vec(0usize..4, 0..3),
        ),
    )
}

proptest! {
    #![proptest_config(config(CASES_DECIDE))]

    /// `decide` on its own: whatever the roles, the policy and TLP 2.0 bound the form.
    #[test]
    fn decisions_respect_policy_and_tlp(rp in random_policy(), gene in decide_genes()) {
        let policy = rp.policy();
        let (kind, tlp, subject, assets, named, me, role_picks, (constituency, supervised)) = gene;
        let kind = [ItemKind::Finding, ItemKind::Advisory, ItemKind::SectorAggregate][kind];
        let item = Item {
            kind,
            tlp: TLPS[tlp],
            subject: subject.map(|(s, vital)| Subject { id: id(s), vital }),
            provenance: Provenance { source: "test".into(), supplied_by: Some("peer".into()) },
            assets: assets
                .into_iter()
                .map(|(octet, (owner, holder))| Asset {
                    address: IpAddr::from([198, 18, 1, octet]),
                    owner: id(owner),
                    network_holder: holder.map(id),
                })
                .collect(),
            named_recipients: named.into_iter().map(id).collect(),
        };
        let mut role_set: Vec<Role> = role_picks.into_iter().map(|r| Role::ALL[r]).collect();
        role_set.sort();
        role_set.dedup();
        let recipient = Recipient {
            id: id(me),
            name: format!("org {me}"),
            roles: role_set.clone(),
            constituency: constituency.into_iter().map(id).collect(),
            supervised: supervised.into_iter().map(id).collect(),
        };
        let d = decide(&policy, &item, &recipient);
        let class = item.class_for(&recipient.id);
        prop_assert_eq!(d.class, class);
        let about = item.subject.as_ref().map(|s| &s.id);
        let limit = role_set
            .iter()
            .filter(|&&r| {
                !class.is_third_party()
                    || match r {
                        Role::Cert => about.is_some_and(|s| recipient.constituency.contains(s)),
                        Role::Supervisor => about.is_some_and(|s| recipient.supervised.contains(s)),
                        Role::Hoster => item.assets.iter().any(|a| a.network_holder.as_ref() == Some(&recipient.id)),
                        _ => true,
                    }
            })
            .map(|&r| rp.form(class, item.tlp, r))
            .max()
            .unwrap_or(Form::Nothing);
        prop_assert!(d.form <= limit);
        if let (Some(role), Some(rule)) = (d.role, &d.rule) {
            prop_assert_eq!(rule, &rule_name(class, role, rp.form(class, item.tlp, role)));
            prop_assert_eq!(d.rule_form, limit);
        }
        let out = disclose(&d, &item, &recipient.id);
        if d.form != Form::Nothing {
            if item.tlp == Tlp::Red {
                prop_assert!(item.named_recipients.contains(&recipient.id));
            }
            if item.tlp == Tlp::AmberStrict {
                prop_assert_eq!(about, Some(&recipient.id));
                prop_assert!(out.iter().all(|a| a.belongs_to(&recipient.id)));
            }
        }
        if d.form == Form::OwnAssets {
            prop_assert!(out.iter().all(|a| a.belongs_to(&recipient.id)));
        }
        if !d.form.is_specific() {
            prop_assert!(out.is_empty());
        }
        prop_assert!(d.explanation.starts_with(&recipient.name));
        prop_assert!(d.explanation.contains(d.tlp.label()));
    }
}

proptest! {
    #![proptest_config(config(CASES_VALIDATION))]

    /// Removing the rule for a case makes exactly that case undecided; adding a rule that
    /// gives a case another form is a contradiction naming both rules.
    #[test]
    fn validation_names_the_gap_or_the_conflict(rp in random_policy(), pick in 0usize..200, contradict in any::<bool>()) {
        let mut spec = rp.spec();
        let case = Case::all().nth(pick).unwrap();
        let form = rp.form(case.class, case.tlp, case.role);
        let victim = rule_name(case.class, case.role, form);
        let other = *case.class.allowed_forms().iter().find(|&&f| f != form).unwrap();
        if contradict {
            spec.rules.push(RuleSpec {
                name: "intruder".into(),
                classes: vec![case.class],
                tlps: vec![case.tlp],
                roles: vec![case.role],
                form: other,
                basis: "test".into(),
                line: None,
            });
        } else {
            let rule = spec.rules.iter_mut().find(|r| r.name == victim).unwrap();
            rule.tlps.retain(|&t| t != case.tlp);
            spec.rules.retain(|r| !r.tlps.is_empty());
        }
        let err = Policy::new(spec).unwrap_err();
        let expected = if contradict {
            Problem::Contradiction {
                rules: vec![(victim, form), ("intruder".into(), other)],
                cases: vec![case],
            }
        } else {
            Problem::Undecided { class: case.class, role: case.role, tlps: vec![case.tlp] }
        };
        prop_assert_eq!(err.problems(), &[expected][..]);
    }
}

/// nl-2020 with thresholds 1 to 7, built once.
static THRESHOLDS: LazyLock<Vec<Policy>> = LazyLock::new(|| {
    (1..8)
        .map(|k| {
            let mut spec = Policy::builtin("nl-2020").unwrap().spec().clone();
            spec.min_count = k;
            Policy::new(spec).unwrap()
        })
        .collect()
});

static PSEUDONYMISER: LazyLock<Pseudonymiser> =
    LazyLock::new(|| Pseudonymiser::new(b"0123456789abcdef").unwrap());

proptest! {
    #![proptest_config(config(CASES_AGGREGATE))]

    /// Aggregates never show a count below the threshold, list organisations only when a
    /// sector has at least k of them, and do not depend on the order of findings.
    #[test]
    fn aggregates_suppress_small_counts(
        findings in prop::collection::vec((prop::option::of(0usize..3), 0usize..12), 0..40),
        k in 1u32..8,
    ) {
        let policy = &THRESHOLDS[k as usize - 1];
        let p = &*PSEUDONYMISER;
        let sectors = ["energy", "health", "water"];
        let ids: Vec<OrgId> = (0..12).map(id).collect();
        let pseudonyms: BTreeSet<String> = ids.iter().map(|o| p.pseudonym(o)).collect();
        let input: Vec<(Option<&str>, &OrgId)> = findings.iter().map(|&(s, o)| (s.map(|s| sectors[s]), &ids[o])).collect();
        let out = aggregate(policy, input.iter().copied(), p);
        let reversed = aggregate(policy, input.iter().rev().copied(), p);
        prop_assert_eq!(&out, &reversed);
        let below = |c: &Count| match *c { Count::Exact(n) => n >= u64::from(k), Count::Below(b) => b == k };
        let mut total = 0;
        for sector in &out {
            let truth: Vec<&OrgId> = input.iter().filter(|(s, _)| s.unwrap_or(baken_policy::NO_SECTOR) == sector.sector).map(|(_, o)| *o).collect();
            total += truth.len();
            let orgs: BTreeSet<&OrgId> = truth.iter().copied().collect();
            prop_assert!(below(&sector.organisations) && below(&sector.findings));
            if let Count::Exact(n) = sector.findings { prop_assert_eq!(n as usize, truth.len()); }
            if let Count::Exact(n) = sector.organisations { prop_assert_eq!(n as usize, orgs.len()); }
            prop_assert_eq!(sector.by_organisation.is_empty(), orgs.len() < k as usize);
            for (pseudonym, count) in &sector.by_organisation {
                prop_assert!(below(count));
                prop_assert!(!pseudonym.contains('o'));
                prop_assert!(pseudonyms.contains(pseudonym));
            }
        }
        prop_assert_eq!(total, input.len());
    }
}
