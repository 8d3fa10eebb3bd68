//! The protected list as a file: one `name [owner]` a line, `#` starting a comment.

use crate::scan::Protected;

/// A line of a protected list that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, field {field}: {message}")]
pub struct ListError {
    /// Line number, from 1.
    pub line: usize,
    /// `name` or `owner`.
    pub field: &'static str,
    /// What is wrong and what to write instead.
    pub message: String,
}

/// Reads a protected list: the names it could read, and the lines it could not.
pub fn parse(text: &str) -> (Vec<Protected>, Vec<ListError>) {
    let mut names = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let content = line.split('#').next().unwrap_or("");
        let fields: Vec<&str> = content.split_whitespace().collect();
        match fields.as_slice() {
            [] => {}
            [name] | [name, _] => {
                let owner = fields.get(1).map(|o| o.to_string());
                match crate::domain::normalise(name)
                    .and_then(|n| crate::domain::to_ascii(&n).map(|a| a.into_owned()))
                    .filter(|a| crate::domain::is_host_name(a))
                {
                    Some(ascii) => names.push(Protected { name: ascii, owner }),
                    None => errors.push(ListError {
                        line: line_no,
                        field: "name",
                        message: format!("{name:?} is not a domain name (write e.g. rivm.nl)"),
                    }),
                }
            }
            [_, _, extra, ..] => errors.push(ListError {
                line: line_no,
                field: "owner",
                message: format!(
                    "{} fields where `name [owner]` has two; {extra:?} is one too many",
                    fields.len()
                ),
            }),
        }
    }
    (names, errors)
}

/// Writes a protected list in the form `parse` reads.
pub fn format(names: &[Protected]) -> String {
    let mut s = String::from("# protected names: name [owner]\n");
    for p in names {
        s.push_str(&p.name);
        if let Some(o) = &p.owner {
            s.push(' ');
            s.push_str(o);
        }
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes() {
        let (names, errors) = parse(
            "# list\nrivm.nl rivm\nGovernment.Example   # no owner\n\nbad_name.nl\na.nl b c\n",
        );
        assert_eq!(
            names,
            [
                Protected {
                    name: "rivm.nl".into(),
                    owner: Some("rivm".into())
                },
                Protected {
                    name: "government.example".into(),
                    owner: None
                },
            ]
        );
        assert_eq!(errors.len(), 2);
        assert_eq!((errors[0].line, errors[0].field), (5, "name"));
        assert_eq!((errors[1].line, errors[1].field), (6, "owner"));
        assert_eq!(parse(&format(&names)).0, names);
    }
}
