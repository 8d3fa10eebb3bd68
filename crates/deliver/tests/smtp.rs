//! SMTP delivery against a real server (aiosmtpd) on 127.0.0.1.

use std::time::{Duration, UNIX_EPOCH};

use baken_deliver::testing::{SinkOptions, SmtpSink};
use baken_deliver::{
    Attachment, DeliverError, OutgoingMessage, Smtp, Stage, Transport, header, render,
};
use baken_model::Tlp;

fn msg() -> OutgoingMessage {
    OutgoingMessage {
        key: "cve-2019-19781--org-17--a1b2c3".into(),
        from: "baken NCSC <baken@ncsc.example>".into(),
        to: vec!["abuse@org17.example".into(), "soc@org17.example".into()],
        subject: "[TLP:AMBER] Citrix ADC – hôtes vulnérables".into(),
        text: "TLP:AMBER\n\nDétails en pièce jointe.\n".into(),
        attachments: vec![Attachment::csv("findings.csv", b"ip\n192.0.2.1\n".to_vec())],
        headers: vec![header::tlp(Tlp::Amber)],
        date: Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
        openpgp: None,
    }
}

/// Connects to `url` (which must name the sink), delivers `msg()`, returns the outcome.
fn send(url: &str) -> Result<baken_deliver::Receipt, DeliverError> {
    Smtp::from_url(url).unwrap().deliver(&msg())
}

#[test]
fn plain_smtp_delivers_the_rendered_bytes() {
    let sink = SmtpSink::start(SinkOptions::default());
    let receipt = send(&format!("{}?tls=none&helo=test.example", sink.url())).unwrap();
    assert_eq!(
        receipt.message_id,
        "<cve-2019-19781--org-17--a1b2c3@ncsc.example>"
    );
    assert_eq!(
        receipt.destination,
        format!("smtp://127.0.0.1:{} in plain text", sink.port)
    );
    assert!(!receipt.already_delivered);

    let received = sink.wait_for(1, Duration::from_secs(10));
    assert_eq!(received.len(), 1);
    let got = &received[0];
    assert_eq!(got.envelope.mail_from, "baken@ncsc.example");
    assert_eq!(
        got.envelope.rcpt_tos,
        ["abuse@org17.example", "soc@org17.example"]
    );
    assert_eq!(got.envelope.auth_user, None);
    assert!(!got.envelope.starttls);
    assert!(!got.envelope.tls);
    assert_eq!(
        got.raw,
        render(&msg()).unwrap(),
        "the relay gets exactly the outbox bytes"
    );
}

/// Regression: a relay without STARTTLS used to get the message in plain text under the
/// default `tls=starttls`, while `describe` said `tls=starttls`.
#[test]
fn a_relay_without_starttls_is_refused_unless_the_url_says_tls_none() {
    let sink = SmtpSink::start(SinkOptions::default());
    for query in ["?helo=test.example", "?tls=starttls&helo=test.example"] {
        let url = format!("{}{query}", sink.url());
        let mut smtp = Smtp::from_url(&url).unwrap();
        let err = smtp.deliver(&msg()).unwrap_err();
        assert!(
            matches!(
                err,
                DeliverError::Incompatible {
                    stage: Stage::StartTls,
                    ..
                }
            ),
            "{url}: {err:?}"
        );
        assert!(err.is_permanent());
        let text = err.to_string();
        assert!(text.contains("does not offer STARTTLS"), "{text}");
        assert!(
            text.contains("tls=none"),
            "the error names the way out: {text}"
        );
        assert!(
            !smtp.describe().contains("messages sent"),
            "{}",
            smtp.describe()
        );
    }
    assert!(sink.messages().is_empty(), "nothing went out in plain text");

    let mut smtp = Smtp::from_url(&format!("{}?tls=none&helo=test.example", sink.url())).unwrap();
    let receipt = smtp.deliver(&msg()).unwrap();
    assert!(
        receipt.destination.ends_with(" in plain text"),
        "{receipt:?}"
    );
    assert_eq!(
        smtp.describe(),
        format!(
            "smtp://127.0.0.1:{} (tls=none), messages sent: 1 in plain text",
            sink.port
        )
    );
    let got = &sink.wait_for(1, Duration::from_secs(10))[0];
    assert!(!got.envelope.starttls && !got.envelope.tls);
}

#[test]
fn auth_plain_text_when_explicitly_allowed() {
    let sink = SmtpSink::start(SinkOptions {
        auth: Some(("baken".into(), "s3cret pass".into())),
        ..SinkOptions::default()
    });
    let url = format!(
        "smtp://baken:s3cret%20pass@127.0.0.1:{}?tls=none",
        sink.port
    );
    send(&url).unwrap();
    let got = &sink.wait_for(1, Duration::from_secs(10))[0];
    assert_eq!(got.envelope.auth_user.as_deref(), Some("baken"));
}

#[test]
fn wrong_password_is_a_permanent_auth_error_without_the_password() {
    let sink = SmtpSink::start(SinkOptions {
        auth: Some(("baken".into(), "right".into())),
        ..SinkOptions::default()
    });
    let url = format!("smtp://baken:wrongpw@127.0.0.1:{}?tls=none", sink.port);
    let err = send(&url).unwrap_err();
    assert!(
        matches!(
            err,
            DeliverError::Rejected {
                stage: Stage::Auth,
                code: 535,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_permanent());
    let text = err.to_string();
    assert!(text.contains(&format!("127.0.0.1:{}", sink.port)), "{text}");
    assert!(!text.contains("wrongpw"), "{text}");
    assert!(sink.messages().is_empty());
}

#[test]
fn credentials_are_not_sent_in_clear_unless_tls_none() {
    let sink = SmtpSink::start(SinkOptions {
        auth: Some(("baken".into(), "pw".into())),
        ..SinkOptions::default()
    });
    let url = format!("smtp://baken:pw@127.0.0.1:{}", sink.port);
    let err = send(&url).unwrap_err();
    assert!(
        matches!(
            err,
            DeliverError::Incompatible {
                stage: Stage::StartTls,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("tls=none"), "{err}");
    assert!(sink.messages().is_empty());
}

#[test]
fn starttls_with_a_self_signed_certificate_and_insecure() {
    let sink = SmtpSink::start(SinkOptions {
        starttls: true,
        auth: Some(("baken".into(), "pw".into())),
        ..SinkOptions::default()
    });
    // The default, tls=starttls, and its older name tls=required; credentials go encrypted.
    let url = format!("smtp://baken:pw@127.0.0.1:{}?insecure=true", sink.port);
    let mut smtp = Smtp::from_url(&url).unwrap();
    let receipt = smtp.deliver(&msg()).unwrap();
    assert_eq!(
        receipt.destination,
        format!("smtp://127.0.0.1:{} over STARTTLS", sink.port)
    );
    smtp.deliver(&msg()).unwrap();
    assert!(
        smtp.describe().ends_with(
            "(tls=starttls) (insecure: any certificate accepted), messages sent: 2 over STARTTLS"
        ),
        "{}",
        smtp.describe()
    );
    let url = format!(
        "smtp://baken:pw@127.0.0.1:{}?tls=required&insecure=true",
        sink.port
    );
    send(&url).unwrap();
    let received = sink.wait_for(3, Duration::from_secs(10));
    for got in &received {
        assert!(got.envelope.starttls && got.envelope.tls);
        assert_eq!(got.envelope.auth_user.as_deref(), Some("baken"));
        assert_eq!(got.raw, render(&msg()).unwrap());
    }
}

#[test]
fn starttls_with_an_untrusted_certificate_fails_without_insecure() {
    let sink = SmtpSink::start(SinkOptions {
        starttls: true,
        ..SinkOptions::default()
    });
    let err = send(&format!("{}?tls=required", sink.url())).unwrap_err();
    assert!(
        matches!(
            err,
            DeliverError::Incompatible {
                stage: Stage::StartTls,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_permanent());
    assert!(err.to_string().contains("insecure=true"), "{err}");
    // The default does not fall back to plain text after a failed handshake either.
    assert!(send(&sink.url()).is_err());
    assert!(sink.messages().is_empty());
}

#[test]
fn tls_required_against_a_server_without_starttls_fails_clearly() {
    let sink = SmtpSink::start(SinkOptions::default());
    let err = send(&format!("{}?tls=required", sink.url())).unwrap_err();
    assert!(
        matches!(
            err,
            DeliverError::Incompatible {
                stage: Stage::StartTls,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_permanent());
    let text = err.to_string();
    assert!(text.contains("does not offer STARTTLS"), "{text}");
    assert!(text.contains(&format!("127.0.0.1:{}", sink.port)), "{text}");
    assert!(sink.messages().is_empty());
}

#[test]
fn rejected_recipient_is_a_permanent_error() {
    let sink = SmtpSink::start(SinkOptions {
        reject: vec!["soc@org17.example".into()],
        ..SinkOptions::default()
    });
    let err = send(&format!("{}?tls=none", sink.url())).unwrap_err();
    assert!(
        matches!(
            err,
            DeliverError::Rejected {
                stage: Stage::Send,
                code: 550,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_permanent());
    assert!(err.to_string().contains("soc@org17.example"), "{err}");
    assert!(
        sink.messages().is_empty(),
        "nothing is delivered when one recipient fails"
    );
}

#[test]
fn connection_refused_is_a_transient_error() {
    // A port that was free a moment ago: bind, note it, close.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let err = send(&format!("smtp://127.0.0.1:{port}?tls=none&timeout=5")).unwrap_err();
    assert!(
        matches!(
            err,
            DeliverError::Connection {
                stage: Stage::Connect,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_transient());
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
}

#[test]
fn implicit_tls_against_a_plain_server_fails_at_connect() {
    let sink = SmtpSink::start(SinkOptions::default());
    let err = send(&format!(
        "smtps://127.0.0.1:{}?insecure=true&timeout=5",
        sink.port
    ))
    .unwrap_err();
    assert!(
        matches!(
            err,
            DeliverError::Incompatible {
                stage: Stage::Connect,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_permanent());
}

#[test]
fn implicit_tls_with_smtps() {
    let sink = SmtpSink::start(SinkOptions {
        implicit_tls: true,
        auth: Some(("baken".into(), "pw".into())),
        ..SinkOptions::default()
    });
    let url = format!("smtps://baken:pw@127.0.0.1:{}?insecure=true", sink.port);
    let receipt = send(&url).unwrap();
    assert_eq!(
        receipt.destination,
        format!("smtps://127.0.0.1:{} over implicit TLS", sink.port)
    );
    let got = &sink.wait_for(1, Duration::from_secs(10))[0];
    assert!(got.envelope.tls && !got.envelope.starttls);
    assert_eq!(got.envelope.auth_user.as_deref(), Some("baken"));
    assert_eq!(got.raw, render(&msg()).unwrap());

    // Without insecure=true the self-signed certificate is refused.
    let err = send(&format!("smtps://baken:pw@127.0.0.1:{}", sink.port)).unwrap_err();
    assert!(
        matches!(
            err,
            DeliverError::Incompatible {
                stage: Stage::Connect,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(sink.messages().len(), 1);
}

#[test]
fn password_from_the_url_is_percent_decoded_and_never_printed() {
    let smtp = Smtp::from_url("smtp://baken:p%40ss@127.0.0.1:2525?tls=none").unwrap();
    assert_eq!(smtp.config().password.as_deref(), Some("p@ss"));
    assert!(!smtp.describe().contains("p@ss"));
    assert!(!format!("{smtp:?}").contains("p@ss"));
}

#[test]
fn a_signed_message_goes_over_smtp_as_the_outbox_writes_it() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let key = std::fs::read(dir.join("sender.sec.asc")).unwrap();
    let signer = baken_deliver::SigningKey::parse(
        &key,
        Some("test-passphrase"),
        std::time::SystemTime::now(),
    )
    .unwrap();
    let mut signed = msg();
    signed.openpgp = Some(baken_deliver::OpenPgp {
        signer: std::sync::Arc::new(signer),
        encrypt_to: None,
    });
    let sink = SmtpSink::start(SinkOptions::default());
    Smtp::from_url(&format!("{}?tls=none", sink.url()))
        .unwrap()
        .deliver(&signed)
        .unwrap();
    let out = tempfile::tempdir().unwrap();
    let receipt = baken_deliver::Outbox::new(out.path())
        .unwrap()
        .deliver(&signed)
        .unwrap();
    let received = sink.wait_for(1, Duration::from_secs(10));
    let eml = std::fs::read(receipt.destination).unwrap();
    assert!(String::from_utf8_lossy(&eml).contains("multipart/signed"));
    assert_eq!(
        received[0].raw, eml,
        "the relay gets the outbox's signed bytes"
    );
}
