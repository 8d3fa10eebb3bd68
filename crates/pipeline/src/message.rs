//! The words of notify's messages: templates per language, message kind and recipient kind,
//! filled in with facts that `notify` computes.
//!
//! The templates are [minijinja](https://docs.rs/minijinja) text files under
//! `crates/pipeline/templates/<language>/`, embedded in the binary at compile time:
//!
//! | file | what it writes |
//! |---|---|
//! | `subject.txt` | the subject line |
//! | `message.txt` | the body: the exercise line (for a drill), TLP line, greeting, what was found, why it matters, what to do, why you, the TLP's sharing rule and the reference |
//! | `kind/<kind>.txt` | the opening paragraph of a `first` notice (none), `follow-up`, `reminder`, `escalation` or `compromise` check |
//! | `recipient/<audience>.txt` | macros for what differs by recipient: `own`, `cert`, `hoster`, `dtc`, `counts` ([`Audience`]) |
//! | `phrases.txt` | macros both share: counts with their singular or plural, what the systems are (vulnerable to …), the vulnerability's name, scores, dates |
//!
//! Code computes every fact — counts, which addresses, which rules — into a [`MessageContext`]
//! and the templates only choose words, so a change of wording or a new language never
//! touches `notify`. Undefined variables are errors (minijinja's strict mode): a template
//! that names a fact the context lacks fails the tests, not a recipient.
//!
//! ```
//! use baken_model::Language;
//! use baken_pipeline::message::{self, Audience, MessageContext};
//!
//! let mut facts = MessageContext::example(Language::Nl, "first", Audience::Own);
//! facts.findings = 1;
//! let subject = message::subject(&facts).unwrap();
//! assert!(subject.starts_with("[TLP:AMBER] [baken#7] CVE-2019-19781 in Citrix ADC: 1 systeem van"));
//! ```

use std::sync::LazyLock;

use baken_model::Language;
use minijinja::syntax::SyntaxConfig;
use minijinja::{Environment, UndefinedBehavior, Value};
use serde::Serialize;

use crate::notify::AdvisoryContext;

/// Every template, by the name templates use to include or import it, with its text.
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "en/subject.txt",
        include_str!("../templates/en/subject.txt"),
    ),
    (
        "en/message.txt",
        include_str!("../templates/en/message.txt"),
    ),
    (
        "en/phrases.txt",
        include_str!("../templates/en/phrases.txt"),
    ),
    (
        "en/kind/first.txt",
        include_str!("../templates/en/kind/first.txt"),
    ),
    (
        "en/kind/follow-up.txt",
        include_str!("../templates/en/kind/follow-up.txt"),
    ),
    (
        "en/kind/reminder.txt",
        include_str!("../templates/en/kind/reminder.txt"),
    ),
    (
        "en/kind/escalation.txt",
        include_str!("../templates/en/kind/escalation.txt"),
    ),
    (
        "en/kind/compromise.txt",
        include_str!("../templates/en/kind/compromise.txt"),
    ),
    (
        "en/recipient/own.txt",
        include_str!("../templates/en/recipient/own.txt"),
    ),
    (
        "en/recipient/cert.txt",
        include_str!("../templates/en/recipient/cert.txt"),
    ),
    (
        "en/recipient/hoster.txt",
        include_str!("../templates/en/recipient/hoster.txt"),
    ),
    (
        "en/recipient/dtc.txt",
        include_str!("../templates/en/recipient/dtc.txt"),
    ),
    (
        "en/recipient/counts.txt",
        include_str!("../templates/en/recipient/counts.txt"),
    ),
    (
        "nl/subject.txt",
        include_str!("../templates/nl/subject.txt"),
    ),
    (
        "nl/message.txt",
        include_str!("../templates/nl/message.txt"),
    ),
    (
        "nl/phrases.txt",
        include_str!("../templates/nl/phrases.txt"),
    ),
    (
        "nl/kind/first.txt",
        include_str!("../templates/nl/kind/first.txt"),
    ),
    (
        "nl/kind/follow-up.txt",
        include_str!("../templates/nl/kind/follow-up.txt"),
    ),
    (
        "nl/kind/reminder.txt",
        include_str!("../templates/nl/kind/reminder.txt"),
    ),
    (
        "nl/kind/escalation.txt",
        include_str!("../templates/nl/kind/escalation.txt"),
    ),
    (
        "nl/kind/compromise.txt",
        include_str!("../templates/nl/kind/compromise.txt"),
    ),
    (
        "nl/recipient/own.txt",
        include_str!("../templates/nl/recipient/own.txt"),
    ),
    (
        "nl/recipient/cert.txt",
        include_str!("../templates/nl/recipient/cert.txt"),
    ),
    (
        "nl/recipient/hoster.txt",
        include_str!("../templates/nl/recipient/hoster.txt"),
    ),
    (
        "nl/recipient/dtc.txt",
        include_str!("../templates/nl/recipient/dtc.txt"),
    ),
    (
        "nl/recipient/counts.txt",
        include_str!("../templates/nl/recipient/counts.txt"),
    ),
];

/// The message kinds, as `MessageContext::kind` names them (and `kind/<kind>.txt`).
pub const KINDS: [&str; 5] = ["first", "follow-up", "reminder", "escalation", "compromise"];

/// Who a message speaks to, which decides how it names the systems and what it asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Audience {
    /// The organisation itself, about its own systems.
    Own,
    /// A CERT about organisations it represents; also any other recipient told about other
    /// organisations' systems that is neither a hoster nor the DTC (a recipient a source
    /// named for TLP:RED, a peer CSIRT).
    Cert,
    /// A hosting provider about addresses in its network, its customers' or those of
    /// holders nobody registered.
    Hoster,
    /// The Digital Trust Center, which represents nobody and passes findings on.
    Dtc,
    /// A recipient of sector counts only (a supervisor; the DTC or a CERT where the policy
    /// allows no more).
    Counts,
}

impl Audience {
    /// Every audience.
    pub const ALL: [Audience; 5] = [
        Audience::Own,
        Audience::Cert,
        Audience::Hoster,
        Audience::Dtc,
        Audience::Counts,
    ];

    /// The name of its template, `recipient/<name>.txt`.
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Own => "own",
            Audience::Cert => "cert",
            Audience::Hoster => "hoster",
            Audience::Dtc => "dtc",
            Audience::Counts => "counts",
        }
    }
}

/// The facts of one message: everything its templates may say, computed by `notify`.
/// Counts are numbers, so that each language chooses its own singular or plural.
#[derive(Debug, Clone, Serialize)]
pub struct MessageContext {
    /// The language it is written in.
    pub language: Language,
    /// The message kind: one of [`KINDS`].
    pub kind: &'static str,
    /// Who it speaks to.
    pub audience: Audience,
    /// Its TLP label as FIRST writes it, `TLP:AMBER`; never translated.
    pub tlp: String,
    /// The recipient's name.
    pub recipient: String,
    /// The message key (`Reference:`).
    pub key: String,
    /// The ticket reference, `[baken#12]`, when the exchange has one.
    pub ticket: Option<String>,
    /// The incident as a reader knows it: the advisory's id as the advisory writes it, else
    /// the incident id upper-cased (`CVE-2019-19781`).
    pub incident: String,
    /// The incident id as stored (lower case), for incidents that are no vulnerability.
    pub incident_id: String,
    /// Whether the incident is a vulnerability (a CVE, or one an advisory describes).
    pub cve: bool,
    /// Whether the findings are lookalike domain names (the `lookalike` incident).
    #[serde(default)]
    pub lookalike: bool,
    /// The CVEs of the incident's advisory (empty without one).
    pub cves: Vec<String>,
    /// The affected product, as the advisory names it.
    pub product: Option<String>,
    /// Whether the incident is one of `cves` (else the subject names it after them).
    pub incident_in_cves: bool,
    /// Findings it names specifically (0: counts only).
    pub findings: usize,
    /// Whether they come on top of findings told before (a follow-up: "1 more system").
    pub more: bool,
    /// Organisations those findings are about.
    pub organisations: usize,
    /// Whether every finding's version could not be compared ("possibly vulnerable").
    pub uncertain: bool,
    /// Findings confirmed by scans.
    pub confirmed: usize,
    /// Findings declared in an inventory.
    pub declared: usize,
    /// Findings in an inventory whose version could not be compared.
    pub unknown: usize,
    /// Whether the findings are of more than one of those three kinds.
    pub mixed: bool,
    /// The findings listed in the text, per organisation.
    pub parts: Vec<PartContext>,
    /// Sector counts.
    pub aggregates: Vec<AggregateContext>,
    /// The small-count threshold of the counts.
    pub min_count: u32,
    /// The advisory behind the incident.
    pub advisory: Option<AdvisoryContext>,
    /// Messages of the exchange delivered before this one.
    pub earlier: usize,
    /// Findings the recipient may see that are still open, this message's included.
    pub still_open: usize,
    /// The policy's deadline for vital providers, in hours.
    pub deadline_hours_vital: u32,
    /// The policy's deadline for other organisations, in hours.
    pub deadline_hours: u32,
    /// Hours overdue after which the policy escalates.
    pub escalate_after_hours: u32,
    /// When exploitation of the vulnerability began, if known.
    pub exploited_since: Option<Moment>,
    /// Why the findings are the recipient's own (attribution reasons; own messages only).
    pub reasons: Vec<String>,
    /// The rules it is shared under, sorted.
    pub bases: Vec<BasisContext>,
    /// The sharing policy's name.
    pub policy: String,
    /// The exercise the message belongs to, when it is one (see [`crate::exercise`]): the
    /// subject then begins `[EXERCISE]` and the body's first line says so.
    pub exercise: Option<String>,
}

/// The findings of one organisation as the text lists them.
#[derive(Debug, Clone, Serialize)]
pub struct PartContext {
    /// How the text names the organisation; none when it is the recipient itself.
    pub label: Option<String>,
    /// The first ten systems.
    pub systems: Vec<SystemContext>,
    /// How many more the attachment lists.
    pub more: usize,
}

/// One system as the text lists it.
#[derive(Debug, Clone, Serialize)]
pub struct SystemContext {
    /// `198.18.4.7:443 (vpn.example)`: address, port and reverse DNS name where known.
    pub address: String,
    /// Whether the installed version could not be compared.
    pub unsure: bool,
}

/// The counts of one sector.
#[derive(Debug, Clone, Serialize)]
pub struct AggregateContext {
    /// The sector; none for organisations without one.
    pub sector: Option<String>,
    /// Affected organisations, as published: `12`, or `<5` when suppressed.
    pub organisations: String,
    /// Findings, as published.
    pub findings: String,
}

/// One rule a message is shared under.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct BasisContext {
    /// The rule's name (`-` when none decided).
    pub rule: String,
    /// The form it allows (`full`, `own-assets`, …).
    pub form: String,
    /// Its legal basis, as the policy quotes it.
    pub basis: String,
}

/// A moment, as ISO 8601 and in parts for languages that write dates out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Moment {
    /// `2020-01-10T00:00:00Z`.
    pub iso: String,
    /// Year.
    pub year: i32,
    /// Month, 1 to 12.
    pub month: u32,
    /// Day of the month.
    pub day: u32,
    /// `HH:MM`, UTC.
    pub time: String,
}

impl Moment {
    /// The moment of `secs` Unix seconds, `iso` written as the store writes times.
    pub fn of(secs: i64) -> Moment {
        use chrono::{Datelike, Timelike};
        let t = chrono::DateTime::from_timestamp(secs, 0).unwrap_or_default();
        Moment {
            iso: baken_store::keys::format_time(secs),
            year: t.year(),
            month: t.month(),
            day: t.day(),
            time: format!("{:02}:{:02}", t.hour(), t.minute()),
        }
    }
}

/// A template failed to render: a bug in a template or in the facts given to it.
#[derive(Debug, thiserror::Error)]
#[error("message template {template}: {source:#}")]
pub struct TemplateError {
    /// The template.
    pub template: String,
    /// What minijinja reported (with the line).
    #[source]
    pub source: minijinja::Error,
}

static ENVIRONMENT: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_syntax(
        SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true)
            .build()
            .expect("the default delimiters"),
    );
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // plain text: nothing is escaped
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    for (name, text) in TEMPLATES {
        env.add_template(name, text)
            .unwrap_or_else(|e| panic!("message template {name} does not parse: {e:#}"));
    }
    env
});

fn render(language: Language, what: &str, facts: &MessageContext) -> Result<String, TemplateError> {
    let template = format!("{}/{what}", language.code());
    ENVIRONMENT
        .get_template(&template)
        .and_then(|t| t.render(Value::from(minijinja::value::Serde(facts))))
        .map_err(|source| TemplateError { template, source })
}

/// The subject line of a message.
pub fn subject(facts: &MessageContext) -> Result<String, TemplateError> {
    let text = render(facts.language, "subject.txt", facts)?;
    Ok(text.trim_end_matches('\n').to_string())
}

/// The body text of a message, every line ending in a line feed.
pub fn body(facts: &MessageContext) -> Result<String, TemplateError> {
    render(facts.language, "message.txt", facts)
}

impl MessageContext {
    /// A message about CVE-2019-19781 in Citrix ADC with every fact filled in: one system
    /// of the recipient's own, ticket 7, an advisory with a score and a remediation. For
    /// examples and tests; change the fields a case needs.
    pub fn example(language: Language, kind: &'static str, audience: Audience) -> Self {
        use crate::notify::{Remediation, Score};
        MessageContext {
            language,
            kind,
            audience,
            tlp: "TLP:AMBER".into(),
            recipient: "Example Zorg BV".into(),
            key: "cve-2019-19781.0123456789abcdef".into(),
            ticket: Some("[baken#7]".into()),
            incident: "CVE-2019-19781".into(),
            incident_id: "cve-2019-19781".into(),
            cve: true,
            lookalike: false,
            cves: vec!["CVE-2019-19781".into()],
            product: Some("Citrix ADC".into()),
            incident_in_cves: true,
            findings: 0,
            more: kind == "follow-up",
            organisations: 1,
            uncertain: false,
            confirmed: 1,
            declared: 0,
            unknown: 0,
            mixed: false,
            parts: Vec::new(),
            aggregates: Vec::new(),
            min_count: 5,
            advisory: Some(AdvisoryContext {
                id: "CVE-2019-19781".into(),
                title: Some("Citrix ADC and Gateway path traversal".into()),
                publisher: Some("Citrix".into()),
                cves: vec!["CVE-2019-19781".into()],
                score: Some(Score {
                    version: Some("CVSS v3.1".into()),
                    base_score: "9.8".into(),
                    severity: "CRITICAL".into(),
                    vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H".into(),
                }),
                remediations: vec![Remediation {
                    category: "vendor_fix".into(),
                    details: "upgrade to 13.0.47.24".into(),
                    url: Some("https://support.citrix.example/CTX267027".into()),
                }],
                detection: vec!["Indicators of compromise <https://ioc.example/ctx>".into()],
                product: Some("Citrix ADC".into()),
            }),
            earlier: usize::from(kind != "first"),
            still_open: 1,
            deadline_hours_vital: 72,
            deadline_hours: 336,
            escalate_after_hours: 72,
            exploited_since: Some(Moment::of(1_578_614_400)),
            reasons: Vec::new(),
            bases: vec![BasisContext {
                rule: "own-findings".into(),
                form: "own-assets".into(),
                basis: "Wbni art. 3".into(),
            }],
            policy: "nl-2020".into(),
            exercise: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn system(address: &str) -> SystemContext {
        SystemContext {
            address: address.into(),
            unsure: false,
        }
    }

    /// A fixed message of `kind` to `audience`, with what such a message carries.
    fn facts(language: Language, kind: &'static str, audience: Audience) -> MessageContext {
        let mut f = MessageContext::example(language, kind, audience);
        if kind == "follow-up" {
            f.earlier = 2;
            f.still_open = 3;
        }
        match audience {
            Audience::Own => {
                f.findings = 2;
                f.confirmed = 2;
                f.parts = vec![PartContext {
                    label: None,
                    systems: vec![
                        system("198.18.4.7:443 (vpn.zorg.example)"),
                        system("198.18.4.8:443"),
                    ],
                    more: 0,
                }];
                f.reasons = vec![
                    "198.18.4.7 is in 198.18.4.0/24, registered to org-17 (Example Zorg BV)".into(),
                ];
            }
            Audience::Cert => {
                f.recipient = "Z-CERT".into();
                f.findings = 3;
                f.organisations = 2;
                f.confirmed = 2;
                f.unknown = 1;
                f.mixed = true;
                f.parts = vec![
                    PartContext {
                        label: Some("Example Zorg BV (org-17)".into()),
                        systems: vec![system("198.18.4.7:443"), system("198.18.4.8:443")],
                        more: 0,
                    },
                    PartContext {
                        label: Some("Example Kliniek (org-18)".into()),
                        systems: vec![SystemContext {
                            address: "198.18.5.1:443".into(),
                            unsure: true,
                        }],
                        more: 0,
                    },
                ];
                f.aggregates = vec![AggregateContext {
                    sector: Some("health".into()),
                    organisations: "<5".into(),
                    findings: "<5".into(),
                }];
                f.bases[0] = BasisContext {
                    rule: "cert-constituency".into(),
                    form: "full".into(),
                    basis: "Wbni art. 3(1)(b): CERTs of the LDS".into(),
                };
            }
            Audience::Hoster => {
                f.recipient = "Example Hosting BV".into();
                f.findings = 1;
                f.parts = vec![PartContext {
                    label: Some("unregistered holders in Example Hosting BV's network".into()),
                    systems: vec![system("198.19.0.9:443")],
                    more: 0,
                }];
                f.bases[0].rule = "hoster-own-networks".into();
            }
            Audience::Dtc => {
                f.recipient = "Digital Trust Center".into();
                f.findings = 12;
                f.organisations = 1;
                f.parts = vec![PartContext {
                    label: Some("Example Bakkerij (org-90)".into()),
                    systems: (1..=10)
                        .map(|i| system(&format!("198.18.9.{i}:443")))
                        .collect(),
                    more: 2,
                }];
                f.bases[0].rule = "dtc-oktt".into();
                f.bases[0].form = "full".into();
            }
            Audience::Counts => {
                f.recipient = "Inspectie Gezondheidszorg en Jeugd".into();
                f.findings = 0;
                f.organisations = 0;
                f.confirmed = 0;
                f.aggregates = vec![
                    AggregateContext {
                        sector: Some("health".into()),
                        organisations: "12".into(),
                        findings: "15".into(),
                    },
                    AggregateContext {
                        sector: None,
                        organisations: "1".into(),
                        findings: "1".into(),
                    },
                ];
                f.bases.clear();
                f.min_count = 1;
            }
        }
        f
    }

    fn rendered(f: &MessageContext) -> String {
        let subject = subject(f).unwrap_or_else(|e| panic!("{e}"));
        let body = body(f).unwrap_or_else(|e| panic!("{e}"));
        format!("Subject: {subject}\n\n{body}")
    }

    #[test]
    fn every_kind_for_every_recipient_in_every_language() {
        for language in Language::ALL {
            for kind in KINDS {
                for audience in Audience::ALL {
                    let name = format!("{language}-{kind}-{}", audience.as_str());
                    insta::assert_snapshot!(name, rendered(&facts(language, kind, audience)));
                }
            }
        }
    }

    #[test]
    fn without_an_advisory_and_for_what_is_no_vulnerability() {
        for language in Language::ALL {
            let mut f = facts(language, "first", Audience::Own);
            f.advisory = None;
            f.cves.clear();
            f.product = None;
            f.incident_in_cves = false;
            insta::assert_snapshot!(format!("{language}-no-advisory"), rendered(&f));
            f.cve = false;
            f.incident = "OPEN-RDP".into();
            f.incident_id = "open-rdp".into();
            f.ticket = None;
            f.findings = 1;
            f.parts[0].systems.truncate(1);
            insta::assert_snapshot!(format!("{language}-not-a-vulnerability"), rendered(&f));
        }
    }

    #[test]
    fn an_exercise_says_so_in_the_subject_and_the_first_line() {
        for language in Language::ALL {
            let mut f = facts(language, "first", Audience::Own);
            // as notify writes it: the exercise's advisory, which names no CVE
            f.exercise = Some("citrix1".into());
            f.incident = "EXERCISE-CITRIX1-CVE-2019-19781".into();
            f.incident_id = "exercise-citrix1-cve-2019-19781".into();
            f.cves.clear();
            f.incident_in_cves = false;
            f.exploited_since = None;
            let advisory = f.advisory.as_mut().unwrap();
            advisory.id = f.incident.clone();
            advisory.title = Some("EXERCISE citrix1: Citrix ADC path traversal".into());
            advisory.publisher = Some("baken exercise".into());
            advisory.cves.clear();
            let subject = subject(&f).unwrap();
            assert!(subject.starts_with("[EXERCISE] [TLP:AMBER] "), "{subject}");
            let body = body(&f).unwrap();
            assert!(body.starts_with("EXERCISE citrix1: "), "{body}");
            insta::assert_snapshot!(format!("{language}-exercise"), rendered(&f));
        }
    }

    #[test]
    fn counts_are_singular_or_plural_in_both_languages() {
        let mut f = facts(Language::Nl, "follow-up", Audience::Cert);
        f.findings = 1;
        f.organisations = 1;
        f.still_open = 1;
        f.earlier = 1;
        let text = rendered(&f);
        assert!(
            text.contains("nog 1 systeem van 1 organisatie die u"),
            "{text}"
        );
        assert!(text.contains("volgt op ons eerdere bericht over"), "{text}");
        assert!(
            text.contains("is nog niet bekend dat het verholpen is"),
            "{text}"
        );
        assert!(text.contains("gevonden dat kwetsbaar is voor"), "{text}");
        f.language = Language::En;
        let text = rendered(&f);
        assert!(
            text.contains("1 more system of 1 organisation you"),
            "{text}"
        );
        assert!(text.contains("our earlier message about"), "{text}");
    }

    #[test]
    fn the_tlp_line_keeps_the_label_and_english_quotes_first() {
        use baken_model::Tlp;
        for tlp in [
            Tlp::Clear,
            Tlp::Green,
            Tlp::Amber,
            Tlp::AmberStrict,
            Tlp::Red,
        ] {
            for language in Language::ALL {
                let mut f = facts(language, "first", Audience::Own);
                f.tlp = tlp.label().into();
                let text = body(&f).unwrap();
                assert!(text.starts_with(&format!("{}\n", tlp.label())), "{text}");
                let is = if language == Language::En {
                    "This message is"
                } else {
                    "Dit bericht is"
                };
                assert!(text.contains(&format!("{is} {}. ", tlp.label())), "{text}");
                if language == Language::En {
                    assert!(text.contains(tlp.sharing_rule()), "{text}");
                }
                assert!(
                    subject(&f)
                        .unwrap()
                        .starts_with(&format!("[{}] ", tlp.label()))
                );
            }
        }
    }

    #[test]
    fn an_undefined_variable_fails_instead_of_rendering_empty() {
        let mut facts = serde_json::to_value(facts(Language::En, "first", Audience::Own)).unwrap();
        facts.as_object_mut().unwrap().remove("recipient");
        for language in Language::ALL {
            let template = format!("{language}/message.txt");
            let err = ENVIRONMENT
                .get_template(&template)
                .unwrap()
                .render(Value::from(minijinja::value::Serde(&facts)))
                .unwrap_err();
            assert_eq!(err.kind(), minijinja::ErrorKind::UndefinedError, "{err:#}");
        }
    }

    #[test]
    fn every_template_is_embedded_once_and_every_kind_and_audience_has_one() {
        let names: Vec<&str> = TEMPLATES.iter().map(|(n, _)| *n).collect();
        for language in Language::ALL {
            for kind in KINDS {
                assert!(names.contains(&format!("{language}/kind/{kind}.txt").as_str()));
            }
            for audience in Audience::ALL {
                let name = format!("{language}/recipient/{}.txt", audience.as_str());
                assert!(names.contains(&name.as_str()), "{name}");
            }
        }
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len());
        // the same files for every language
        let en: Vec<&str> = names.iter().filter_map(|n| n.strip_prefix("en/")).collect();
        let nl: Vec<&str> = names.iter().filter_map(|n| n.strip_prefix("nl/")).collect();
        assert_eq!(en, nl);
    }
}
