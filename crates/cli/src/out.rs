//! Standard output for a reader that may stop early: `baken why … | head` closes the pipe
//! after ten lines, and the rest of the output has nowhere to go.
//!
//! Rust ignores SIGPIPE, so a write to a closed pipe fails with `BrokenPipe`, and std's
//! `println!` panics on that with a backtrace hint. Restoring the default SIGPIPE action would
//! take `unsafe` code (which the workspace forbids) or a dependency for one call; instead this
//! binary's `println!` (the macro in `main.rs`) writes through [`line`], which ends the process
//! quietly, and `main` does the same for a `BrokenPipe` that a writer on standard output
//! passes up with `?`.

use std::fmt;
use std::io::{self, Write};

/// Writes one line to standard output, as `println!` does; a closed pipe ends the process
/// quietly ([`closed`]), any other failure with a message and exit code 1.
pub(crate) fn line(args: fmt::Arguments<'_>) {
    let mut out = io::stdout().lock();
    if let Err(e) = writeln!(out, "{args}") {
        if e.kind() == io::ErrorKind::BrokenPipe {
            closed();
        }
        drop(out);
        eprintln!("baken: error: cannot write to standard output: {e}");
        std::process::exit(1);
    }
}

/// Ends the process the way a reader that stopped reading expects: quietly, with success.
pub(crate) fn closed() -> ! {
    std::process::exit(0)
}

/// Whether `run` failed on a write to standard output whose reader has gone: a bare
/// `BrokenPipe`, as `writeln!(stdout, …)?` passes it up, or one inside a JSON writer's
/// error. Errors from anywhere else (a relay,
/// a file, the store) reach `main` wrapped in their context or a typed error, and are
/// reported as errors.
pub(crate) fn is_closed_pipe(e: &anyhow::Error) -> bool {
    e.downcast_ref::<io::Error>()
        .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
        // `serde_json::to_writer(stdout, …)?` passes the same up inside its own error
        || e.downcast_ref::<serde_json::Error>()
            .and_then(serde_json::Error::io_error_kind)
            == Some(io::ErrorKind::BrokenPipe)
}
