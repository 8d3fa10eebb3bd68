//! The caller's event, filled row after row in place: the Shadowserver parser's reuse of
//! buffers, kept here so that [`Event`] stays a plain value.
//!
//! A reader that fills one event per row ([`crate::RowStream::next_into`]) takes the
//! event's vector of fields out ([`Event::into_fields`]), writes the row's names and values
//! over those of the row before, and puts it back ([`Event::from_sorted_fields`]). Names
//! come from a [`FieldOrder`] made once per report, `'static` where they can be. Values are written
//! into the strings already there: a text is compared before it is copied (rows repeat a
//! value at the same place), and the strings of values dropped or overwritten by other
//! kinds are kept ([`Spare`]) for later rows' values, so that a stream of events allocates
//! nothing once its first rows are read.
//!
//! Justified by `bench/vs-intelmq.sh` (`crates/pipeline/examples/vs_intelmq.rs`, its
//! `stage_parse` and `parse` figures): filling a fresh vector of fresh strings per row
//! costs about a third of the parse. The tests below compare every way in with a plain
//! event built by [`Event::insert`], on random rows.

use std::borrow::Cow;

use serde_json::Value;

use crate::Event;

/// A field as an [`Event`] keeps it.
type Field = (Cow<'static, str>, Value);

/// The names an event of one report may have, sorted and unique: made once per report so
/// that rows can be filled by index without comparing names.
#[derive(Debug, Clone)]
pub(super) struct FieldOrder {
    names: Vec<Cow<'static, str>>,
}

impl FieldOrder {
    /// The order of `names` (sorted, duplicates dropped).
    pub(super) fn new(names: impl IntoIterator<Item = Cow<'static, str>>) -> FieldOrder {
        let mut names: Vec<Cow<'static, str>> = names.into_iter().collect();
        names.sort();
        names.dedup();
        FieldOrder { names }
    }

    /// The position of `name`, if it is one of the names.
    pub(super) fn index(&self, name: &str) -> Option<usize> {
        self.names.binary_search_by(|k| (**k).cmp(name)).ok()
    }

    /// The name at `index`.
    pub(super) fn name(&self, index: usize) -> &str {
        &self.names[index]
    }

    /// How many names there are.
    pub(super) fn len(&self) -> usize {
        self.names.len()
    }

    /// The names at `indices`, for [`reshape`].
    ///
    /// # Panics
    ///
    /// When the indices do not ascend or one is out of range.
    pub(super) fn list(&self, indices: &[usize]) -> FieldList {
        let mut last = None;
        let names: Vec<Cow<'static, str>> = indices
            .iter()
            .map(|&i| {
                assert!(
                    last.is_none_or(|l| l < i) && i < self.names.len(),
                    "FieldOrder::list: field indices must ascend within the order"
                );
                last = Some(i);
                self.names[i].clone()
            })
            .collect();
        let statics = names
            .iter()
            .map(|n| match n {
                Cow::Borrowed(s) => Some(*s),
                Cow::Owned(_) => None,
            })
            .collect();
        FieldList { names, statics }
    }
}

/// Names of a [`FieldOrder`], ascending, picked out once by [`FieldOrder::list`] for
/// [`reshape`].
#[derive(Debug, Clone, Default)]
pub(super) struct FieldList {
    names: Vec<Cow<'static, str>>,
    /// The same names when all are `'static` (most lists): each is written over the name
    /// in place, whatever that was, without telling the two kinds of name apart first.
    statics: Option<Vec<&'static str>>,
}

/// Strings of values dropped or overwritten, kept for later values.
#[derive(Default)]
pub(super) struct Spare(Vec<String>);

/// Strings a [`Spare`] keeps at most.
const SPARE_STRINGS: usize = 16;

/// The room of the strings values are written into, at least: most values (time stamps,
/// host names, tags) fit. A smaller string in the event, made by a later stage for a short
/// text of its own (a routing lookup's network text), is let go rather than grown as it
/// passes from field to field (`bench/vs-intelmq.sh`, stage `lookup`: a reallocation per
/// row otherwise).
const STRING_ROOM: usize = 32;

impl Spare {
    /// An empty string with room: one kept, or a new one.
    fn take(&mut self) -> String {
        match self.0.pop() {
            Some(mut s) => {
                s.clear();
                s
            }
            None => String::with_capacity(STRING_ROOM),
        }
    }

    /// Keeps `value`'s string, if it is one with room and there is room for it.
    fn keep(&mut self, value: Value) {
        if let Value::String(s) = value
            && s.capacity() >= STRING_ROOM
            && self.0.len() < SPARE_STRINGS
        {
            self.0.push(s);
        }
    }
}

/// Replaces all fields of `event` with `fields`: pairs of an index into `order` and a value,
/// in ascending index order. The values are moved in by swapping: each of the caller's
/// values is left holding what was at its place in the event (or `null`), so that a reader
/// refilling one event per row from its own reused values moves buffers back and forth.
///
/// # Panics
///
/// When the indices do not ascend or one is out of `order`'s range.
pub(super) fn refill<'v>(
    event: &mut Event,
    order: &FieldOrder,
    fields: impl IntoIterator<Item = (usize, &'v mut Value)>,
) {
    let mut event_fields = std::mem::take(event).into_fields();
    let mut n = 0;
    let mut last: Option<usize> = None;
    for (index, value) in fields {
        assert!(
            last.is_none_or(|l| l < index) && index < order.names.len(),
            "refill: field indices must ascend within the order"
        );
        last = Some(index);
        let name = &order.names[index];
        match event_fields.get_mut(n) {
            Some((k, v)) => {
                let same = match (&*k, name) {
                    (Cow::Borrowed(a), Cow::Borrowed(b)) => std::ptr::eq(*a, *b),
                    (a, b) => a == b,
                };
                if !same {
                    *k = name.clone();
                }
                std::mem::swap(v, value);
            }
            None => event_fields.push((name.clone(), std::mem::replace(value, Value::Null))),
        }
        n += 1;
    }
    event_fields.truncate(n);
    *event = Event::from_sorted_fields(event_fields);
}

/// Gives `event` the fields of `list` and hands out their values by position, to be
/// overwritten: a reader that fills one event per row writes each row's values into the
/// buffers the last row left. The value at a position is whatever was at that position
/// before (`null` past the old end), not necessarily the value of the field now named
/// there: every value must be written, best through [`FieldValues::set`],
/// [`FieldValues::set_str`] and [`FieldValues::trade`], which reuse strings. The fields go
/// back into the event when the [`FieldValues`] is dropped.
pub(super) fn reshape<'a>(
    event: &'a mut Event,
    spare: &'a mut Spare,
    list: &FieldList,
) -> FieldValues<'a> {
    let mut fields = std::mem::take(event).into_fields();
    let n = list.names.len();
    for (_, v) in fields.drain(n.min(fields.len())..) {
        spare.keep(v);
    }
    // the fields the event has, renamed in place; then new ones, null
    let kept = fields.len();
    match &list.statics {
        Some(names) => {
            for ((k, _), &name) in fields.iter_mut().zip(names) {
                *k = Cow::Borrowed(name);
            }
            for &name in &names[kept..] {
                fields.push((Cow::Borrowed(name), Value::Null));
            }
        }
        None => {
            for ((k, _), name) in fields.iter_mut().zip(&list.names) {
                if *k != *name {
                    *k = name.clone();
                }
            }
            for name in &list.names[kept..] {
                fields.push((name.clone(), Value::Null));
            }
        }
    }
    FieldValues {
        event,
        fields,
        spare,
    }
}

/// The values of an event's fields by position, as [`reshape`] hands them out; back in the
/// event when dropped.
pub(super) struct FieldValues<'a> {
    event: &'a mut Event,
    fields: Vec<Field>,
    spare: &'a mut Spare,
}

impl Drop for FieldValues<'_> {
    fn drop(&mut self) {
        *self.event = Event::from_sorted_fields(std::mem::take(&mut self.fields));
    }
}

impl FieldValues<'_> {
    /// The value of the field at `position`.
    pub(super) fn get(&mut self, position: usize) -> &mut Value {
        &mut self.fields[position].1
    }

    /// Sets the value at `position` to a copy of `value`, into the string already there or
    /// a kept one when `value` is a string.
    #[inline(always)]
    pub(super) fn set(&mut self, position: usize, value: &Value) {
        match value {
            Value::String(s) => self.set_str(position, s),
            value => {
                let old = std::mem::replace(&mut self.fields[position].1, value.clone());
                self.spare.keep(old);
            }
        }
    }

    /// Sets the value at `position` to the string `text`, as [`FieldValues::set`] does.
    #[inline(always)]
    pub(super) fn set_str(&mut self, position: usize, text: &str) {
        let dst = &mut self.fields[position].1;
        if let Value::String(d) = dst {
            // rows often repeat a value at the same place: a comparison inline is cheaper
            // than a copy through `memcpy`
            if !same_text(d.as_bytes(), text.as_bytes()) {
                if d.capacity() < text.len() {
                    *d = self.spare.take();
                }
                d.clear();
                push_short(d, text);
            }
            return;
        }
        let mut s = self.spare.take();
        push_short(&mut s, text);
        *dst = Value::String(s);
    }

    /// Puts `value` at `position`. A string moves in, and leaves in `value` the string that
    /// was there, or an empty kept one (or a new one); any other value is copied in, as by
    /// [`FieldValues::set`]. For a writer that works strings out in its own buffers and
    /// trades them for the event's, so that strings go back and forth rather than being
    /// dropped and made anew.
    #[inline]
    pub(super) fn trade(&mut self, position: usize, value: &mut Value) {
        if !matches!(value, Value::String(_)) {
            self.set(position, value);
            return;
        }
        let dst = &mut self.fields[position].1;
        std::mem::swap(dst, value);
        match value {
            Value::String(s) if s.capacity() >= STRING_ROOM => {}
            _ => *value = Value::String(self.spare.take()),
        }
    }
}

/// `a == b`, eight bytes at a time and inline: field values and cell texts are short, where
/// a call into `memcmp` per comparison costs more than the comparison. The last bytes are
/// compared as one (overlapping) word rather than one by one.
#[inline]
pub(super) fn same_text(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    // the first `N` bytes and the last `N` (which may overlap), as numbers
    fn ends<const N: usize>(x: &[u8]) -> ([u8; N], [u8; N]) {
        let first = x.first_chunk::<N>().copied().unwrap_or([0; N]);
        let last = x.last_chunk::<N>().copied().unwrap_or([0; N]);
        (first, last)
    }
    match n {
        0 => true,
        1 => a[0] == b[0],
        2..=3 => ends::<2>(a) == ends::<2>(b),
        4..=7 => ends::<4>(a) == ends::<4>(b),
        _ => {
            let mut i = 0;
            while i + 8 < n {
                let (x, _) = ends::<8>(&a[i..]);
                let (y, _) = ends::<8>(&b[i..]);
                if x != y {
                    return false;
                }
                i += 8;
            }
            ends::<8>(a).1 == ends::<8>(b).1
        }
    }
}

/// `out.push_str(text)`, with the copy of a text of up to 24 bytes (most values) written
/// inline for its length rather than through a call into `memcpy`.
#[inline(always)]
fn push_short(out: &mut String, text: &str) {
    macro_rules! by_length {
        ($($n:literal)*) => {
            match text.len() {
                $($n => out.push_str(&text[..$n]),)*
                _ => out.push_str(text),
            }
        };
    }
    by_length!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Names of the orders below: `'static` and owned ones, sharing long beginnings.
    const NAMES: [&str; 8] = [
        "extra.tag",
        "feed.name",
        "source.geolocation.cc",
        "source.geolocation.city",
        "source.ip",
        "source.port",
        "time.source",
        "é",
    ];

    fn order() -> FieldOrder {
        FieldOrder::new(
            NAMES
                .iter()
                .enumerate()
                .map(|(i, &n)| match i % 3 {
                    2 => Cow::Owned(n.to_string()),
                    _ => Cow::Borrowed(n),
                })
                // a name given twice is kept once
                .chain([Cow::Borrowed("source.ip")]),
        )
    }

    /// How a value is written into a filled event.
    #[derive(Debug, Clone)]
    enum Write {
        Set(Value),
        SetStr(String),
        Trade(Value),
    }

    fn value() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<i64>().prop_map(Value::from),
            "[a-zé0-9.:]{0,30}".prop_map(Value::from),
            Just(Value::Null),
        ]
    }

    fn write() -> impl Strategy<Value = Write> {
        prop_oneof![
            value().prop_map(Write::Set),
            "[a-zé0-9.:]{0,30}".prop_map(Write::SetStr),
            value().prop_map(Write::Trade),
        ]
    }

    /// One row: which names of the order it has (a bit each), what is written at each, and
    /// what the caller does to the event afterwards (nothing, or adds, changes and removes
    /// fields of its own).
    fn rows() -> impl Strategy<Value = Vec<(u8, Vec<Write>, bool)>> {
        let row = (
            any::<u8>(),
            proptest::collection::vec(write(), 8),
            any::<bool>(),
        );
        proptest::collection::vec(row, 1..12)
    }

    /// What the caller of a reader may do to the event between rows.
    fn meddle(event: &mut Event) {
        event.insert_static("source.asn", 64496);
        event.insert_static("aaa", "first");
        event.insert("zzz", Value::Null);
        event.remove("feed.name");
        let first = event.iter().next().map(|(k, _)| k.to_string());
        if let Some(k) = first {
            event.insert(k, 7);
        }
    }

    proptest! {
        /// One event filled row after row by [`reshape`] and its writes, or by [`refill`],
        /// is each time the event a plain [`Event::insert`] of the row's fields gives.
        #[test]
        fn filling_in_place_equals_inserting(rows in rows()) {
            let order = order();
            let mut spare = Spare::default();
            let (mut reshaped, mut refilled) = (Event::new(), Event::new());
            // the reader's own values, moved back and forth by `refill` and `trade`
            let mut mine: Vec<Value> = vec![Value::Null; order.len()];
            for (bits, writes, meddling) in rows {
                let indices: Vec<usize> =
                    (0..order.len()).filter(|i| bits & (1 << i) != 0).collect();
                let mut plain = Event::new();
                let mut values = reshape(&mut reshaped, &mut spare, &order.list(&indices));
                for (pos, &i) in indices.iter().enumerate() {
                    let written = match &writes[i] {
                        Write::Set(v) => {
                            values.set(pos, v);
                            v.clone()
                        }
                        Write::SetStr(s) => {
                            values.set_str(pos, s);
                            Value::from(s.as_str())
                        }
                        Write::Trade(v) => {
                            mine[i] = v.clone();
                            values.trade(pos, &mut mine[i]);
                            if !v.is_string() {
                                prop_assert_eq!(&mine[i], v, "a number stays the trader's");
                            }
                            v.clone()
                        }
                    };
                    mine[i] = written.clone();
                    plain.insert(order.name(i), written);
                }
                drop(values);
                prop_assert_eq!(&reshaped, &plain);
                prop_assert_eq!(reshaped.to_json_line(), plain.to_json_line());
                refill(
                    &mut refilled,
                    &order,
                    mine.iter_mut().enumerate().filter(|(i, _)| indices.contains(i)),
                );
                prop_assert_eq!(&refilled, &plain);
                if meddling {
                    meddle(&mut reshaped);
                    meddle(&mut refilled);
                }
            }
        }

        #[test]
        fn same_text_is_equality(a in "[a-cé]{0,40}", b in "[a-cé]{0,40}") {
            prop_assert_eq!(same_text(a.as_bytes(), b.as_bytes()), a == b);
            prop_assert!(same_text(a.as_bytes(), a.clone().as_bytes()));
        }
    }

    #[test]
    fn an_order_is_sorted_and_finds_its_names() {
        let order = order();
        assert_eq!(order.len(), NAMES.len());
        for (i, n) in NAMES.iter().enumerate() {
            assert_eq!(order.index(n), Some(i));
            assert_eq!(order.name(i), *n);
        }
        assert_eq!(order.index("source.i"), None);
    }

    #[test]
    fn strings_dropped_or_overwritten_are_reused_for_later_values() {
        let order = FieldOrder::new(["a", "b", "c"].map(Cow::Borrowed));
        let all = order.list(&[0, 1, 2]);
        let mut spare = Spare::default();
        let mut e = Event::new();
        let mut values = reshape(&mut e, &mut spare, &all);
        values.set_str(0, "a string of row one");
        values.set(1, &Value::from(7));
        values.set_str(2, "another string of row one");
        drop(values);
        let c = e.get_str("c").unwrap().as_ptr();
        // `c` is dropped: its string is kept, and `b`, a number until now, takes it
        let mut values = reshape(&mut e, &mut spare, &order.list(&[0, 1]));
        values.set_str(1, "b of row two");
        drop(values);
        assert_eq!(e.get_str("b").unwrap().as_ptr(), c);
        assert_eq!(e.get_str("b"), Some("b of row two"));
        // a string overwritten by a number is kept too, for `c` when it is back
        let a = e.get_str("a").unwrap().as_ptr();
        let mut values = reshape(&mut e, &mut spare, &all);
        values.set(0, &Value::Null);
        values.set(1, &Value::from("b of row three"));
        values.set(2, &Value::from("c of row three"));
        drop(values);
        assert_eq!(e.get_str("c").unwrap().as_ptr(), a);
        assert_eq!(
            e.to_json_line(),
            r#"{"a":null,"b":"b of row three","c":"c of row three"}"#
        );
        // a string written over a string keeps its buffer
        let b = e.get_str("b").unwrap().as_ptr();
        let mut values = reshape(&mut e, &mut spare, &all);
        values.set_str(1, "b again");
        drop(values);
        assert_eq!(e.get_str("b").map(str::as_ptr), Some(b));
    }

    #[test]
    fn traded_strings_go_back_and_forth() {
        let order = FieldOrder::new(["a", "b"].map(Cow::Borrowed));
        let both = order.list(&[0, 1]);
        let mut spare = Spare::default();
        let mut e = Event::new();
        let mut values = reshape(&mut e, &mut spare, &both);
        values.set_str(0, "the event's a");
        values.set(1, &Value::from(7));
        drop(values);
        let a = e.get_str("a").unwrap().as_ptr();
        // a string moves in, and the one it replaces moves out
        let mut mine = String::with_capacity(STRING_ROOM);
        mine.push_str("my a");
        let mut mine = Value::String(mine);
        let m = mine.as_str().unwrap().as_ptr();
        reshape(&mut e, &mut spare, &both).trade(0, &mut mine);
        assert_eq!(mine.as_str().map(str::as_ptr), Some(a));
        assert_eq!(e.get_str("a").map(str::as_ptr), Some(m));
        // where the event has no string, a kept one comes out: `a`'s, overwritten by a number
        reshape(&mut e, &mut spare, &both).set(0, &Value::from(1));
        let mut again = Value::from("b now");
        reshape(&mut e, &mut spare, &both).trade(1, &mut again);
        assert_eq!(again.as_str().map(|s| (s, s.as_ptr())), Some(("", m)));
        assert_eq!(e.to_json_line(), r#"{"a":1,"b":"b now"}"#);
        // a string without room ("b now", a later stage's, say) is let go, not handed out to
        // be grown; one with room comes out instead
        let mut long = Value::from("a text longer than the room of a short string");
        reshape(&mut e, &mut spare, &both).trade(1, &mut long);
        assert!(long.as_str().is_some_and(|s| s.is_empty()));
        assert!(matches!(&long, Value::String(s) if s.capacity() >= STRING_ROOM));
        let mut values = reshape(&mut e, &mut spare, &both);
        values.set(1, &Value::from("ab"));
        drop(values);
        assert_eq!(e.to_json_line(), r#"{"a":1,"b":"ab"}"#);
    }

    #[test]
    fn refill_hands_back_what_was_at_each_place() {
        let order = FieldOrder::new(["a", "b"].map(Cow::Borrowed));
        let mut e = Event::new();
        e.insert("stale", "gone");
        let (mut a, mut b) = (Value::from(1), Value::from("b"));
        refill(&mut e, &order, [(0, &mut a), (1, &mut b)]);
        assert_eq!(a, Value::from("gone"));
        assert_eq!(b, Value::Null);
        assert_eq!(e.to_json_line(), r#"{"a":1,"b":"b"}"#);
    }

    #[test]
    fn short_strings_are_pushed_whole_at_every_length() {
        for n in 0..40 {
            for text in ["a".repeat(n), "é".repeat(n / 2), "x€".repeat(n / 4)] {
                let mut out = String::from("before ");
                push_short(&mut out, &text);
                assert_eq!(out, format!("before {text}"), "length {}", text.len());
            }
        }
    }

    #[test]
    fn same_text_is_byte_equality_at_every_length_and_every_differing_byte() {
        for n in 0..=40usize {
            let a: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
            assert!(same_text(&a, &a.clone()), "length {n}");
            for at in 0..n {
                let mut b = a.clone();
                b[at] ^= 0x20;
                assert!(!same_text(&a, &b), "length {n}, byte {at} differs");
            }
            let mut longer = a.clone();
            longer.push(b'a');
            assert!(
                !same_text(&a, &longer) && !same_text(&longer, &a),
                "lengths {n}, {}",
                n + 1
            );
        }
    }

    #[test]
    #[should_panic(expected = "must ascend")]
    fn a_list_refuses_indices_out_of_order() {
        let order = FieldOrder::new(["a", "b"].map(Cow::Borrowed));
        order.list(&[1, 0]);
    }

    #[test]
    #[should_panic(expected = "must ascend")]
    fn refill_refuses_indices_out_of_order() {
        let order = FieldOrder::new(["a", "b"].map(Cow::Borrowed));
        let (mut a, mut b) = (Value::from(1), Value::from(2));
        refill(&mut Event::new(), &order, [(1, &mut a), (0, &mut b)]);
    }
}
