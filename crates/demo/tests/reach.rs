//! The demo compares the shipped policies by their reach, planned without the plan's decisions
//! and digests: that reach must be exactly the affected parties of the full plan. Its notify
//! round audits the decisions as they are made, without keeping them: exactly the plan's.

use baken_app::App;
use baken_deliver::Outbox;
use baken_demo::{DemoOptions, Params, run_citrix};
use baken_model::Tlp;
use baken_pipeline::NoProgress;
use baken_pipeline::plan::Coverage;

#[test]
fn a_policys_reach_is_the_affected_parties_of_its_full_plan() {
    let dir = tempfile::tempdir().unwrap();
    let options = DemoOptions {
        params: Params {
            orgs: 600,
            seed: 2020,
        },
        out: dir.path().join("out"),
        db_dir: dir.path().join("db"),
        policy: "nl-2020".into(),
    };
    let mut outbox = Outbox::new(options.out.join("outbox")).unwrap();
    let summary = run_citrix(&options, &mut outbox, &|_, _| Box::new(NoProgress)).unwrap();
    let mut app = App::open_at(
        &options.db_dir,
        &baken_store::StoreUrl::default_in(&options.db_dir),
    )
    .unwrap();
    // the round audited each decision of its plan as it was made, once
    let planned = app
        .plan(&summary.incident, "nl-2020", Tlp::Amber)
        .unwrap()
        .decisions;
    let mut audited: Vec<String> = app
        .store()
        .audit_log()
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "decision")
        .map(|e| e.subject)
        .collect();
    let mut expected: Vec<String> = planned
        .iter()
        .map(|d| {
            format!(
                "{}/{}/{}",
                summary.incident,
                d.subject.key(),
                d.recipient.key()
            )
        })
        .collect();
    audited.sort();
    expected.sort();
    assert!(expected.len() > 100, "{} decisions", expected.len());
    assert_eq!(audited, expected);

    // findings named by a host name only, of organisations the registry knows by domain:
    // they have no address to narrow a recipient's share by
    let hosts = dir.path().join("hosts.jsonl");
    let host = |n: u32| {
        format!(
            "{{\"feed.name\":\"scan-citrix\",\"time.source\":\"2020-01-10T06:00:00+00:00\",\
             \"source.fqdn\":\"gateway.org-{n}.example\",\"source.port\":443,\
             \"protocol.transport\":\"tcp\",\"classification.taxonomy\":\"vulnerable\",\
             \"classification.type\":\"vulnerable-system\",\
             \"classification.identifier\":\"citrix\",\
             \"product.vulnerabilities\":\"{}\"}}\n",
            summary.incident
        )
    };
    std::fs::write(&hosts, (0..40).map(host).collect::<String>()).unwrap();
    let ingested = app
        .ingest(
            &baken_pipeline::ingest::Input {
                path: hosts,
                feed: baken_feeds::FeedKind::Intelmq,
            },
            &baken_feeds::Options::default(),
            &baken_pipeline::ingest::Settings::default(),
            &NoProgress,
        )
        .unwrap();
    assert_eq!(ingested.stored, 40, "{ingested:?}");
    let (mut reached, mut unreachable, mut unregistered) = (0, 0, 0);
    for policy in baken_policy::Policy::builtin_names() {
        for tlp in [Tlp::Clear, Tlp::Amber, Tlp::AmberStrict, Tlp::Red] {
            let plan = app.plan(&summary.incident, policy, tlp).unwrap();
            let reach = app.reach(&summary.incident, policy, tlp).unwrap();
            assert_eq!(reach.len(), plan.affected.len(), "{policy} {tlp:?}");
            for (r, p) in reach.iter().zip(&plan.affected) {
                assert_eq!(
                    serde_json::to_value(r).unwrap(),
                    serde_json::to_value(p).unwrap(),
                    "{policy} {tlp:?}, {}",
                    p.id
                );
            }
            for a in &reach {
                match a.coverage {
                    Coverage::Reached { .. } => reached += 1,
                    Coverage::Unreachable { .. } => unreachable += 1,
                }
                unregistered += usize::from(!a.registered);
            }
        }
    }
    // the comparison covers parties told and not told, in the registry and not
    assert!(
        reached > 0 && unreachable > 0 && unregistered > 0,
        "{reached} reached, {unreachable} unreachable, {unregistered} unregistered"
    );
}
