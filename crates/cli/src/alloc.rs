//! The global allocator, mimalloc, and how commands that stream set up their memory.
//!
//! With glibc's malloc a fifth of the national fan-out (`baken demo citrix-2020`) went into
//! consolidating and searching its free lists; mimalloc takes that time away. It backs its
//! memory with transparent huge pages where the system allows them, which it gives back to
//! the system only in whole huge pages: a streaming ingest then peaks about 35 MB higher.
//! [`streaming`] turns huge pages off for such a command.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// For a command whose memory should stay flat while it streams (ingest, a worker): the
/// process's pages are normal pages from now on (Linux's `PR_SET_THP_DISABLE`).
pub fn streaming() {
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::thread::disable_transparent_huge_pages(true) {
        tracing::debug!(error = %e, "transparent huge pages stay on");
    }
}
