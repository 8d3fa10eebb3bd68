//! One report parsed on several threads, rows handed on in file order.
//!
//! A reader thread splits the report into chunks of whole records (with the stream's line
//! number at each chunk's start), worker threads each run a parser over one chunk at a time
//! with the shared plan, and the calling thread takes the workers' results in chunk order.
//! What crosses between cores is the chunk's bytes and whatever the caller's `work` makes
//! of its rows (serialised lines, counts), not events: an event built on one core and read
//! on another costs a cache miss per field.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

use super::records::{Records, Split};
use super::{Parser, Work, count_line_breaks, load_schema, parser};
use crate::{Alterations, CHUNK_ROWS, FeedError, Options, RowStream};

/// Chunks read ahead of the one the caller waits for, per worker.
const AHEAD_PER_WORKER: usize = 3;

/// Whole records of the report and where they start.
struct Chunk {
    seq: u64,
    bytes: Vec<u8>,
    /// How the reader split them.
    split: Split,
    /// The line number at the end of the record before, and whether that record ended in
    /// `\r` (as the sequential parser keeps them).
    line: u64,
    after_cr: bool,
    /// What the reader altered up to the end of these records (the header's, NUL bytes).
    alterations: Alterations,
}

/// Parses the Shadowserver report `path` on `threads` worker threads. `work` runs on a
/// worker for each chunk of rows (a [`RowStream`] over them, in order) and `done` receives
/// what it returned, chunk by chunk in file order, on the calling thread; when `done`
/// returns `false` the parse stops (a reader of the output went away, say). Together the
/// chunks' rows are exactly the rows [`super::open`] gives, with the same line numbers and
/// errors; the schema is loaded as [`super::open`] loads it.
///
/// With `threads` ≤ 1 no thread is started: `work` runs on the calling thread, a chunk at a
/// time. A panic in `work` stops the parse and is raised again on the calling thread.
/// A read error part way through the file ends the parse with that error after the chunks
/// read before it were handed to `done` (on one thread it is the last row's error, as
/// [`super::open`] gives it).
pub fn par_chunks<T, W, D>(
    path: &Path,
    options: &Options,
    threads: usize,
    work: W,
    mut done: D,
) -> Result<(), FeedError>
where
    T: Send,
    W: Fn(&mut dyn RowStream) -> T + Sync,
    D: FnMut(T) -> bool,
{
    let schema = load_schema(path, options)?;
    let mut head = parser(path, &schema, options)?;
    if threads <= 1 {
        crate::in_chunks(&mut head, work, done);
        return Ok(());
    }
    let io_error = |source| FeedError::Io {
        path: path.to_path_buf(),
        source,
    };
    let window = threads * AHEAD_PER_WORKER;
    let (chunk_tx, chunk_rx) = sync_channel::<Chunk>(window);
    let chunk_rx = Mutex::new(chunk_rx);
    // a worker's result, or the panic of `work` (raised again on the calling thread)
    type Outcome<T> = Result<T, Box<dyn std::any::Any + Send>>;
    let (result_tx, result_rx) = sync_channel::<(u64, Outcome<T>)>(window);
    // a chunk is read only when one of `window` tokens is free: memory stays bounded even
    // when one chunk takes long and the results after it wait for it
    let (token_tx, token_rx) = sync_channel::<()>(window);
    for _ in 0..window {
        token_tx
            .send(())
            .expect("the channel has room for every token");
    }
    let plan = Arc::clone(&head.plan);
    let (raw, strict, line_ending) = (head.raw, head.strict, head.line_ending);
    let path_buf = head.path.clone();
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || split(&mut head, chunk_tx, token_rx));
        for _ in 0..threads {
            let (chunk_rx, result_tx, plan, work) =
                (&chunk_rx, result_tx.clone(), Arc::clone(&plan), &work);
            let path = path_buf.clone();
            scope.spawn(move || {
                let mut state = Some(Work::new(&plan));
                loop {
                    // one worker at a time takes the next chunk; a poisoned lock still
                    // holds a working receiver
                    let next = chunk_rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                    let Ok(chunk) = next else { break };
                    let mut rows = Parser {
                        records: Records::split(chunk.bytes, chunk.split),
                        plan: Arc::clone(&plan),
                        work: state
                            .take()
                            .expect("the work state is put back after each chunk"),
                        decoded: Vec::new(),
                        alterations: chunk.alterations,
                        path: path.clone(),
                        raw,
                        strict,
                        line_ending,
                        line: chunk.line,
                        after_cr: chunk.after_cr,
                        done: false,
                    };
                    let out =
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(&mut rows)));
                    let panicked = out.is_err();
                    if result_tx.send((chunk.seq, out)).is_err() || panicked {
                        break;
                    }
                    state = Some(rows.work);
                }
            });
        }
        drop(result_tx);
        // hand the results on in chunk order
        let mut waiting: BTreeMap<u64, T> = BTreeMap::new();
        let mut next = 0u64;
        let mut panic = None;
        'results: for (seq, out) in &result_rx {
            match out {
                Ok(out) => waiting.insert(seq, out),
                Err(payload) => {
                    panic = Some(payload);
                    break 'results;
                }
            };
            while let Some(out) = waiting.remove(&next) {
                if !done(out) {
                    break 'results;
                }
                next += 1;
                // the reader may be gone already; then nobody needs the token
                let _ = token_tx.send(());
            }
        }
        // stopping early: the reader finds no token, the workers nobody to send to
        drop(token_tx);
        drop(waiting);
        drop(result_rx);
        let read = reader.join();
        if let Some(payload) = panic {
            std::panic::resume_unwind(payload);
        }
        read.map_err(|_| FeedError::Format {
            path: path.to_path_buf(),
            message: "the reader thread panicked".into(),
        })?
        .map_err(io_error)
    })
}

/// The reader thread: whole records of `head`'s stream, `CHUNK_ROWS` at a time.
fn split<R: std::io::Read>(
    head: &mut Parser<R>,
    chunks: SyncSender<Chunk>,
    tokens: Receiver<()>,
) -> std::io::Result<()> {
    if head.done {
        return Ok(());
    }
    let mut seq = 0;
    loop {
        if tokens.recv().is_err() {
            return Ok(());
        }
        let mut chunk = Chunk {
            seq,
            bytes: Vec::with_capacity(CHUNK_ROWS * 320),
            split: Split::default(),
            line: head.line,
            after_cr: head.after_cr,
            alterations: Alterations::default(),
        };
        let mut n = 0;
        let mut end = false;
        while n < CHUNK_ROWS {
            if !head.records.advance()? {
                end = true;
                break;
            }
            let bytes = head.records.bytes();
            // a record read as one line has one break, its end: nothing to count
            let (breaks, _, after_cr) = if head.records.is_one_line() {
                (1, 0, false)
            } else {
                count_line_breaks(bytes, head.after_cr)
            };
            head.line += breaks;
            head.after_cr = after_cr;
            chunk.bytes.extend_from_slice(bytes);
            chunk.split.push(&head.records);
            n += 1;
        }
        chunk.alterations = head.alterations_so_far();
        if (n > 0 || !chunk.alterations.is_empty()) && chunks.send(chunk).is_err() {
            return Ok(());
        }
        if end {
            return Ok(());
        }
        seq += 1;
    }
}
