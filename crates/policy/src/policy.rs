//! The policy document: parsing, validation, and the decision table it compiles to.

use std::collections::BTreeMap;
use std::fmt;

use baken_model::{Language, OrgId, OrgKind, Organisation, Tlp};
use serde::de::IntoDeserializer;
use serde::{Deserialize, Serialize};

use crate::vocab::{Form, InfoClass, Role};

/// The built-in policies: name and text.
const BUILTIN: [(&str, &str); 2] = [
    ("nl-2020", include_str!("../policies/nl-2020.toml")),
    ("nl-dtc-oktt", include_str!("../policies/nl-dtc-oktt.toml")),
];

/// Every TLP label, least restrictive first.
pub(crate) const TLPS: [Tlp; 5] = [
    Tlp::Clear,
    Tlp::Green,
    Tlp::Amber,
    Tlp::AmberStrict,
    Tlp::Red,
];

/// The organisations a policy designates as OKTT.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Designations {
    /// Designated by registry id.
    pub ids: Vec<OrgId>,
    /// Designated as a whole kind (for example every `dtc`).
    pub kinds: Vec<OrgKind>,
}

impl Designations {
    /// Whether `org` is designated.
    pub fn designates(&self, org: &Organisation) -> bool {
        self.kinds.contains(&org.kind) || self.ids.contains(&org.id)
    }
}

/// One rule of a policy: for every combination of its classes, TLP labels and roles, the
/// form that may go out and the legal basis to quote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleSpec {
    /// Unique name, quoted in every decision it makes.
    pub name: String,
    /// Information classes it covers.
    pub classes: Vec<InfoClass>,
    /// TLP labels it covers.
    pub tlps: Vec<Tlp>,
    /// Recipient roles it covers.
    pub roles: Vec<Role>,
    /// The form that may go out.
    pub form: Form,
    /// The legal basis, in words, quoted in explanations.
    pub basis: String,
    /// The line of the policy file the rule starts on, when it was read from one.
    #[serde(default)]
    pub line: Option<usize>,
}

impl RuleSpec {
    fn cases(&self) -> impl Iterator<Item = Case> + '_ {
        self.classes.iter().flat_map(move |&class| {
            self.tlps.iter().flat_map(move |&tlp| {
                self.roles
                    .iter()
                    .map(move |&role| Case { class, tlp, role })
            })
        })
    }
}

/// A whole policy before validation; [`Policy::new`] checks and compiles it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicySpec {
    /// Short name, e.g. `nl-2020`.
    pub name: String,
    /// What situation the policy describes.
    pub description: String,
    /// Days raw findings are kept before `baken prune` deletes them.
    pub retention_days: u32,
    /// The small-count threshold k of aggregates: a count below k is shown as `<k`.
    pub min_count: u32,
    /// OKTT designations.
    pub oktt: Designations,
    /// The rules, in file order.
    pub rules: Vec<RuleSpec>,
    /// How findings are followed until they are fixed.
    #[serde(default)]
    pub lifecycle: Lifecycle,
    /// Recipients named for every TLP:RED item, besides those a source names (`[red]`
    /// `recipients`); TLP:RED goes to nobody else.
    #[serde(default)]
    pub red_recipients: Vec<OrgId>,
    /// How messages are written (the `[messages]` table).
    #[serde(default)]
    pub messages: Messages,
}

/// How messages are written (the policy's `[messages]` table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Messages {
    /// The language of a message whose recipient's contact names none (`en`, the default,
    /// or `nl`); a registry contact's own `language` wins.
    pub language: Language,
}

/// How findings are followed until they are fixed (the policy's `[lifecycle]` table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Lifecycle {
    /// Later reports of the same feed and report type in a row that must no longer hold a
    /// finding before it counts as verified fixed.
    pub verify_after_reports: u32,
    /// Hours after a vital provider was told about a finding that it counts as overdue
    /// when still seen.
    pub deadline_hours_vital: u32,
    /// Hours after any other organisation was told that it counts as overdue.
    pub deadline_hours: u32,
    /// Hours overdue after which the policy's escalation goes out.
    pub escalate_after_hours: u32,
}

impl Default for Lifecycle {
    /// One report to verify; 72 hours for vital providers, 14 days for others; escalate
    /// after 72 hours overdue.
    fn default() -> Self {
        Self {
            verify_after_reports: 1,
            deadline_hours_vital: 72,
            deadline_hours: 14 * 24,
            escalate_after_hours: 72,
        }
    }
}

/// One cell of the decision table: information class × TLP × recipient role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Case {
    /// Information class.
    pub class: InfoClass,
    /// TLP label.
    pub tlp: Tlp,
    /// Recipient role.
    pub role: Role,
}

impl Case {
    fn index(self) -> usize {
        // Our enums are declared in the order of `InfoClass::ALL` and `Role::ALL`.
        let (class, role) = (self.class as usize, self.role as usize);
        let tlp = match self.tlp {
            Tlp::Clear => 0,
            Tlp::Green => 1,
            Tlp::Amber => 2,
            Tlp::AmberStrict => 3,
            Tlp::Red => 4,
        };
        (class * TLPS.len() + tlp) * Role::ALL.len() + role
    }

    /// Every case, in table order: by class, then TLP, then role.
    pub fn all() -> impl Iterator<Item = Case> {
        ALL_CASES.into_iter()
    }
}

const CASES: usize = InfoClass::ALL.len() * TLPS.len() * Role::ALL.len();

/// Every case, in table order (an array, so that iterating is cheap in debug builds too).
const ALL_CASES: [Case; CASES] = {
    let mut out = [Case {
        class: InfoClass::OwnAssetFinding,
        tlp: Tlp::Clear,
        role: Role::VitalProvider,
    }; CASES];
    let mut i = 0;
    while i < CASES {
        out[i] = Case {
            class: InfoClass::ALL[i / (TLPS.len() * Role::ALL.len())],
            tlp: TLPS[i / Role::ALL.len() % TLPS.len()],
            role: Role::ALL[i % Role::ALL.len()],
        };
        i += 1;
    }
    out
};

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} × {} × {}", self.class, self.tlp, self.role)
    }
}

/// The table's mark for a case of a class the policy need not decide and does not.
const UNMANDATED: usize = usize::MAX;

/// What decides such a case: nothing goes out.
static NO_RULE: std::sync::LazyLock<RuleSpec> = std::sync::LazyLock::new(|| RuleSpec {
    name: "no-rule".into(),
    classes: vec![InfoClass::TakedownRequest],
    tlps: Vec::new(),
    roles: Vec::new(),
    form: Form::Nothing,
    basis: "the policy has no rule for this class, so nothing of it goes to anyone".into(),
    line: None,
});

/// A validated policy: every case decided exactly once.
#[derive(Debug, Clone)]
pub struct Policy {
    spec: PolicySpec,
    /// For each case (by [`Case::index`]), the first rule deciding it.
    table: Vec<usize>,
}

/// One thing wrong with a policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// The file is not TOML of the expected shape (toml's message names line and column).
    #[error("{0}")]
    Syntax(String),
    /// A class, TLP, role, form or kind name that does not exist.
    #[error("{}: unknown {field} {value:?}; use {expected}", at(rule, *line))]
    UnknownName {
        /// The rule (or `oktt` for the designations).
        rule: String,
        /// Its line.
        line: Option<usize>,
        /// Which field (`class`, `tlp`, `role`, `form`, `kinds`).
        field: &'static str,
        /// The unknown name.
        value: String,
        /// The names that exist.
        expected: String,
    },
    /// Rules give different forms for the same cases.
    #[error(
        "rules {} contradict each other for {} case(s), e.g. {}; make them disjoint",
        list_rules(rules),
        cases.len(),
        first_cases(cases)
    )]
    Contradiction {
        /// The rules involved and the form each gives.
        rules: Vec<(String, Form)>,
        /// The cases on which they disagree.
        cases: Vec<Case>,
    },
    /// Cases no rule decides.
    #[error(
        "no rule decides {class} × {role} at {}; add a rule or widen one",
        tlps.iter().map(|t| t.label()).collect::<Vec<_>>().join(", ")
    )]
    Undecided {
        /// Information class.
        class: InfoClass,
        /// Recipient role.
        role: Role,
        /// The TLP labels left undecided.
        tlps: Vec<Tlp>,
    },
    /// A form that makes no sense for a class (advisories whole or not at all, aggregates
    /// only pseudonymised).
    #[error(
        "{}: form {form} does not apply to {class}; use {}",
        at(rule, *line),
        class.allowed_forms().iter().map(|f| f.as_str()).collect::<Vec<_>>().join(" or ")
    )]
    FormNotAllowed {
        /// The rule.
        rule: String,
        /// Its line.
        line: Option<usize>,
        /// The class.
        class: InfoClass,
        /// The form it gives.
        form: Form,
    },
    /// Two rules with one name.
    #[error("rule name {rule:?} is used {count} times; names must be unique")]
    DuplicateName {
        /// The name.
        rule: String,
        /// How often.
        count: usize,
    },
    /// A rule with an empty name, basis or list.
    #[error("{}: {field} is empty", at(rule, *line))]
    Empty {
        /// The rule.
        rule: String,
        /// Its line.
        line: Option<usize>,
        /// Which field.
        field: &'static str,
    },
    /// A top-level setting out of range.
    #[error("setting {field}: {message}")]
    Setting {
        /// The setting.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
}

impl Problem {
    /// The names of the rules this problem is about.
    pub fn rules(&self) -> Vec<&str> {
        match self {
            Problem::UnknownName { rule, .. }
            | Problem::FormNotAllowed { rule, .. }
            | Problem::DuplicateName { rule, .. }
            | Problem::Empty { rule, .. } => vec![rule.as_str()],
            Problem::Contradiction { rules, .. } => rules.iter().map(|(r, _)| r.as_str()).collect(),
            Problem::Syntax(_) | Problem::Undecided { .. } | Problem::Setting { .. } => vec![],
        }
    }
}

fn at(rule: &str, line: Option<usize>) -> String {
    match line {
        Some(line) => format!("rule {rule:?} (line {line})"),
        None => format!("rule {rule:?}"),
    }
}

fn list_rules(rules: &[(String, Form)]) -> String {
    rules
        .iter()
        .map(|(r, f)| format!("{r:?} ({f})"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn first_cases(cases: &[Case]) -> String {
    let shown: Vec<String> = cases.iter().take(3).map(Case::to_string).collect();
    let more = if cases.len() > 3 { ", …" } else { "" };
    format!("{}{more}", shown.join(", "))
}

/// Why a policy could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// [`Policy::builtin`] was asked for a name it does not know.
    #[error("no built-in policy {0:?}; built-in policies are nl-2020 and nl-dtc-oktt")]
    UnknownBuiltin(String),
    /// The policy has problems; all of them are listed.
    #[error(
        "policy {policy} is invalid ({} problem(s)):\n  {}",
        problems.len(),
        problems.iter().map(Problem::to_string).collect::<Vec<_>>().join("\n  ")
    )]
    Invalid {
        /// The policy's name (or `?` when it could not be read).
        policy: String,
        /// Every problem found.
        problems: Vec<Problem>,
    },
}

impl PolicyError {
    /// The problems, if the policy was invalid.
    pub fn problems(&self) -> &[Problem] {
        match self {
            PolicyError::Invalid { problems, .. } => problems,
            PolicyError::UnknownBuiltin(_) => &[],
        }
    }
}

// ---- the file format -------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    name: String,
    #[serde(default)]
    description: String,
    retention_days: u32,
    min_count: u32,
    #[serde(default)]
    oktt: RawOktt,
    #[serde(default, rename = "rule")]
    rules: Vec<toml::Spanned<RawRule>>,
    #[serde(default)]
    lifecycle: Lifecycle,
    #[serde(default)]
    red: RawRed,
    #[serde(default)]
    messages: Messages,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRed {
    #[serde(default)]
    recipients: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawOktt {
    #[serde(default)]
    ids: Vec<String>,
    #[serde(default)]
    kinds: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: String,
    class: OneOrMany,
    tlp: OneOrMany,
    role: OneOrMany,
    form: String,
    basis: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn names(&self) -> Vec<&str> {
        match self {
            OneOrMany::One(s) => vec![s.as_str()],
            OneOrMany::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

/// Resolves a list of names (or `*`) against `all`, noting each unknown name.
fn resolve<T: Copy>(
    names: &OneOrMany,
    all: &[T],
    lookup: impl Fn(&str) -> Option<T>,
    known: &str,
    mut unknown: impl FnMut(&str, String),
) -> Vec<T> {
    let mut out = Vec::new();
    for name in names.names() {
        if name == "*" {
            out.extend_from_slice(all);
        } else if let Some(v) = lookup(name) {
            out.push(v);
        } else {
            unknown(name, format!("{known} or *"));
        }
    }
    out
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

impl Policy {
    /// Reads a policy from its TOML text. Every problem is reported, not only the first.
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        let raw: RawPolicy = toml::from_str(text).map_err(|e| PolicyError::Invalid {
            policy: "?".into(),
            problems: vec![Problem::Syntax(e.to_string().trim_end().to_string())],
        })?;
        let mut problems = Vec::new();
        let mut kinds = Vec::new();
        for kind in &raw.oktt.kinds {
            let parsed: Result<OrgKind, serde::de::value::Error> =
                OrgKind::deserialize(kind.as_str().into_deserializer());
            match parsed {
                Ok(k) => kinds.push(k),
                Err(_) => problems.push(Problem::UnknownName {
                    rule: "oktt".into(),
                    line: None,
                    field: "kinds",
                    value: kind.clone(),
                    expected: "organisation, cert, hoster, supervisor, dtc or national-csirt"
                        .into(),
                }),
            }
        }
        let names = |all: &[&str]| all.join(", ");
        let class_names = names(&InfoClass::ALL.map(InfoClass::as_str));
        let role_names = names(&Role::ALL.map(Role::as_str));
        let form_names = names(&Form::ALL.map(Form::as_str));
        let mut rules = Vec::new();
        for spanned in &raw.rules {
            let line = Some(line_of(text, spanned.span().start));
            let r = spanned.get_ref();
            let mut found = Vec::new();
            let classes = resolve(
                &r.class,
                &InfoClass::ALL,
                InfoClass::from_name,
                &class_names,
                |v, e| found.push(("class", v.to_string(), e)),
            );
            let tlps = resolve(
                &r.tlp,
                &TLPS,
                |s| s.parse().ok(),
                "CLEAR, GREEN, AMBER, AMBER+STRICT, RED",
                |v, e| found.push(("tlp", v.to_string(), e)),
            );
            let roles = resolve(&r.role, &Role::ALL, Role::from_name, &role_names, |v, e| {
                found.push(("role", v.to_string(), e))
            });
            let form = Form::from_name(&r.form);
            if form.is_none() {
                found.push(("form", r.form.clone(), form_names.clone()));
            }
            for (field, value, expected) in found {
                problems.push(Problem::UnknownName {
                    rule: r.name.clone(),
                    line,
                    field,
                    value,
                    expected,
                });
            }
            rules.push(RuleSpec {
                name: r.name.clone(),
                classes,
                tlps,
                roles,
                form: form.unwrap_or(Form::Nothing),
                basis: r.basis.clone(),
                line,
            });
        }
        let spec = PolicySpec {
            name: raw.name,
            description: raw.description,
            retention_days: raw.retention_days,
            min_count: raw.min_count,
            oktt: Designations {
                ids: raw.oktt.ids.into_iter().map(OrgId).collect(),
                kinds,
            },
            rules,
            lifecycle: raw.lifecycle,
            red_recipients: raw.red.recipients.into_iter().map(OrgId).collect(),
            messages: raw.messages,
        };
        Policy::check(spec, problems)
    }
}

impl Policy {
    /// Checks and compiles a policy given as data (what [`Policy::parse`] does after reading
    /// the names).
    pub fn new(spec: PolicySpec) -> Result<Policy, PolicyError> {
        Policy::check(spec, Vec::new())
    }

    fn check(spec: PolicySpec, mut problems: Vec<Problem>) -> Result<Policy, PolicyError> {
        let names_ok = problems.is_empty();
        if spec.retention_days == 0 {
            problems.push(Problem::Setting {
                field: "retention_days",
                message: "must be at least 1 (days raw findings are kept)".into(),
            });
        }
        if spec.min_count == 0 {
            problems.push(Problem::Setting {
                field: "min_count",
                message: "must be at least 1 (1 shows every count; 5 shows counts below 5 as <5)"
                    .into(),
            });
        }
        for (field, value, what) in [
            (
                "lifecycle.verify_after_reports",
                spec.lifecycle.verify_after_reports,
                "later reports without a finding before it counts as verified fixed",
            ),
            (
                "lifecycle.deadline_hours_vital",
                spec.lifecycle.deadline_hours_vital,
                "hours a vital provider has to fix a finding",
            ),
            (
                "lifecycle.deadline_hours",
                spec.lifecycle.deadline_hours,
                "hours an organisation has to fix a finding",
            ),
        ] {
            if value == 0 {
                problems.push(Problem::Setting {
                    field,
                    message: format!("must be at least 1 ({what})"),
                });
            }
        }
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for rule in &spec.rules {
            *counts.entry(rule.name.as_str()).or_default() += 1;
            // With a misspelt name a list may be empty for that reason alone.
            let lists_ok = names_ok;
            for (field, empty) in [
                ("name", rule.name.trim().is_empty()),
                ("basis", rule.basis.trim().is_empty()),
                ("class", lists_ok && rule.classes.is_empty()),
                ("tlp", lists_ok && rule.tlps.is_empty()),
                ("role", lists_ok && rule.roles.is_empty()),
            ] {
                if empty {
                    problems.push(Problem::Empty {
                        rule: rule.name.clone(),
                        line: rule.line,
                        field,
                    });
                }
            }
            for &class in &rule.classes {
                if !class.allowed_forms().contains(&rule.form) {
                    problems.push(Problem::FormNotAllowed {
                        rule: rule.name.clone(),
                        line: rule.line,
                        class,
                        form: rule.form,
                    });
                }
            }
        }
        for (name, count) in counts {
            if count > 1 {
                problems.push(Problem::DuplicateName {
                    rule: name.to_string(),
                    count,
                });
            }
        }

        // The first rule deciding each case, and the cases on which a later rule disagrees.
        let mut first: Vec<Option<usize>> = vec![None; CASES];
        let mut disputed = Vec::new();
        for (i, rule) in spec.rules.iter().enumerate() {
            for &class in &rule.classes {
                for &tlp in &rule.tlps {
                    for &role in &rule.roles {
                        let case = Case { class, tlp, role };
                        let slot = &mut first[case.index()];
                        match *slot {
                            None => *slot = Some(i),
                            Some(f) if spec.rules[f].form != rule.form => disputed.push(case),
                            Some(_) => {}
                        }
                    }
                }
            }
        }
        // Contradictions, grouped by the set of rules deciding the disputed cases.
        disputed.sort();
        disputed.dedup();
        let mut conflicts: BTreeMap<Vec<usize>, Vec<Case>> = BTreeMap::new();
        for case in disputed {
            let rules: Vec<usize> = (0..spec.rules.len())
                .filter(|&i| spec.rules[i].cases().any(|c| c == case))
                .collect();
            conflicts.entry(rules).or_default().push(case);
        }
        for (rules, cases) in conflicts {
            problems.push(Problem::Contradiction {
                rules: rules
                    .iter()
                    .map(|&r| (spec.rules[r].name.clone(), spec.rules[r].form))
                    .collect(),
                cases,
            });
        }
        let mut undecided: BTreeMap<(InfoClass, Role), Vec<Tlp>> = BTreeMap::new();
        for (i, case) in Case::all().enumerate() {
            if first[i].is_some() {
                continue;
            }
            if !case.class.must_be_decided() {
                // a class the policy may leave out: nothing of it goes to anyone
                first[i] = Some(UNMANDATED);
                continue;
            }
            undecided
                .entry((case.class, case.role))
                .or_default()
                .push(case.tlp);
        }
        // A misspelt name leaves holes that are not worth reporting twice.
        if names_ok {
            for ((class, role), tlps) in undecided {
                problems.push(Problem::Undecided { class, role, tlps });
            }
        }
        if !problems.is_empty() {
            return Err(PolicyError::Invalid {
                policy: spec.name,
                problems,
            });
        }
        let table = first.into_iter().map(|r| r.unwrap_or(0)).collect();
        Ok(Policy { spec, table })
    }

    /// A policy shipped with baken: `nl-2020` or `nl-dtc-oktt`.
    pub fn builtin(name: &str) -> Result<Policy, PolicyError> {
        let text = Policy::builtin_text(name)
            .ok_or_else(|| PolicyError::UnknownBuiltin(name.to_string()))?;
        Policy::parse(text)
    }

    /// The TOML text of a shipped policy.
    pub fn builtin_text(name: &str) -> Option<&'static str> {
        BUILTIN.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
    }

    /// The names of the shipped policies.
    pub fn builtin_names() -> impl Iterator<Item = &'static str> {
        BUILTIN.iter().map(|(n, _)| *n)
    }

    /// The rule deciding a case. With overlapping rules that agree, the first in file order.
    pub fn rule_for(&self, class: InfoClass, tlp: Tlp, role: Role) -> &RuleSpec {
        match self.table[Case { class, tlp, role }.index()] {
            UNMANDATED => &NO_RULE,
            i => &self.spec.rules[i],
        }
    }

    /// The policy's name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// What situation the policy describes.
    pub fn description(&self) -> &str {
        &self.spec.description
    }

    /// Days raw findings are kept.
    pub fn retention_days(&self) -> u32 {
        self.spec.retention_days
    }

    /// The small-count threshold k of aggregates.
    pub fn min_count(&self) -> u32 {
        self.spec.min_count
    }

    /// How findings are followed until they are fixed.
    pub fn lifecycle(&self) -> Lifecycle {
        self.spec.lifecycle
    }

    /// The recipients the policy names for every TLP:RED item.
    pub fn red_recipients(&self) -> &[OrgId] {
        &self.spec.red_recipients
    }

    /// How messages are written: the default language.
    pub fn messages(&self) -> Messages {
        self.spec.messages
    }

    /// OKTT designations.
    pub fn oktt(&self) -> &Designations {
        &self.spec.oktt
    }

    /// The rules, in file order.
    pub fn rules(&self) -> &[RuleSpec] {
        &self.spec.rules
    }

    /// The validated document.
    pub fn spec(&self) -> &PolicySpec {
        &self.spec
    }
}
