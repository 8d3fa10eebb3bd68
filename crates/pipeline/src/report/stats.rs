//! The statistics of the report: median, percentiles and the day buckets of the remediation
//! curve, as plain functions over plain numbers.

use chrono::{DateTime, Duration, NaiveDate, Utc};

/// The median of `values`: the middle value, or the mean of the two middle values for an
/// even count; `None` when there are none.
pub fn median(values: &[f64]) -> Option<f64> {
    let v = sorted(values);
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
    }
}

/// The `p`-th percentile of `values` by nearest rank: the smallest value that at least `p`
/// per cent of the values do not exceed (the value of rank ⌈p·n/100⌉); `None` when there are
/// none.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    let v = sorted(values);
    if v.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    Some(v[rank.clamp(1, v.len()) - 1])
}

fn sorted(values: &[f64]) -> Vec<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    v.sort_by(f64::total_cmp);
    v
}

/// Hours from `from` to `to` (negative when `to` is earlier).
pub fn hours(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_milliseconds() as f64 / 3_600_000.0
}

/// When a finding was open: from `first_seen`, then closed by each verified fix and opened
/// again by each reopening, in the order they were recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenSpans {
    /// First seen.
    pub first_seen: DateTime<Utc>,
    /// Fixes (`false`) and reopenings (`true`), oldest first.
    pub changes: Vec<(DateTime<Utc>, bool)>,
}

impl OpenSpans {
    /// Whether the finding was open at instant `t`: first seen at or before it, and its last
    /// change before it (if any) a reopening.
    pub fn open_at(&self, t: DateTime<Utc>) -> bool {
        if self.first_seen > t {
            return false;
        }
        self.changes
            .iter()
            .take_while(|(at, _)| *at <= t)
            .last()
            .is_none_or(|(_, open)| *open)
    }

    /// Whether the finding was open at the end of `day` (24:00 UTC): counted on a day from the
    /// day it was first seen up to, not including, the day it was verified fixed.
    pub fn open_on(&self, day: NaiveDate) -> bool {
        self.open_at(end_of(day))
    }
}

/// The last instant counted in `day`: just before midnight UTC of the next day.
pub fn end_of(day: NaiveDate) -> DateTime<Utc> {
    let next = day.succ_opt().unwrap_or(day);
    next.and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc()
        - Duration::milliseconds(1)
}

/// Every day from `first` to `last`, both included.
pub fn days(first: NaiveDate, last: NaiveDate) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    let mut d = first;
    while d <= last {
        out.push(d);
        match d.succ_opt() {
            Some(n) => d = n,
            None => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn median_takes_the_middle_or_the_mean_of_the_two_middles() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[5.0]), Some(5.0));
        assert_eq!(median(&[9.0, 1.0, 5.0]), Some(5.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[f64::NAN, 2.0]), Some(2.0), "NaN is no value");
    }

    #[test]
    fn percentile_is_the_nearest_rank() {
        assert_eq!(percentile(&[], 90.0), None);
        assert_eq!(percentile(&[7.0], 90.0), Some(7.0));
        let ten: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&ten, 90.0), Some(9.0), "rank ⌈0.9·10⌉ = 9");
        assert_eq!(percentile(&ten, 50.0), Some(5.0));
        assert_eq!(percentile(&ten, 100.0), Some(10.0));
        assert_eq!(percentile(&ten, 0.0), Some(1.0));
        let eleven: Vec<f64> = (1..=11).rev().map(f64::from).collect();
        assert_eq!(percentile(&eleven, 90.0), Some(10.0), "rank ⌈9.9⌉ = 10");
        assert_eq!(percentile(&[3.0, 1.0], 90.0), Some(3.0));
    }

    #[test]
    fn hours_between_two_times() {
        assert_eq!(
            hours(t("2020-01-10T06:00:00Z"), t("2020-01-11T18:30:00Z")),
            36.5
        );
        assert_eq!(
            hours(t("2020-01-10T06:00:00Z"), t("2020-01-10T05:00:00Z")),
            -1.0
        );
    }

    #[test]
    fn a_finding_is_open_from_its_first_day_until_the_day_it_is_fixed() {
        let spans = OpenSpans {
            first_seen: t("2020-01-10T06:00:00Z"),
            changes: vec![(t("2020-01-12T09:00:00Z"), false)],
        };
        assert!(!spans.open_on(d("2020-01-09")));
        assert!(
            spans.open_on(d("2020-01-10")),
            "counted on the day first seen"
        );
        assert!(spans.open_on(d("2020-01-11")));
        assert!(
            !spans.open_on(d("2020-01-12")),
            "not on the day it is fixed"
        );
        assert!(!spans.open_on(d("2020-01-13")));
    }

    #[test]
    fn a_reopened_finding_is_open_again_from_the_day_it_is_reopened() {
        let spans = OpenSpans {
            first_seen: t("2020-01-10T23:59:59Z"),
            changes: vec![
                (t("2020-01-11T00:00:00Z"), false),
                (t("2020-01-13T08:00:00Z"), true),
                (t("2020-01-15T08:00:00Z"), false),
            ],
        };
        let open: Vec<bool> = days(d("2020-01-10"), d("2020-01-16"))
            .into_iter()
            .map(|day| spans.open_on(day))
            .collect();
        assert_eq!(open, [true, false, false, true, true, false, false]);
    }

    #[test]
    fn fixed_and_reopened_the_same_day_is_open_that_day() {
        let spans = OpenSpans {
            first_seen: t("2020-01-10T06:00:00Z"),
            changes: vec![
                (t("2020-01-11T06:00:00Z"), false),
                (t("2020-01-11T18:00:00Z"), true),
            ],
        };
        assert!(spans.open_on(d("2020-01-11")));
        let same_day = OpenSpans {
            first_seen: t("2020-01-10T06:00:00Z"),
            changes: vec![(t("2020-01-10T18:00:00Z"), false)],
        };
        assert!(
            !same_day.open_on(d("2020-01-10")),
            "fixed the day it was first seen: never open at a day's end"
        );
    }

    #[test]
    fn days_include_both_ends() {
        assert_eq!(days(d("2020-02-28"), d("2020-03-01")).len(), 3);
        assert_eq!(days(d("2020-01-10"), d("2020-01-10")).len(), 1);
        assert!(days(d("2020-01-11"), d("2020-01-10")).is_empty());
    }
}
