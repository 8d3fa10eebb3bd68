//! Where replies come from: a Maildir, an mbox file, a directory of `.eml` files or one
//! `.eml` file, each message with its place (file, or mbox file and line).

use std::path::{Path, PathBuf};

use crate::{PipelineError, io_error};

/// One message as read, before it is parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMessage {
    /// Where it is: the file, or `FILE:LINE` of its `From ` line in an mbox.
    pub place: String,
    /// Its bytes, or why the file could not be read.
    pub bytes: Result<Vec<u8>, String>,
}

/// The messages at `path`:
///
/// * a directory with `cur/` or `new/`: a Maildir, the files of `new/` then `cur/` by name
///   (`tmp/` holds messages still being written and is left alone; names starting with `.`
///   are skipped);
/// * another directory: its `.eml` files by name (it must hold at least one);
/// * a file that begins with `From `: an mbox ([`split_mbox`]);
/// * a file named `*.eml`: one message.
///
/// Fails when `path` cannot be read or is none of these; a message file inside a directory
/// that cannot be read is returned with its error, to be listed as unreadable.
pub fn messages(path: &Path) -> Result<Vec<RawMessage>, PipelineError> {
    let meta = std::fs::metadata(path).map_err(io_error(path))?;
    if meta.is_dir() {
        let maildir: Vec<PathBuf> = ["new", "cur"]
            .iter()
            .map(|d| path.join(d))
            .filter(|d| d.is_dir())
            .collect();
        if !maildir.is_empty() {
            let mut out = Vec::new();
            for dir in maildir {
                out.extend(files(&dir, |_| true)?.into_iter().map(read_file));
            }
            return Ok(out);
        }
        let emls = files(path, |p| {
            p.extension().is_some_and(|e| e.eq_ignore_ascii_case("eml"))
        })?;
        if emls.is_empty() {
            return Err(PipelineError::Usage(format!(
                "{}: neither a Maildir (no cur/ or new/) nor a directory of .eml files",
                path.display()
            )));
        }
        return Ok(emls.into_iter().map(read_file).collect());
    }
    let bytes = std::fs::read(path).map_err(io_error(path))?;
    if bytes.starts_with(b"From ") || bytes.is_empty() {
        return Ok(split_mbox(&bytes)
            .into_iter()
            .map(|(line, bytes)| RawMessage {
                place: format!("{}:{line}", path.display()),
                bytes: Ok(bytes),
            })
            .collect());
    }
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("eml"))
    {
        return Ok(vec![RawMessage {
            place: path.display().to_string(),
            bytes: Ok(bytes),
        }]);
    }
    Err(PipelineError::Usage(format!(
        "{}: not an mbox (it does not begin with a \"From \" line), a Maildir, a directory \
         of .eml files nor an .eml file",
        path.display()
    )))
}

/// The regular files of `dir` that `keep` accepts, by name, hidden ones left out.
fn files(dir: &Path, keep: impl Fn(&Path) -> bool) -> Result<Vec<PathBuf>, PipelineError> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_error(dir))? {
        let entry = entry.map_err(io_error(dir))?;
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if !hidden && !path.is_dir() && keep(&path) {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

fn read_file(path: PathBuf) -> RawMessage {
    RawMessage {
        place: path.display().to_string(),
        bytes: std::fs::read(&path).map_err(|e| e.to_string()),
    }
}

/// Splits an mbox into its messages, each with the line number of its `From ` line.
///
/// A line starts a message when it begins with `From `, comes first or after an empty line,
/// and reads as a postmark: a sender, then a date with a time (`12:34`) and a four-digit
/// year, as in `From soc@alpha.example Mon Jan 13 10:00:00 2020`. So a body line such as
/// "From the logs we see …" after a blank line does not split a message. The empty line
/// before a `From ` line belongs to the separator, and lines that read `>From `, `>>From `, …
/// lose one `>` (mboxrd quoting). Text before the first `From ` line is not a message (the
/// caller has checked that the file begins with one).
pub fn split_mbox(bytes: &[u8]) -> Vec<(u64, Vec<u8>)> {
    let mut out: Vec<(u64, Vec<u8>)> = Vec::new();
    let mut current: Option<(u64, Vec<u8>)> = None;
    let mut previous_empty = true;
    for (i, line) in bytes.split_inclusive(|&b| b == b'\n').enumerate() {
        let number = i as u64 + 1;
        let bare = line
            .strip_suffix(b"\n")
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
            .unwrap_or(line);
        if previous_empty && is_postmark(bare) {
            if let Some(message) = current.take() {
                out.push(finish(message));
            }
            current = Some((number, Vec::new()));
            previous_empty = false;
            continue;
        }
        previous_empty = bare.is_empty();
        let Some((_, body)) = current.as_mut() else {
            continue;
        };
        let quotes = bare.iter().take_while(|&&b| b == b'>').count();
        if quotes > 0 && bare[quotes..].starts_with(b"From ") {
            body.extend_from_slice(&line[1..]);
        } else {
            body.extend_from_slice(line);
        }
    }
    if let Some(message) = current {
        out.push(finish(message));
    }
    out
}

/// A message without the empty line that separated it from the next.
fn finish((line, mut body): (u64, Vec<u8>)) -> (u64, Vec<u8>) {
    if body.ends_with(b"\r\n\r\n") {
        body.truncate(body.len() - 2);
    } else if body.ends_with(b"\n\n") {
        body.truncate(body.len() - 1);
    }
    (line, body)
}

/// Whether `line` is an mbox postmark: `From SENDER DATE` with a time and a year in DATE.
fn is_postmark(line: &[u8]) -> bool {
    let Some(rest) = line.strip_prefix(b"From ") else {
        return false;
    };
    let text = String::from_utf8_lossy(rest);
    let mut parts = text.split_whitespace();
    if parts.next().is_none() {
        return false;
    }
    let date: Vec<&str> = parts.collect();
    let time = date.iter().any(|p| {
        let mut fields = p.split(':');
        let ok = |f: Option<&str>| {
            f.is_some_and(|f| f.len() == 2 && f.bytes().all(|b| b.is_ascii_digit()))
        };
        ok(fields.next()) && ok(fields.next())
    });
    let year = date
        .iter()
        .any(|p| p.len() == 4 && p.bytes().all(|b| b.is_ascii_digit()));
    time && year
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(mbox: &str, expected: &[(u64, &str)]) {
        let got = split_mbox(mbox.as_bytes());
        let got: Vec<(u64, String)> = got
            .into_iter()
            .map(|(l, b)| (l, String::from_utf8(b).unwrap()))
            .collect();
        let expected: Vec<(u64, String)> =
            expected.iter().map(|(l, s)| (*l, s.to_string())).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn messages_split_at_postmarks_with_their_lines() {
        check(
            "From a@x.example Mon Jan 13 10:00:00 2020\nSubject: one\n\nbody one\n\n\
             From b@x.example Tue Jan 14 11:00:00 2020\nSubject: two\n\nbody two\n",
            &[
                (1, "Subject: one\n\nbody one\n"),
                (6, "Subject: two\n\nbody two\n"),
            ],
        );
    }

    #[test]
    fn a_body_line_starting_with_from_does_not_split() {
        check(
            "From a@x.example Mon Jan 13 10:00:00 2020\nSubject: one\n\n\
             From the logs we see nothing.\n\nFrom our side: patched\n",
            &[(
                1,
                "Subject: one\n\nFrom the logs we see nothing.\n\nFrom our side: patched\n",
            )],
        );
        // a postmark-like line that does not follow an empty line is text, too
        check(
            "From a@x.example Mon Jan 13 10:00:00 2020\nSubject: one\n\ntext\n\
             From b@x.example Tue Jan 14 11:00:00 2020\n",
            &[(
                1,
                "Subject: one\n\ntext\nFrom b@x.example Tue Jan 14 11:00:00 2020\n",
            )],
        );
    }

    #[test]
    fn quoted_from_lines_lose_one_quote() {
        check(
            "From a@x.example Mon Jan 13 10:00:00 2020\nSubject: q\n\n>From here\n>>From there\n> From quoted\n",
            &[(1, "Subject: q\n\nFrom here\n>From there\n> From quoted\n")],
        );
    }

    #[test]
    fn crlf_mboxes_split_alike() {
        check(
            "From a@x.example Mon Jan 13 10:00:00 2020\r\nSubject: one\r\n\r\nbody\r\n\r\n\
             From b@x.example Tue Jan 14 11:00:00 2020\r\nSubject: two\r\n\r\nbody\r\n",
            &[
                (1, "Subject: one\r\n\r\nbody\r\n"),
                (6, "Subject: two\r\n\r\nbody\r\n"),
            ],
        );
    }

    #[test]
    fn an_empty_mbox_has_no_messages() {
        check("", &[]);
    }

    #[test]
    fn the_last_message_keeps_its_text_without_a_final_line_break() {
        check(
            "From a@x.example Mon Jan 13 10:00:00 2020\nSubject: one\n\nbody",
            &[(1, "Subject: one\n\nbody")],
        );
    }

    #[test]
    fn inputs_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let maildir = dir.path().join("Maildir");
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(maildir.join(sub)).unwrap();
        }
        std::fs::write(maildir.join("new/2"), "Subject: b\n\nb\n").unwrap();
        std::fs::write(maildir.join("cur/1:2,S"), "Subject: a\n\na\n").unwrap();
        std::fs::write(maildir.join("tmp/3"), "Subject: c\n\nc\n").unwrap();
        std::fs::write(maildir.join("cur/.hidden"), "x").unwrap();
        let got = messages(&maildir).unwrap();
        let places: Vec<&str> = got.iter().map(|m| m.place.as_str()).collect();
        assert_eq!(places.len(), 2, "{places:?}");
        assert!(places[0].ends_with("new/2") && places[1].ends_with("cur/1:2,S"));

        let emls = dir.path().join("emls");
        std::fs::create_dir(&emls).unwrap();
        std::fs::write(emls.join("a.eml"), "Subject: a\n\na\n").unwrap();
        std::fs::write(emls.join("notes.txt"), "not mail").unwrap();
        assert_eq!(messages(&emls).unwrap().len(), 1);

        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        let err = messages(&empty).unwrap_err().to_string();
        assert!(err.contains("neither a Maildir"), "{err}");

        let text = dir.path().join("replies.txt");
        std::fs::write(&text, "Subject: a\n\na\n").unwrap();
        let err = messages(&text).unwrap_err().to_string();
        assert!(err.contains("not an mbox"), "{err}");

        let missing = dir.path().join("missing.mbox");
        let err = messages(&missing).unwrap_err().to_string();
        assert!(err.contains("missing.mbox"), "{err}");

        let mbox = dir.path().join("replies.mbox");
        std::fs::write(
            &mbox,
            "From a@x.example Mon Jan 13 10:00:00 2020\nSubject: a\n\na\n",
        )
        .unwrap();
        let got = messages(&mbox).unwrap();
        assert_eq!(got.len(), 1);
        assert!(got[0].place.ends_with("replies.mbox:1"), "{}", got[0].place);
    }
}
