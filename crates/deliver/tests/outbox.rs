//! The outbox: idempotent, crash-safe `<key>.eml` files.

use std::time::{Duration, UNIX_EPOCH};

use baken_deliver::{Attachment, DeliverError, Outbox, OutgoingMessage, Staged, Transport, render};

fn msg(key: &str) -> OutgoingMessage {
    OutgoingMessage {
        key: key.into(),
        from: "baken <baken@ncsc.example>".into(),
        to: vec!["abuse@org.example".into()],
        subject: "[TLP:GREEN] test".into(),
        text: "TLP:GREEN\n\nhello\n".into(),
        attachments: vec![Attachment::csv("f.csv", b"a,b\n1,2\n".to_vec())],
        headers: vec![],
        date: Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
        openpgp: None,
    }
}

/// Every file name in `dir`, sorted.
fn listing(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn writes_key_eml_with_the_rendered_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let mut outbox = Outbox::new(dir.path().join("new/sub")).unwrap();
    let m = msg("org-1--abc");
    let receipt = outbox.deliver(&m).unwrap();
    let path = dir.path().join("new/sub/org-1--abc.eml");
    assert_eq!(receipt.destination, path.display().to_string());
    assert_eq!(receipt.message_id, "<org-1--abc@ncsc.example>");
    assert!(!receipt.already_delivered);
    assert_eq!(std::fs::read(&path).unwrap(), render(&m).unwrap());
    assert_eq!(
        listing(outbox.dir()),
        ["org-1--abc.eml"],
        "no temporary file left"
    );
    assert!(outbox.describe().starts_with("outbox "));
}

#[test]
fn second_delivery_of_a_key_does_not_rewrite() {
    let dir = tempfile::tempdir().unwrap();
    let mut outbox = Outbox::new(dir.path()).unwrap();
    let first = msg("same-key");
    outbox.deliver(&first).unwrap();
    let path = outbox.path_for("same-key");
    let before = std::fs::read(&path).unwrap();

    // Same key, different content: the file on disk must stay the first one.
    let mut second = msg("same-key");
    second.text = "changed".into();
    second.date = None;
    let receipt = outbox.deliver(&second).unwrap();
    assert!(receipt.already_delivered);
    assert_eq!(receipt.message_id, "<same-key@ncsc.example>");
    assert_eq!(std::fs::read(&path).unwrap(), before);

    // A fresh Outbox on the same directory (a restarted process) knows it too.
    let mut again = Outbox::new(dir.path()).unwrap();
    assert!(again.deliver(&first).unwrap().already_delivered);
    assert_eq!(listing(dir.path()), ["same-key.eml"]);
}

#[test]
fn different_keys_get_different_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut outbox = Outbox::new(dir.path()).unwrap();
    for key in ["a", "b", "c_1-2"] {
        assert!(!outbox.deliver(&msg(key)).unwrap().already_delivered);
    }
    assert_eq!(listing(dir.path()), ["a.eml", "b.eml", "c_1-2.eml"]);
}

#[test]
fn concurrent_deliveries_of_one_key_write_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let path = dir.path().to_owned();
            std::thread::spawn(move || {
                let mut outbox = Outbox::new(path).unwrap();
                outbox.deliver(&msg("race")).unwrap().already_delivered
            })
        })
        .collect();
    let fresh = threads
        .into_iter()
        .map(|t| t.join().unwrap())
        .filter(|already| !already)
        .count();
    assert_eq!(fresh, 1, "exactly one delivery writes the file");
    assert_eq!(listing(dir.path()), ["race.eml"]);
}

#[test]
fn a_key_that_is_a_path_is_refused_before_touching_the_disk() {
    let dir = tempfile::tempdir().unwrap();
    let mut outbox = Outbox::new(dir.path().join("box")).unwrap();
    let err = outbox.deliver(&msg("../escape")).unwrap_err();
    assert!(
        matches!(err, DeliverError::InvalidMessage { .. }),
        "{err:?}"
    );
    assert!(err.is_permanent());
    assert_eq!(listing(dir.path()), ["box"]);
    assert!(listing(&dir.path().join("box")).is_empty());
}

#[test]
fn staged_messages_appear_only_when_flushed_with_the_bytes_deliver_writes() {
    let dir = tempfile::tempdir().unwrap();
    let mut outbox = Outbox::new(dir.path()).unwrap();
    outbox.deliver(&msg("before")).unwrap();
    let keys = ["g-1", "g-2", "g-3", "before"];
    let mut waiting = Vec::new();
    for key in keys {
        match outbox.stage(&msg(key)) {
            Staged::Waiting => waiting.push(key),
            Staged::Done(r) => {
                // the outbox knows a message it holds at once
                assert_eq!(key, "before");
                assert!(r.unwrap().already_delivered);
            }
        }
    }
    assert_eq!(waiting, ["g-1", "g-2", "g-3"]);
    // written, not yet in place: no reader of *.eml sees a message before it is durable
    let names = listing(dir.path());
    assert_eq!(names.iter().filter(|n| n.ends_with(".eml")).count(), 1);
    assert_eq!(names.iter().filter(|n| n.ends_with(".tmp")).count(), 3);
    let flushed = outbox.flush();
    let flushed_keys: Vec<&str> = flushed.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(flushed_keys, waiting, "outcomes in the order staged");
    for (key, receipt) in flushed {
        let receipt = receipt.unwrap();
        assert!(!receipt.already_delivered);
        assert_eq!(receipt.message_id, format!("<{key}@ncsc.example>"));
        let path = outbox.path_for(&key);
        assert_eq!(receipt.destination, path.display().to_string());
        assert_eq!(std::fs::read(&path).unwrap(), render(&msg(&key)).unwrap());
    }
    assert_eq!(
        listing(dir.path()),
        ["before.eml", "g-1.eml", "g-2.eml", "g-3.eml"],
        "no temporary file left"
    );
    assert!(outbox.flush().is_empty(), "nothing waits after a flush");
}

#[test]
fn a_staged_message_never_flushed_was_not_delivered() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut outbox = Outbox::new(dir.path()).unwrap();
        assert!(matches!(outbox.stage(&msg("dropped")), Staged::Waiting));
    }
    assert!(listing(dir.path()).is_empty(), "{:?}", listing(dir.path()));
    // delivered later, it is new
    let mut outbox = Outbox::new(dir.path()).unwrap();
    assert!(!outbox.deliver(&msg("dropped")).unwrap().already_delivered);
}

#[test]
fn a_staged_message_held_meanwhile_is_not_written_again() {
    // another process (a second worker) put the key in place between stage and flush
    let dir = tempfile::tempdir().unwrap();
    let mut outbox = Outbox::new(dir.path()).unwrap();
    assert!(matches!(outbox.stage(&msg("k")), Staged::Waiting));
    let mut other = msg("k");
    other.text = "the other process's".into();
    Outbox::new(dir.path()).unwrap().deliver(&other).unwrap();
    let flushed = outbox.flush();
    assert_eq!(flushed.len(), 1);
    assert!(flushed[0].1.as_ref().unwrap().already_delivered);
    assert_eq!(
        std::fs::read(outbox.path_for("k")).unwrap(),
        render(&other).unwrap()
    );
    assert_eq!(listing(dir.path()), ["k.eml"]);
}

#[test]
fn an_invalid_staged_message_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut outbox = Outbox::new(dir.path()).unwrap();
    let mut m = msg("bad-to");
    m.to = vec!["not an address".into()];
    match outbox.stage(&m) {
        Staged::Done(Err(e)) => assert!(e.is_permanent(), "{e}"),
        other => panic!("{other:?}"),
    }
    assert!(outbox.flush().is_empty());
    assert!(listing(dir.path()).is_empty());
}

#[test]
fn an_invalid_message_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut outbox = Outbox::new(dir.path()).unwrap();
    let mut m = msg("bad-to");
    m.to = vec!["not an address".into()];
    assert!(outbox.deliver(&m).unwrap_err().is_permanent());
    assert!(listing(dir.path()).is_empty());
}

#[test]
fn an_unwritable_outbox_is_a_transient_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"").unwrap();
    let err = Outbox::new(&file).map(|_| ()).unwrap_err();
    assert!(matches!(err, DeliverError::Io { .. }), "{err:?}");
    assert!(!err.is_permanent());
    assert!(err.to_string().contains("a-file"), "{err}");
}

/// Regression: a delivery killed between writing its temporary file and linking it left a
/// `.<key>.<pid>.<n>.tmp` that no later run removed.
#[test]
fn opening_removes_the_temporary_files_of_interrupted_deliveries_only() {
    let dir = tempfile::tempdir().unwrap();
    let touch = |name: &str| std::fs::write(dir.path().join(name), b"partial").unwrap();
    // A pid no process can have (Linux allows at most 2^22), and an hour-old file of pid 1,
    // which is running: both left by deliveries that were interrupted.
    touch(".org-1--abc.4294967294.0.tmp");
    touch(".org-3.1.5.tmp");
    let old = std::time::SystemTime::now() - Duration::from_secs(2 * 3600);
    std::fs::File::options()
        .write(true)
        .open(dir.path().join(".org-3.1.5.tmp"))
        .unwrap()
        .set_modified(old)
        .unwrap();
    // Kept: a fresh file of a running process (pid 1), one of this process (another outbox
    // in it may be writing), and everything that is not one of the outbox's own names.
    let own = format!(".org-1--abc.{}.7.tmp", std::process::id());
    let kept = [
        ".org-2.1.0.tmp",
        own.as_str(),
        "notes.tmp",
        ".org-1.tmp",
        ".org-1.99.tmp",
        ".org 1.4294967294.0.tmp",
        ".org.1.4294967294.0.tmp",
        ".org-1.x.0.tmp",
        ".org-1.4294967294.0.tmp.bak",
        "org-1--abc.eml",
    ];
    for name in kept {
        touch(name);
    }
    std::fs::create_dir(dir.path().join(".dir.4294967294.0.tmp")).unwrap();

    let mut outbox = Outbox::new(dir.path()).unwrap();
    let mut expected: Vec<String> = kept.iter().map(|k| k.to_string()).collect();
    expected.push(".dir.4294967294.0.tmp".into());
    expected.sort();
    assert_eq!(listing(dir.path()), expected);

    // The interrupted message is delivered afresh, and leaves nothing behind.
    assert!(!outbox.deliver(&msg("org-4")).unwrap().already_delivered);
    expected.push("org-4.eml".into());
    expected.sort();
    assert_eq!(listing(dir.path()), expected);
}
