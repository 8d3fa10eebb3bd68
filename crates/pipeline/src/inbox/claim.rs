//! What a reply says: its own text, and whether that text claims a fix.
//!
//! The rule is conservative on purpose: a reply moves findings to `mitigation-claimed` only
//! when its writer plainly says so, and anything in between stays an acknowledgement that an
//! analyst is asked to read. The phrase lists are [`CLAIMS`] and [`DOUBTS`]; the module docs
//! of [`crate::inbox`] state the rule for users.

/// Phrases that claim a fix, as lower-case words in order (English, then Dutch).
pub const CLAIMS: &[&[&str]] = &[
    &["fixed"],
    &["patched"],
    &["remediated"],
    &["mitigated"],
    &["resolved"],
    &["updated", "to"],
    &["upgraded"],
    &["taken", "offline"],
    &["no", "longer", "exposed"],
    &["no", "longer", "vulnerable"],
    &["opgelost"],
    &["gepatcht"],
    &["gepatched"],
    &["verholpen"],
    &["bijgewerkt"],
    &["geüpdatet"],
    &["offline", "gehaald"],
    &["niet", "meer", "kwetsbaar"],
    &["niet", "langer", "kwetsbaar"],
];

/// Words that make a claim in the same sentence doubtful: negation, the future, plans,
/// conditions, hedging and partial fixes (English, then Dutch). Longer phrases come first so
/// that the reason names `not yet` rather than `not`. Besides these, a question mark and any
/// word ending in `n't` or `'ll` count.
pub const DOUBTS: &[&[&str]] = &[
    &["not", "yet"],
    &["nog", "niet"],
    &["not"],
    &["never"],
    &["yet"],
    &["cannot"],
    &["will"],
    &["would"],
    &["shall"],
    &["should"],
    &["must"],
    &["need"],
    &["needs"],
    &["going"],
    &["plan"],
    &["plans"],
    &["planned"],
    &["planning"],
    &["scheduled"],
    &["soon"],
    &["tomorrow"],
    &["later"],
    &["hope"],
    &["hopefully"],
    &["try"],
    &["trying"],
    &["may"],
    &["might"],
    &["maybe"],
    &["perhaps"],
    &["probably"],
    &["think"],
    &["believe"],
    &["partially"],
    &["partly"],
    &["some"],
    &["if"],
    &["unless"],
    &["whether"],
    &["niet"],
    &["nooit"],
    &["geen"],
    &["zal"],
    &["zullen"],
    &["zou"],
    &["zouden"],
    &["moet"],
    &["moeten"],
    &["gaan"],
    &["gaat"],
    &["gepland"],
    &["ingepland"],
    &["binnenkort"],
    &["morgen"],
    &["hopen"],
    &["hopelijk"],
    &["proberen"],
    &["misschien"],
    &["wellicht"],
    &["waarschijnlijk"],
    &["denk"],
    &["denken"],
    &["deels"],
    &["gedeeltelijk"],
    &["sommige"],
    &["indien"],
    &["tenzij"],
];

/// How a reply's own text reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reading {
    /// No claim of a fix: the reply acknowledges the message.
    Acknowledgement,
    /// A plain claim of a fix.
    Fixed {
        /// The claiming phrase, as in [`CLAIMS`].
        phrase: String,
        /// The sentence it is in.
        sentence: String,
    },
    /// A claim of a fix with a doubt in the same sentence: an acknowledgement for an analyst
    /// to read.
    Unclear {
        /// The claiming phrase.
        phrase: String,
        /// The doubting word or phrase (or `?`).
        doubt: String,
        /// The sentence.
        sentence: String,
    },
}

impl Reading {
    /// Why a reply is unclear, for the listing: `mentions a fix ('patched') but also 'not yet'`.
    pub fn reason(&self) -> Option<String> {
        match self {
            Reading::Unclear { phrase, doubt, .. } => {
                Some(format!("mentions a fix ('{phrase}') but also '{doubt}'"))
            }
            _ => None,
        }
    }
}

/// Reads `body`, a reply's text: its own text ([`own_text`]) claims a fix when a sentence
/// holds a phrase of [`CLAIMS`]; it is unclear when any sentence that holds one also holds a
/// doubt ([`DOUBTS`], `?`, a word ending in `n't` or `'ll`); otherwise it is an
/// acknowledgement.
pub fn read(body: &str) -> Reading {
    let mut fixed = None;
    for sentence in sentences(&own_text(body)) {
        let words = words(&sentence);
        let Some((phrase, claimed)) = claim_in(&words) else {
            continue;
        };
        if let Some(doubt) = doubt_in(&sentence, &words, &claimed) {
            return Reading::Unclear {
                phrase,
                doubt,
                sentence,
            };
        }
        fixed.get_or_insert(Reading::Fixed { phrase, sentence });
    }
    fixed.unwrap_or(Reading::Acknowledgement)
}

/// The reply's own text: lines quoted with `>` removed, and everything from the quoted
/// original on — an attribution line ending in `wrote:`, `schreef:` or `geschreven:` (and
/// the `On …`/`Op …` line before it when the attribution wraps), an `-----Original
/// Message-----` or `-----Oorspronkelijk bericht-----` separator, an Outlook header block
/// (`From:`/`Van:` followed by `Sent:`, `Date:`, `To:`, `Subject:` or their Dutch names),
/// or a signature (`-- `).
pub fn own_text(body: &str) -> String {
    let lines: Vec<&str> = body.lines().map(|l| l.trim_end_matches('\r')).collect();
    let mut kept: Vec<&str> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim();
        let lower = t.to_lowercase();
        if lower.ends_with("wrote:")
            || lower.ends_with("schreef:")
            || lower.ends_with("geschreven:")
        {
            // "On Mon, 13 Jan 2020 at 10:00, NCSC <baken@ncsc.example>\nwrote:"
            if let Some(prev) = kept.last() {
                let p = prev.trim().to_lowercase();
                if (p.starts_with("on ") || p.starts_with("op "))
                    && !lower.starts_with("on ")
                    && !lower.starts_with("op ")
                {
                    kept.pop();
                }
            }
            break;
        }
        if t == "--" || *line == "-- " {
            break;
        }
        if t.starts_with("-----")
            && ["original", "oorspronkelijk", "forwarded", "doorgestuurd"]
                .iter()
                .any(|w| lower.contains(w))
        {
            break;
        }
        if (lower.starts_with("from:") || lower.starts_with("van:"))
            && lines[i + 1..].iter().take(4).any(|next| {
                let n = next.trim().to_lowercase();
                [
                    "sent:",
                    "date:",
                    "to:",
                    "subject:",
                    "verzonden:",
                    "datum:",
                    "aan:",
                    "onderwerp:",
                ]
                .iter()
                .any(|h| n.starts_with(h))
            })
        {
            break;
        }
        if t.starts_with('>') {
            continue;
        }
        kept.push(line);
    }
    kept.join("\n")
}

/// The sentences of `text`: paragraphs (split at blank lines) with their lines joined, cut
/// after `.`, `!`, `?` or `;` that is followed by white space or ends the paragraph (so a
/// version such as 13.0.47.24 stays in one sentence). Each keeps its end mark.
pub fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for paragraph in text.split("\n\n").flat_map(|p| p.split("\n \n")) {
        let joined: String = paragraph
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let chars: Vec<char> = joined.chars().collect();
        let mut current = String::new();
        for (i, &c) in chars.iter().enumerate() {
            current.push(c);
            let ends = matches!(c, '.' | '!' | '?' | ';')
                && chars.get(i + 1).is_none_or(|n| n.is_whitespace());
            if ends {
                push_sentence(&mut out, &mut current);
            }
        }
        push_sentence(&mut out, &mut current);
    }
    out
}

fn push_sentence(out: &mut Vec<String>, current: &mut String) {
    let s = current.trim();
    if !s.is_empty() {
        out.push(s.to_string());
    }
    current.clear();
}

/// The lower-case words of a sentence: letters, digits and apostrophes (typographic ones
/// made plain).
fn words(sentence: &str) -> Vec<String> {
    sentence
        .to_lowercase()
        .replace(['\u{2019}', '\u{2018}'], "'")
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .map(|w| w.trim_matches('\''))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// The first claiming phrase in `words`, and the places of every claiming phrase's words
/// (which do not count as doubts: the `no` of `no longer exposed`).
fn claim_in(words: &[String]) -> Option<(String, Vec<bool>)> {
    let mut claimed = vec![false; words.len()];
    let mut first = None;
    for i in 0..words.len() {
        for phrase in CLAIMS {
            if starts_with(&words[i..], phrase) {
                claimed[i..i + phrase.len()].fill(true);
                first.get_or_insert_with(|| phrase.join(" "));
            }
        }
    }
    first.map(|p| (p, claimed))
}

/// The first doubt in a sentence, words covered by a claim aside.
fn doubt_in(sentence: &str, words: &[String], claimed: &[bool]) -> Option<String> {
    for phrase in DOUBTS {
        for i in 0..words.len() {
            if starts_with(&words[i..], phrase) && !claimed[i..i + phrase.len()].contains(&true) {
                return Some(phrase.join(" "));
            }
        }
    }
    if let Some(w) = words
        .iter()
        .zip(claimed)
        .find(|(w, c)| !**c && (w.ends_with("n't") || w.ends_with("'ll")))
    {
        return Some(w.0.clone());
    }
    sentence.contains('?').then(|| "?".to_string())
}

fn starts_with(words: &[String], phrase: &[&str]) -> bool {
    words.len() >= phrase.len() && words.iter().zip(phrase).all(|(w, p)| w == p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(body: &str, expected: &str) {
        let got = match read(body) {
            Reading::Acknowledgement => "ack".to_string(),
            Reading::Fixed { phrase, .. } => format!("fixed: {phrase}"),
            r @ Reading::Unclear { .. } => format!("unclear: {}", r.reason().unwrap()),
        };
        assert_eq!(got, expected, "reading {body:?}");
    }

    #[test]
    fn plain_claims_in_english_are_fixes() {
        check("We patched it yesterday.", "fixed: patched");
        check("Thanks, fixed!", "fixed: fixed");
        check(
            "Hi,\n\nwe have updated to 13.0.47.24 this morning.\n\nRegards,\nJan",
            "fixed: updated to",
        );
        check("The appliance was taken offline.", "fixed: taken offline");
        check("The host is no longer exposed", "fixed: no longer exposed");
        check("Remediated; see ticket 4711.", "fixed: remediated");
        check("We upgraded the gateway", "fixed: upgraded");
    }

    #[test]
    fn plain_claims_in_dutch_are_fixes() {
        check("Dank, het is opgelost.", "fixed: opgelost");
        check("We hebben de server gisteren gepatcht.", "fixed: gepatcht");
        check("Verholpen.", "fixed: verholpen");
        check(
            "De firmware is bijgewerkt naar 13.0.47.24.",
            "fixed: bijgewerkt",
        );
        check(
            "Het systeem is niet meer kwetsbaar.",
            "fixed: niet meer kwetsbaar",
        );
    }

    #[test]
    fn doubts_in_the_same_sentence_make_it_unclear() {
        check(
            "not yet patched, will update next week",
            "unclear: mentions a fix ('patched') but also 'not yet'",
        );
        check(
            "The patch is planned; we will have it patched by Friday.",
            "unclear: mentions a fix ('patched') but also 'will'",
        );
        check(
            "Is it fixed now that we restarted it?",
            "unclear: mentions a fix ('fixed') but also '?'",
        );
        check(
            "We haven't patched it",
            "unclear: mentions a fix ('patched') but also 'haven't'",
        );
        check(
            "We\u{2019}ll have it fixed tomorrow",
            "unclear: mentions a fix ('fixed') but also 'tomorrow'",
        );
        check(
            "Some systems are patched.",
            "unclear: mentions a fix ('patched') but also 'some'",
        );
        check(
            "Het is nog niet opgelost.",
            "unclear: mentions a fix ('opgelost') but also 'nog niet'",
        );
        check(
            "We zullen het morgen patchen en dan is het verholpen.",
            "unclear: mentions a fix ('verholpen') but also 'zullen'",
        );
        check(
            "De update is gepland, daarna is het bijgewerkt.",
            "unclear: mentions a fix ('bijgewerkt') but also 'gepland'",
        );
    }

    #[test]
    fn one_doubtful_sentence_outweighs_a_plain_one() {
        check(
            "Server A is patched. Server B is not patched yet.",
            "unclear: mentions a fix ('patched') but also 'not'",
        );
    }

    #[test]
    fn doubts_in_other_sentences_do_not_count() {
        check(
            "We patched it yesterday. We will keep watching.",
            "fixed: patched",
        );
    }

    #[test]
    fn claim_words_inside_other_words_do_not_count() {
        check("The server is still unpatched.", "ack");
        check("Thanks, we will look into it.", "ack");
        check("Received, thank you.", "ack");
    }

    #[test]
    fn quoted_text_is_ignored() {
        // the claim words are only in the quoted original
        check(
            "Thanks, we are looking into it.\n\n> Please tell us when it is fixed.\n> Fixed versions: 13.0.47.24\n",
            "ack",
        );
        check(
            "Received.\n\nOn Mon, 13 Jan 2020 at 10:00, NCSC baken <baken@ncsc.example> wrote:\nWhen it is fixed, reply.\n",
            "ack",
        );
        check(
            "Ontvangen.\n\nOp 13 jan. 2020 om 10:00 heeft NCSC baken <baken@ncsc.example> het volgende geschreven:\nopgelost?\n",
            "ack",
        );
        check(
            "Ok.\n-----Original Message-----\nFrom: baken@ncsc.example\nSent: Monday\n\nPatched versions are listed.\n",
            "ack",
        );
        check(
            "Ok.\n\nFrom: NCSC baken <baken@ncsc.example>\nSent: Monday 13 January 2020\nTo: soc@alpha.example\n\nfixed\n",
            "ack",
        );
        // and a negation in a quote does not doubt the reply's own claim
        check(
            "We patched it.\n\n> It is not fixed yet?\n",
            "fixed: patched",
        );
        check("Patched.\n-- \nJan, not a robot\nfixed\n", "fixed: patched");
    }

    #[test]
    fn a_wrapped_attribution_line_is_cut_with_its_first_half() {
        let own = own_text(
            "Thanks.\nOn Mon, 13 Jan 2020 at 10:00, NCSC baken <baken@ncsc.example>\nwrote:\n> text\n",
        );
        assert_eq!(own, "Thanks.");
    }

    #[test]
    fn versions_do_not_end_a_sentence() {
        assert_eq!(
            sentences("Updated to 13.0.47.24 today. Thanks!\nJan"),
            ["Updated to 13.0.47.24 today.", "Thanks!", "Jan"]
        );
        assert_eq!(
            sentences("line one\nline two\n\nnext paragraph"),
            ["line one line two", "next paragraph"]
        );
    }
}
