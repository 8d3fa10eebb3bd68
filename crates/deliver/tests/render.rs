//! Rendered messages read back with an independent parser (mail-parser).

use std::time::{Duration, UNIX_EPOCH};

use baken_deliver::{Attachment, OutgoingMessage, header, render};
use baken_model::Tlp;
use mail_parser::{MessageParser, MimeHeaders};

/// A digest like the pipeline composes: UTF-8 in subject, body and file name.
fn digest() -> OutgoingMessage {
    OutgoingMessage {
        key: "cve-2019-19781--org-17--a1b2c3".into(),
        from: "baken NCSC <baken@ncsc.example>".into(),
        to: vec![
            "Sécurité Org 17 <abuse@org17.example>".into(),
            "soc@org17.example".into(),
        ],
        subject: "[TLP:AMBER] Citrix ADC – 2 hôtes vulnérables (CVE-2019-19781)".into(),
        text: "TLP:AMBER\n\nBonjour,\n\nnous avons trouvé 2 hôtes vulnérables. Détails en pièce jointe.\n\n– baken\n".into(),
        attachments: vec![Attachment::csv(
            "findings-org17-été.csv",
            "ip,port,produit\n192.0.2.1,443,Citrix ADC\n192.0.2.2,443,Citrix Gateway — « NetScaler »\n"
                .as_bytes()
                .to_vec(),
        )],
        headers: vec![header::tlp(Tlp::Amber), header::incident("cve-2019-19781")],
        date: Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
        openpgp: None,
    }
}

#[test]
fn digest_reads_back_field_by_field() {
    let msg = digest();
    let bytes = render(&msg).unwrap();
    assert!(bytes.is_ascii(), "rendered bytes must be 7-bit clean");
    assert!(
        bytes.split(|&b| b == b'\n').all(|line| line.len() <= 998),
        "no line may exceed RFC 5322's 998 characters"
    );

    let parsed = MessageParser::default()
        .parse(&bytes)
        .expect("parses as MIME");
    assert_eq!(parsed.subject(), Some(msg.subject.as_str()));
    assert_eq!(
        parsed.message_id(),
        Some("cve-2019-19781--org-17--a1b2c3@ncsc.example")
    );
    assert_eq!(
        parsed.header("X-Baken-TLP").and_then(|h| h.as_text()),
        Some("TLP:AMBER")
    );
    assert_eq!(
        parsed.header("X-Baken-Incident").and_then(|h| h.as_text()),
        Some("cve-2019-19781")
    );
    assert_eq!(
        parsed.header("X-Baken-Key").and_then(|h| h.as_text()),
        Some(msg.key.as_str())
    );
    assert_eq!(
        parsed.header("Auto-Submitted").and_then(|h| h.as_text()),
        Some("auto-generated")
    );
    let date = parsed.date().expect("a Date header");
    assert_eq!(date.to_timestamp(), 1_700_000_000);

    let from = parsed.from().and_then(|a| a.first()).expect("a From");
    assert_eq!(from.address(), Some("baken@ncsc.example"));
    assert_eq!(from.name(), Some("baken NCSC"));
    let to: Vec<_> = parsed
        .to()
        .expect("a To")
        .iter()
        .map(|a| (a.name(), a.address()))
        .collect();
    assert_eq!(
        to,
        [
            (Some("Sécurité Org 17"), Some("abuse@org17.example")),
            (None, Some("soc@org17.example"))
        ]
    );

    assert_eq!(parsed.content_type().map(|c| c.ctype()), Some("multipart"));
    assert_eq!(
        parsed.content_type().and_then(|c| c.subtype()),
        Some("mixed")
    );
    // The text part keeps its words; line endings become CRLF on the wire.
    let text = parsed.body_text(0).expect("a text body");
    assert_eq!(text.replace("\r\n", "\n"), msg.text);

    let attachments: Vec<_> = parsed.attachments().collect();
    assert_eq!(attachments.len(), 1);
    let csv = attachments[0];
    assert_eq!(csv.attachment_name(), Some("findings-org17-été.csv"));
    assert_eq!(csv.content_type().map(|c| c.ctype()), Some("text"));
    assert_eq!(csv.content_type().and_then(|c| c.subtype()), Some("csv"));
    assert_eq!(
        csv.contents(),
        msg.attachments[0].body.as_slice(),
        "CSV bytes unchanged"
    );
}

#[test]
fn without_attachments_a_single_text_part() {
    let mut msg = digest();
    msg.attachments.clear();
    let bytes = render(&msg).unwrap();
    let parsed = MessageParser::default().parse(&bytes).unwrap();
    assert_eq!(parsed.content_type().map(|c| c.ctype()), Some("text"));
    assert_eq!(
        parsed.content_type().and_then(|c| c.subtype()),
        Some("plain")
    );
    assert_eq!(
        parsed.content_type().and_then(|c| c.attribute("charset")),
        Some("utf-8")
    );
    assert_eq!(parsed.attachments().count(), 0);
    assert_eq!(parsed.body_text(0).unwrap().replace("\r\n", "\n"), msg.text);
}

#[test]
fn binary_attachments_survive_and_several_are_kept_in_order() {
    let mut msg = digest();
    let binary: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    msg.attachments.push(Attachment {
        filename: "raw.bin".into(),
        content_type: "application/octet-stream".into(),
        body: binary.clone(),
    });
    let bytes = render(&msg).unwrap();
    let parsed = MessageParser::default().parse(&bytes).unwrap();
    let names: Vec<_> = parsed.attachments().map(|a| a.attachment_name()).collect();
    assert_eq!(names, [Some("findings-org17-été.csv"), Some("raw.bin")]);
    assert_eq!(parsed.attachment(1).unwrap().contents(), binary.as_slice());
}

#[test]
fn fixed_date_gives_identical_bytes() {
    let msg = digest();
    assert_eq!(render(&msg).unwrap(), render(&msg).unwrap());
}

#[test]
fn no_date_means_now() {
    let mut msg = digest();
    msg.date = None;
    let bytes = render(&msg).unwrap();
    let parsed = MessageParser::default().parse(&bytes).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let date = parsed.date().unwrap().to_timestamp();
    assert!(
        (now - date).abs() < 60,
        "date {date} is not about now {now}"
    );
}

#[test]
fn bcc_and_other_injection_attempts_do_not_reach_the_headers() {
    let mut msg = digest();
    msg.headers
        .push(("X-Note".into(), "a\r\nBcc: evil@example.org".into()));
    let err = render(&msg).unwrap_err();
    assert!(err.is_permanent());
    assert!(err.to_string().contains(&msg.key), "{err}");
}
