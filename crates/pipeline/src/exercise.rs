//! Exercises: drills that run through the real chain under incidents of their own.
//!
//! An exercise's findings belong to the incident `exercise-<id>-<what>` (e.g.
//! `exercise-citrix1-cve-2019-19781`), never to the real incident it rehearses: its scan rows
//! carry that name as their `classification.identifier` and no CVE, and its advisory names
//! no CVE either, so nothing links it to the real incident or the real incident to it. Every
//! message about such an incident says that it is an exercise (see [`crate::message`]), and
//! the readiness indicators leave such incidents out.
//!
//! ```
//! use baken_pipeline::exercise;
//! let incident = exercise::incident("citrix1", "CVE-2019-19781");
//! assert_eq!(incident, "exercise-citrix1-cve-2019-19781");
//! assert_eq!(exercise::exercise_of(&incident), Some("citrix1"));
//! assert_eq!(exercise::exercise_of("cve-2019-19781"), None);
//! ```

/// What every exercise incident's name begins with.
pub const PREFIX: &str = "exercise-";

/// The incident of exercise `id` rehearsing `what` (a CVE or a short name), lower case.
pub fn incident(id: &str, what: &str) -> String {
    format!("{PREFIX}{id}-{what}").to_ascii_lowercase()
}

/// The exercise an incident belongs to, when it is an exercise's incident.
pub fn exercise_of(incident: &str) -> Option<&str> {
    let rest = incident.get(..PREFIX.len()).and_then(|p| {
        p.eq_ignore_ascii_case(PREFIX)
            .then(|| &incident[PREFIX.len()..])
    })?;
    let (id, what) = rest.split_once('-')?;
    (valid_id(id) && !what.is_empty()).then_some(id)
}

/// Whether `incident` is an exercise's.
pub fn is_exercise(incident: &str) -> bool {
    exercise_of(incident).is_some()
}

/// Whether `id` can name an exercise: 1 to 32 lower-case ASCII letters and digits.
pub fn valid_id(id: &str) -> bool {
    (1..=32).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_of_the_exercise_form_are_exercises() {
        assert_eq!(exercise_of("exercise-ab12-supplier"), Some("ab12"));
        assert_eq!(exercise_of("EXERCISE-ab12-cve-2019-11510"), Some("ab12"));
        for real in [
            "cve-2019-19781",
            "exercise",
            "exercise-",
            "exercise-ab12",
            "exercise-ab12-",
            "exercise--x",
            "exercise-Ab_1-x",
            "vulnerable-http",
        ] {
            assert_eq!(exercise_of(real), None, "{real}");
        }
    }
}
