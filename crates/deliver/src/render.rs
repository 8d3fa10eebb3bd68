//! [`OutgoingMessage`] → RFC 5322 bytes, through lettre's MIME builder.

use lettre::Message;
use std::time::SystemTime;

use lettre::message::header::{
    ContentDisposition, ContentTransferEncoding, ContentType, HeaderName, HeaderValue,
    MIME_VERSION_1_0,
};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};
use sha2::{Digest, Sha256};

use crate::{DeliverError, OutgoingMessage};

/// Names of the header fields baken adds to its messages, so that recipients can filter on
/// them, and helpers to make them for [`OutgoingMessage::headers`](crate::OutgoingMessage).
///
/// There is no standard header field for a TLP label; baken uses its own `X-Baken-` prefix for
/// all of them. The label is in the subject and the body as well, where people read it.
pub mod header {
    use baken_model::Tlp;

    /// The message's TLP label as FIRST writes it, e.g. `X-Baken-TLP: TLP:AMBER`.
    pub const TLP: &str = "X-Baken-TLP";
    /// The incident or campaign the message is about, e.g. `X-Baken-Incident: cve-2019-19781`.
    pub const INCIDENT: &str = "X-Baken-Incident";
    /// The message's idempotency key; [`render`](crate::render) adds it to every message.
    pub const KEY: &str = "X-Baken-Key";
    /// The audit log's head when the message was composed, `SEQ HASH` (the last entry's
    /// sequence number and hash): each recipient holds a witness of the log that a later
    /// truncation or rewrite cannot match.
    pub const AUDIT_HEAD: &str = "X-Baken-Audit-Head";
    /// The exercise a message belongs to, e.g. `X-Baken-Exercise: citrix1`: the message is a
    /// drill, not a real notification.
    pub const EXERCISE: &str = "X-Baken-Exercise";

    /// `X-Baken-TLP: TLP:AMBER` for [`Tlp::Amber`].
    pub fn tlp(tlp: Tlp) -> (String, String) {
        (TLP.to_owned(), tlp.label().to_owned())
    }

    /// `X-Baken-Incident: <id>`.
    pub fn incident(id: &str) -> (String, String) {
        (INCIDENT.to_owned(), id.to_owned())
    }

    /// `X-Baken-Exercise: <id>`.
    pub fn exercise(id: &str) -> (String, String) {
        (EXERCISE.to_owned(), id.to_owned())
    }

    /// `X-Baken-Audit-Head: <seq> <hash>`.
    pub fn audit_head(seq: i64, hash: &str) -> (String, String) {
        (AUDIT_HEAD.to_owned(), format!("{seq} {hash}"))
    }
}

/// Longest accepted key; leaves room for the outbox's temporary file names.
const MAX_KEY_LEN: usize = 200;

/// Header fields that [`render`] writes itself and that extra headers may not replace.
const RESERVED: &[&str] = &[
    "from",
    "sender",
    "reply-to",
    "to",
    "cc",
    "bcc",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "auto-submitted",
    "x-baken-key",
];

/// The message's Message-ID, `<key@domain-of-from>`, checking the key and the sender.
pub fn message_id(msg: &OutgoingMessage) -> Result<String, DeliverError> {
    check_key(&msg.key)?;
    let from = mailbox(&msg.key, "from", &msg.from)?;
    Ok(format!("<{}@{}>", msg.key, from.email.domain()))
}

/// Renders the message as RFC 5322 bytes (CRLF line endings, ASCII only: non-ASCII text is
/// quoted-printable or base64, non-ASCII header text RFC 2047-encoded). A text that does not
/// end with a line break gets one.
///
/// Without attachments the message is a single `text/plain; charset=utf-8` part; with them it
/// is `multipart/mixed`: the text first, then each attachment (base64, `Content-Disposition:
/// attachment; filename=…`). Besides the caller's headers it writes `Message-ID` (see
/// [`message_id`]), `Date`, `MIME-Version`, `Auto-Submitted: auto-generated` (RFC 3834, so
/// that auto-responders stay quiet) and `X-Baken-Key`. The multipart boundary is derived
/// from the content, so with a fixed `date` the output is the same bytes every time.
///
/// Fails with [`DeliverError::InvalidMessage`] for a bad key, mailbox, header, file name or
/// content type.
pub fn render(msg: &OutgoingMessage) -> Result<Vec<u8>, DeliverError> {
    Ok(formatted(&build(msg)?))
}

/// The message's bytes, ending with CRLF.
pub(crate) fn formatted(message: &Message) -> Vec<u8> {
    let mut bytes = message.formatted();
    if !bytes.ends_with(b"\r\n") {
        bytes.extend_from_slice(b"\r\n");
    }
    bytes
}

/// Builds lettre's message; its envelope (sender and recipients) is what SMTP uses.
pub(crate) fn build(msg: &OutgoingMessage) -> Result<Message, DeliverError> {
    let key = msg.key.as_str();
    let id = message_id(msg)?;
    let invalid = |reason: String| DeliverError::invalid(key, reason);

    let mut builder = Message::builder()
        .from(mailbox(key, "from", &msg.from)?)
        .message_id(Some(id));
    if msg.to.is_empty() {
        return Err(invalid("no recipient: `to` is empty".into()));
    }
    for to in &msg.to {
        builder = builder.to(mailbox(key, "to", to)?);
    }
    if has_line_break(&msg.subject) {
        return Err(invalid(format!(
            "subject {:?} contains a line break; subjects are one line",
            msg.subject
        )));
    }
    builder = builder.subject(msg.subject.as_str());
    builder = match msg.date {
        Some(date) => builder.date(date),
        None => builder.date_now(),
    };
    builder = builder
        .raw_header(raw_header("Auto-Submitted", "auto-generated"))
        .raw_header(raw_header(header::KEY, key));

    let mut seen: Vec<String> = Vec::new();
    for (name, value) in &msg.headers {
        let lower = name.to_ascii_lowercase();
        // Content-Language (RFC 3282) is the caller's: it knows the language of the text
        if RESERVED.contains(&lower.as_str())
            || (lower.starts_with("content-") && lower != "content-language")
        {
            return Err(invalid(format!(
                "header {name:?} is written by baken-deliver itself; remove it from `headers`"
            )));
        }
        if seen.contains(&lower) {
            return Err(invalid(format!(
                "header {name:?} is given twice; give each header once"
            )));
        }
        seen.push(lower);
        let header_name = valid_header_name(name).ok_or_else(|| {
            invalid(format!(
                "header name {name:?} is not a field name: use 1 to 76 printable ASCII \
                 characters without spaces or colons"
            ))
        })?;
        if has_line_break(value) {
            return Err(invalid(format!(
                "header {name}: value {value:?} contains a line break"
            )));
        }
        builder = builder.raw_header(HeaderValue::new(header_name, value.clone()));
    }

    // Text bodies end with a line break, so that the last line survives the trip intact.
    let mut text = msg.text.clone();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    if let Some(openpgp) = &msg.openpgp {
        let outer = protected(msg, text, openpgp)?;
        return builder
            .multipart(outer)
            .map_err(|e| invalid(format!("cannot build the message: {e}")));
    }
    let built = if msg.attachments.is_empty() {
        // Not `singlepart`: lettre appends an extra CRLF to a single part, which would
        // become part of the text.
        builder
            .header(MIME_VERSION_1_0)
            .header(ContentType::TEXT_PLAIN)
            .body(text)
    } else {
        let mut parts = MultiPart::mixed()
            .boundary(boundary(msg))
            .singlepart(SinglePart::plain(text));
        for attachment in &msg.attachments {
            parts = parts.singlepart(attachment_part(key, attachment, false)?);
        }
        builder.multipart(parts)
    };
    built.map_err(|e| invalid(format!("cannot build the message: {e}")))
}

/// One attachment as a MIME part; `base64` forces that encoding (inside a signature, where
/// no relay may re-encode the part).
fn attachment_part(
    key: &str,
    attachment: &crate::Attachment,
    base64: bool,
) -> Result<SinglePart, DeliverError> {
    let invalid = |reason: String| DeliverError::invalid(key, reason);
    let name = &attachment.filename;
    if name.is_empty() || name.contains(['/', '\\']) || name.chars().any(char::is_control) {
        return Err(invalid(format!(
            "attachment file name {name:?} must be a plain, non-empty file name \
             without path separators or control characters"
        )));
    }
    let content_type = ContentType::parse(&attachment.content_type).map_err(|e| {
        invalid(format!(
            "attachment {name:?}: content type {:?} is not a MIME type ({e})",
            attachment.content_type
        ))
    })?;
    let part = lettre::message::Attachment::new(name.clone());
    Ok(if base64 {
        let body =
            Body::new_with_encoding(attachment.body.clone(), ContentTransferEncoding::Base64)
                .expect("any bytes can be base64");
        part.body(body, content_type)
    } else {
        part.body(attachment.body.clone(), content_type)
    })
}

/// The PGP/MIME form of the message's content (RFC 3156): the text and attachments as one
/// MIME entity (text quoted-printable, attachments base64, so that no relay changes a signed
/// byte), signed (`multipart/signed; micalg=pgp-sha256; protocol="application/pgp-signature"`:
/// the entity exactly as it stands between the boundaries, CRLF line endings, and a detached
/// signature over those bytes), and, with a recipient key, that whole `multipart/signed`
/// entity encrypted (`multipart/encrypted; protocol="application/pgp-encrypted"`: signed,
/// then encrypted, section 6.1).
fn protected(
    msg: &OutgoingMessage,
    text: String,
    openpgp: &crate::OpenPgp,
) -> Result<MultiPart, DeliverError> {
    let key = msg.key.as_str();
    let invalid = |reason: String| DeliverError::invalid(key, reason);
    let base = boundary(msg);
    let text_part = SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .header(ContentTransferEncoding::QuotedPrintable)
        .body(text);
    enum Content {
        Single(SinglePart),
        Multi(MultiPart),
    }
    let content = if msg.attachments.is_empty() {
        Content::Single(text_part)
    } else {
        let mut parts = MultiPart::mixed()
            .boundary(format!("{base}-mixed"))
            .singlepart(text_part);
        for attachment in &msg.attachments {
            parts = parts.singlepart(attachment_part(key, attachment, true)?);
        }
        Content::Multi(parts)
    };
    let formatted = match &content {
        Content::Single(p) => p.formatted(),
        Content::Multi(p) => p.formatted(),
    };
    // the CRLF before the next boundary belongs to the boundary (RFC 2046 section 5.1.1)
    let signed_bytes = formatted
        .strip_suffix(b"\r\n")
        .expect("lettre ends every part with CRLF");
    let created = msg.date.unwrap_or_else(SystemTime::now);
    let signature = openpgp
        .signer
        .sign_detached(signed_bytes, created)
        .map_err(|e| invalid(format!("cannot sign the message: {e}")))?;
    let signature_part = SinglePart::builder()
        .header(
            ContentType::parse("application/pgp-signature; name=\"signature.asc\"")
                .expect("a valid content type"),
        )
        .header(ContentDisposition::attachment("signature.asc"))
        .header(ContentTransferEncoding::SevenBit)
        .body(crlf(&signature));
    let signed_boundary = format!("{base}-signed");
    let signed = MultiPart::signed("application/pgp-signature".into(), "pgp-sha256".into())
        .boundary(signed_boundary.clone());
    let signed = match content {
        Content::Single(p) => signed.singlepart(p),
        Content::Multi(p) => signed.multipart(p),
    }
    .singlepart(signature_part);
    // what was signed is what is sent, byte for byte
    let mut expected = format!("--{signed_boundary}\r\n").into_bytes();
    expected.extend_from_slice(signed_bytes);
    expected.extend_from_slice(format!("\r\n--{signed_boundary}").as_bytes());
    let entity = signed.formatted();
    assert!(
        entity
            .windows(expected.len())
            .any(|w| w == expected.as_slice()),
        "the signed part is not the bytes that were signed"
    );
    let Some(recipient) = &openpgp.encrypt_to else {
        return Ok(signed);
    };
    let ciphertext = recipient
        .encrypt(&entity)
        .map_err(|e| invalid(format!("cannot encrypt the message: {e}")))?;
    Ok(MultiPart::encrypted("application/pgp-encrypted".into())
        .boundary(format!("{base}-encrypted"))
        .singlepart(
            SinglePart::builder()
                .header(
                    ContentType::parse("application/pgp-encrypted").expect("a valid content type"),
                )
                .header(ContentTransferEncoding::SevenBit)
                .body(String::from("Version: 1\r\n")),
        )
        .singlepart(
            SinglePart::builder()
                .header(
                    ContentType::parse("application/octet-stream; name=\"encrypted.asc\"")
                        .expect("a valid content type"),
                )
                .header(ContentDisposition::inline_with_name("encrypted.asc"))
                .header(ContentTransferEncoding::SevenBit)
                .body(crlf(&ciphertext)),
        ))
}

/// `text` with CRLF line endings.
fn crlf(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\n', "\r\n")
}

fn check_key(key: &str) -> Result<(), DeliverError> {
    let ok = !key.is_empty()
        && key.len() <= MAX_KEY_LEN
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(DeliverError::invalid(
            key,
            format!(
                "key must be 1 to {MAX_KEY_LEN} characters from [A-Za-z0-9_-]; it names a \
                 file and the Message-ID"
            ),
        ))
    }
}

fn mailbox(key: &str, field: &str, text: &str) -> Result<Mailbox, DeliverError> {
    text.parse().map_err(|e| {
        DeliverError::invalid(
            key,
            format!(
                "{field}: {text:?} is not a mailbox ({e}); write `addr@example.org` or `Name <addr@example.org>`"
            ),
        )
    })
}

fn has_line_break(s: &str) -> bool {
    s.contains(['\r', '\n'])
}

fn valid_header_name(name: &str) -> Option<HeaderName> {
    // RFC 5322 field names: printable ASCII except colon; lettre also limits the length.
    if name.bytes().all(|b| (33..=126).contains(&b) && b != b':') {
        HeaderName::new_from_ascii(name.to_owned()).ok()
    } else {
        None
    }
}

fn raw_header(name: &'static str, value: &str) -> HeaderValue {
    HeaderValue::new(HeaderName::new_from_ascii_str(name), value.to_owned())
}

/// A multipart boundary made from a hash of the content: the same message always gets the
/// same boundary, and no part can contain it unless it contains its own hash.
fn boundary(msg: &OutgoingMessage) -> String {
    let mut hash = Sha256::new();
    let mut field = |bytes: &[u8]| {
        hash.update((bytes.len() as u64).to_be_bytes());
        hash.update(bytes);
    };
    field(msg.key.as_bytes());
    field(msg.subject.as_bytes());
    field(msg.text.as_bytes());
    for attachment in &msg.attachments {
        field(attachment.filename.as_bytes());
        field(attachment.content_type.as_bytes());
        field(&attachment.body);
    }
    let digest = hash.finalize();
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("baken-{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Attachment;
    use std::time::{Duration, UNIX_EPOCH};

    fn msg() -> OutgoingMessage {
        OutgoingMessage {
            key: "k-1".into(),
            from: "baken <baken@ncsc.example>".into(),
            to: vec!["abuse@org.example".into()],
            subject: "s".into(),
            text: "t".into(),
            attachments: vec![Attachment::csv("a.csv", b"x\n".to_vec())],
            headers: vec![],
            date: Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
            openpgp: None,
        }
    }

    /// Runs `change` on a good message and expects render to refuse it with `needle` in the
    /// error.
    fn check_invalid(change: impl FnOnce(&mut OutgoingMessage), needle: &str) {
        let mut m = msg();
        change(&mut m);
        let err = render(&m).expect_err("should be refused");
        assert!(err.is_permanent());
        let text = err.to_string();
        assert!(text.contains(needle), "{text:?} lacks {needle:?}");
    }

    #[test]
    fn bad_input_is_refused_with_a_reason() {
        check_invalid(|m| m.key = "a/b".into(), "[A-Za-z0-9_-]");
        check_invalid(|m| m.key = String::new(), "[A-Za-z0-9_-]");
        check_invalid(|m| m.key = "k".repeat(201), "[A-Za-z0-9_-]");
        check_invalid(|m| m.from = "not an address".into(), "from:");
        check_invalid(|m| m.to = vec!["x@".into()], "to:");
        check_invalid(|m| m.to.clear(), "no recipient");
        check_invalid(|m| m.subject = "a\r\nBcc: x@y.example".into(), "line break");
        check_invalid(
            |m| m.headers = vec![("X-A".into(), "1\nBcc: x@y.example".into())],
            "line break",
        );
        check_invalid(
            |m| m.headers = vec![("X A".into(), "1".into())],
            "field name",
        );
        check_invalid(|m| m.headers = vec![("".into(), "1".into())], "field name");
        check_invalid(
            |m| m.headers = vec![("Message-ID".into(), "1".into())],
            "itself",
        );
        check_invalid(
            |m| m.headers = vec![("content-type".into(), "1".into())],
            "itself",
        );
        check_invalid(
            |m| m.headers = vec![("X-A".into(), "1".into()), ("x-a".into(), "2".into())],
            "twice",
        );
        check_invalid(
            |m| m.attachments[0].filename = "../x.csv".into(),
            "file name",
        );
        check_invalid(
            |m| m.attachments[0].content_type = "csv".into(),
            "content type",
        );
    }

    #[test]
    fn the_caller_writes_content_language() {
        let mut m = msg();
        m.headers = vec![("Content-Language".into(), "nl".into())];
        let text = String::from_utf8(render(&m).unwrap()).unwrap();
        assert!(text.contains("\r\nContent-Language: nl\r\n"), "{text}");
        check_invalid(
            |m| m.headers = vec![("Content-Transfer-Encoding".into(), "7bit".into())],
            "itself",
        );
    }

    #[test]
    fn message_id_is_key_at_sender_domain() {
        assert_eq!(message_id(&msg()).unwrap(), "<k-1@ncsc.example>");
    }

    #[test]
    fn boundary_depends_on_content_only() {
        let a = msg();
        let mut b = msg();
        b.date = None;
        assert_eq!(boundary(&a), boundary(&b));
        b.attachments[0].body.push(b'y');
        assert_ne!(boundary(&a), boundary(&b));
    }
}
