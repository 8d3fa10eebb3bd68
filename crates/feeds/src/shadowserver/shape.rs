//! Rows of a shape already seen: the parser's fast path.
//!
//! [`parse_row`](super::parse_row) follows IntelMQ step by step: every value goes through
//! `Message.add`'s bookkeeping on a scratch event (is the key there, is it `extra`, what
//! is left to `extra`), and the finished fields are then moved into the caller's event.
//! That bookkeeping depends on the kind of each step's outcome (stored, ignored, invalid,
//! `extra`, …; its [`code`]) and on whether each column left over is missing, empty or
//! not, never on the values themselves. Two rows that agree in those take the same path
//! through it and give events of the same fields, each field's value from the same place:
//! the same step's outcome, the same left-over cell, or a constant.
//!
//! A [`Shape`] records those places, learnt from a row the general path read. For a later
//! row the outcomes are worked out step by step as usual (remembered per distinct text by
//! the memos, or written into a buffer reused from row to row), their codes looked up among
//! the shapes (the last row's first), and the values written straight into the caller's
//! event at their places, its fields set by [`fields::reshape`]. A row of a shape not seen
//! yet, or one that fails, goes the general way, and its shape is learnt. The result is the
//! same event either way: tests compare both paths on generated rows, with and without
//! remembered outcomes and with a caller that changes the event between rows, and the
//! IntelMQ differential test runs over every report type with both paths in use.

use serde_json::Value;

use super::fields::{self, FieldList, FieldOrder, FieldValues};
use super::harmonize::{AddError, Eval};
use super::{
    Event, Outcome, Plain, Plan, RowView, Scratch, Work, outcome, outcome_into, raw_value,
};

/// The code of a step that has no column in this report (optional steps only).
pub(super) const SKIP: u8 = 0;
/// The code of an outcome that fails the row: never part of a shape.
const FAILS: u8 = u8::MAX;

/// The kind of a step's outcome: what `Message.add`'s bookkeeping does with it.
pub(super) fn code(outcome: &Outcome) -> u8 {
    match outcome {
        Outcome::NoValue => 1,
        Outcome::Add(Eval::Ignored) => 2,
        Outcome::Add(Eval::Store(_)) => 3,
        Outcome::Add(Eval::Invalid) => 4,
        Outcome::Add(Eval::Fails(AddError::InvalidKey)) => 5,
        Outcome::Extra(_) => 6,
        Outcome::Consumed => 7,
        Outcome::InvalidKey(_) => 8,
        Outcome::ConvFailed(_) | Outcome::Broken | Outcome::Add(Eval::Fails(_)) => FAILS,
    }
}

/// Where a field of the event takes its value from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Src {
    /// A constant: `time.observation`, `feed.*`, the report's constant fields.
    Const,
    /// The outcome of a step (an index into the required steps, then the optional ones).
    Step(u32),
    /// A column left to `extra`: its cell as text, or `null` when the row has no such cell.
    Cell(u32),
    /// `raw`.
    Raw,
}

/// What a left-over column's cell is: missing (the row is short), empty, or a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CellClass {
    Missing,
    Empty,
    Text,
}

impl CellClass {
    pub(super) fn of(cell: Option<&str>) -> Self {
        match cell {
            None => CellClass::Missing,
            Some("") => CellClass::Empty,
            Some(_) => CellClass::Text,
        }
    }
}

/// No place in the event.
const NOWHERE: u32 = u32::MAX;
/// In [`Work`]'s `got`: the step's outcome is in `owned`, worked out for this row alone
/// (any other value is the index of the outcome its memo keeps).
pub(super) const OWNED: u32 = u32::MAX;

/// The fields of the event a row of one shape gives, and where each takes its value.
pub(super) struct Shape {
    /// Each step's [`code`].
    codes: Vec<u8>,
    /// The columns left to `extra`, with their cells' class, as [`parse_row`] lists them.
    leftover: Vec<(usize, CellClass)>,
    /// The event's fields: their names, picked out of [`Plan::order`].
    fields: FieldList,
    /// Per step: the position in `fields` its value goes to, or [`NOWHERE`].
    dest: Vec<u32>,
    /// Constant fields: position and value.
    consts: Vec<(u32, Value)>,
    /// The left-over columns: slot, class, and the position their cell goes to.
    cells: Vec<(usize, CellClass, u32)>,
    /// The position of `raw`, or [`NOWHERE`].
    raw: u32,
}

/// The shapes of a report's rows seen so far.
#[derive(Default)]
pub(super) struct Shapes {
    list: Vec<Shape>,
    /// The shape of the last row.
    current: Option<usize>,
    /// The next one to give way when the list is full.
    evict: usize,
    /// Rows tried, and of them those that took the general path: a report whose rows
    /// rarely repeat a shape stops trying after a while.
    tried: u32,
    missed: u32,
    off: bool,
}

/// At most this many shapes are remembered per report.
const MAX_SHAPES: usize = 16;
/// After this many rows a report whose rows take the general path more than half of the
/// time is no longer tried against shapes.
const SHAPE_TRIAL: u32 = 4096;

impl Shapes {
    /// Records the shape of the row [`parse_row`](super::parse_row) has just read into
    /// `scratch` (successfully), and makes it the current one.
    pub(super) fn learn(
        &mut self,
        order: &FieldOrder,
        scratch: &Scratch,
        codes: &[u8],
        leftover: &[(usize, CellClass)],
    ) {
        if self.tried < SHAPE_TRIAL {
            self.missed += 1;
        }
        if let Some(i) = self
            .list
            .iter()
            .position(|s| s.codes == codes && s.leftover == leftover)
        {
            self.current = Some(i);
            return;
        }
        let (set, pending) = (&scratch.set, &scratch.pending);
        let fields: Vec<usize> = (0..scratch.values.len())
            .filter(|&f| set.get(f) || pending.get(f))
            .collect();
        let mut shape = Shape {
            codes: codes.to_vec(),
            leftover: leftover.to_vec(),
            dest: vec![NOWHERE; codes.len()],
            consts: Vec::new(),
            cells: leftover
                .iter()
                .map(|&(slot, class)| (slot, class, NOWHERE))
                .collect(),
            raw: NOWHERE,
            fields: FieldList::default(),
        };
        for (pos, &f) in fields.iter().enumerate() {
            let pos = u32::try_from(pos).expect("an event has fewer than 2^32 fields");
            match scratch.sources[f] {
                Src::Const => shape.consts.push((pos, scratch.values[f].clone())),
                Src::Step(j) => shape.dest[j as usize] = pos,
                Src::Cell(slot) => {
                    if let Some(cell) = shape.cells.iter_mut().find(|c| c.0 == slot as usize) {
                        cell.2 = pos;
                    }
                }
                Src::Raw => shape.raw = pos,
            }
        }
        // every field must be written by every row of the shape (the event's values are
        // overwritten, not cleared): a shape that misses one is not kept
        let written = shape.consts.len()
            + shape.dest.iter().filter(|&&p| p != NOWHERE).count()
            + shape.cells.iter().filter(|c| c.2 != NOWHERE).count()
            + usize::from(shape.raw != NOWHERE);
        if written != fields.len() {
            self.current = None;
            return;
        }
        shape.fields = order.list(&fields);
        let i = if self.list.len() < MAX_SHAPES {
            self.list.push(shape);
            self.list.len() - 1
        } else {
            let i = self.evict;
            self.evict = (self.evict + 1) % MAX_SHAPES;
            self.list[i] = shape;
            i
        };
        self.current = Some(i);
    }

    /// How many shapes are remembered.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.list.len()
    }

    /// How many rows took the general path (of those counted: the first
    /// [`SHAPE_TRIAL`] tried).
    #[cfg(test)]
    pub(super) fn general_rows(&self) -> u32 {
        self.missed
    }

    /// Whether rows are still tried against shapes; counts the row as tried.
    fn trying(&mut self) -> bool {
        if self.off {
            return false;
        }
        if self.tried < SHAPE_TRIAL {
            self.tried += 1;
        } else if self.missed * 2 > self.tried {
            self.off = true;
            self.list = Vec::new();
            self.current = None;
            return false;
        }
        true
    }
}

/// Writes a step's remembered value at `pos`; `false` when the outcome has none (cannot
/// happen for a step whose code has a place, but the caller then takes the general path).
fn put_outcome(values: &mut FieldValues<'_>, pos: usize, outcome: &Outcome) -> bool {
    match outcome {
        Outcome::Add(Eval::Store(v)) | Outcome::Extra(v) | Outcome::InvalidKey(v) => {
            values.set(pos, v);
        }
        _ => return false,
    }
    true
}

/// [`put_outcome`] with an outcome worked out for this row alone: its value moves in,
/// and the event's string it replaces (or a spare one) moves out, to lend its buffer to the
/// next row's outcome.
fn swap_outcome(values: &mut FieldValues<'_>, pos: usize, outcome: &mut Outcome) -> bool {
    match outcome {
        Outcome::Add(Eval::Store(v)) | Outcome::Extra(v) | Outcome::InvalidKey(v) => {
            values.trade(pos, v);
        }
        _ => return false,
    }
    true
}

/// What [`fill`] needs to know of a step in every row.
#[derive(Debug, Clone, Copy)]
pub(super) struct Lane {
    /// The column the step reads (`None`: none in this report).
    pub(super) column: Option<usize>,
    /// Its outcome depends on the cell alone, so its memo may remember it.
    pub(super) remembered: bool,
    /// The kind of plain cell it knows ([`Plain::of`]).
    pub(super) plain: Option<Plain>,
}

/// Step `j`'s outcome for the cell `bytes` of `column` through its memo, when it is not
/// the text of the last row: where the memo keeps it (`got`), or worked out into `owned`.
/// Its code.
#[allow(clippy::too_many_arguments)]
fn look_up(
    plan: &Plan,
    j: usize,
    memo: &mut super::Memo,
    column: usize,
    bytes: &[u8],
    row: &RowView<'_>,
    got: &mut u32,
    owned: &mut Outcome,
) -> u8 {
    if let Some(i) = memo.in_front(bytes) {
        *got = i as u32;
        return memo.code(i);
    }
    let text = row.cell(column).unwrap_or_default();
    let required = j < plan.required.len();
    match memo.index(text, || outcome(plan.step(j), required, Some(text), row)) {
        Ok(i) => {
            *got = i as u32;
            memo.code(i)
        }
        Err(outcome) => {
            *owned = outcome;
            *got = OWNED;
            code(owned)
        }
    }
}

/// Fills `event` with `row` by a remembered shape: `true` when done, `false` when the row
/// must take the general path (its shape is new, it fails, or shapes are off).
pub(super) fn fill(
    plan: &Plan,
    work: &mut Work,
    row: &RowView<'_>,
    raw: Option<(&str, &str)>,
    event: &mut Event,
) -> bool {
    if !work.shaped || work.shapes.list.is_empty() || !work.shapes.trying() {
        return false;
    }
    let remember = work.remember;
    let required = plan.required.len();
    // every step's outcome, and its code (the step's parts zipped: no index checks)
    let steps = (work.lanes.iter())
        .zip(work.memos.iter_mut())
        .zip(work.got.iter_mut())
        .zip(work.owned.iter_mut())
        .zip(work.codes.iter_mut());
    for (j, ((((lane, memo), got), owned), code_of)) in steps.enumerate() {
        let Some(column) = lane.column else { continue };
        let c = match row.cell_bytes(column) {
            Some(bytes) if lane.remembered && remember && !memo.is_off() => {
                match memo.again(bytes) {
                    Some((i, code)) => {
                        *got = i as u32;
                        code
                    }
                    None => look_up(plan, j, memo, column, bytes, row, got, owned),
                }
            }
            _ => {
                let cell = row.cell(column);
                outcome_into(
                    plan.step(j),
                    lane.plain,
                    j < required,
                    cell,
                    row,
                    owned,
                    &mut work.spare,
                );
                *got = OWNED;
                code(owned)
            }
        };
        if c == FAILS {
            return false;
        }
        *code_of = c;
    }
    // the shape of those outcomes: most often the last row's
    let shapes = &mut work.shapes;
    let fits = |s: &Shape| {
        s.codes == work.codes && (s.cells.iter()).all(|c| CellClass::of(row.slot(c.0)) == c.1)
    };
    let current = match shapes.current {
        Some(i) if fits(&shapes.list[i]) => i,
        _ => match shapes.list.iter().position(fits) {
            Some(i) => i,
            None => return false,
        },
    };
    shapes.current = Some(current);
    let shape = &shapes.list[current];
    // the values, each at its place
    let mut values = fields::reshape(event, &mut work.event_spare, &shape.fields);
    for (pos, v) in &shape.consts {
        values.set(*pos as usize, v);
    }
    let steps = (shape.dest.iter())
        .zip(&work.got)
        .zip(&work.memos)
        .zip(work.owned.iter_mut());
    for (((&pos, got), memo), owned) in steps {
        if pos == NOWHERE {
            continue;
        }
        let written = match *got {
            OWNED => swap_outcome(&mut values, pos as usize, owned),
            i => put_outcome(&mut values, pos as usize, memo.outcome(i as usize)),
        };
        if !written {
            return false;
        }
    }
    for &(slot, _, pos) in &shape.cells {
        if pos != NOWHERE {
            match row.slot(slot) {
                Some(text) => values.set_str(pos as usize, text),
                None => values.set(pos as usize, &Value::Null),
            }
        }
    }
    match (raw, shape.raw) {
        (None, NOWHERE) => true,
        (Some((line_ending, last_line)), pos) if pos != NOWHERE => {
            values.set_str(pos as usize, "");
            if let Value::String(s) = values.get(pos as usize) {
                raw_value(plan, line_ending, last_line, s);
            }
            true
        }
        _ => false,
    }
}
