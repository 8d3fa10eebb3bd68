//! The baken side of `bench/vs-intelmq.sh`: the same work as IntelMQ's benchmark
//! (`../shared/bench/intelmq/`) on the very same files, with the product's own pieces.
//!
//! * parse: `baken_feeds::open(FeedKind::Shadowserver, ..)`, the parser that equals IntelMQ
//!   3.5.0's Shadowserver parser, run as `baken parse` runs it (no `raw`: IntelMQ's file
//!   output drops it);
//! * lookup: `Attributor::routed` over the prefix table read by
//!   `baken_attribute::routing::load_routing`, setting `source.network` and `source.asn` as
//!   IntelMQ's `asn_lookup` expert does;
//! * filter: keep events whose `source.asn` is 4200000000..=4200000799 (IntelMQ's filter
//!   expert with `^4200000[0-7]\d\d$`);
//! * write: `Event::write_json_line` (the bytes of `Event::to_json_line`) to a file, one
//!   event per line.
//!
//! Modes (`cargo run --release -p baken-pipeline --example vs_intelmq -- MODE ...`):
//!
//! * `stages CSV PREFIXES OUT [REPEAT]`: on one core, each stage alone (batches of 256
//!   events through parse, lookup, filter and write in turn, each stage timed, as IntelMQ's
//!   benchmark times its bots), then the cumulative streaming passes (parse; parse+lookup;
//!   parse+lookup+filter; all with writing), then parse+lookup+filter and end to end on two
//!   threads; the fastest of REPEAT runs (default 3) of each; prints `key=value` lines.
//! * `e2e CSV PREFIXES OUT [THREADS]`: one end-to-end run (THREADS 1 or 2, default 2), for
//!   peak-RSS measurement under `/usr/bin/time -v`; prints `key=value` lines.
//! * `pass parse|lookup|filter|write CSV PREFIXES [OUT]`: one single-threaded pass up to
//!   that stage, for profilers.
//! * `check BAKEN_OUT INTELMQ_OUT`: both files hold the same events (count and the set of
//!   `source.ip`/`source.asn` pairs); exits 1 when not.
//! * `chart TSV SVG [CAPTION]`: renders the scaling curve (`rows<TAB>events/s<TAB>peak RSS KiB` lines)
//!   as an SVG chart.
//!
//! Several threads: `baken_feeds::par_chunks`, the parallel parse `baken parse` uses. A
//! reader thread splits the report into chunks of whole records; each worker parses a
//! chunk with the shared plan and does lookup, filter and serialisation on it; the calling
//! thread writes the chunks' JSON lines in file order. Only bytes cross between cores.

// an example binary: its output is the benchmark's report
#![allow(clippy::print_stderr)]

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use baken_attribute::Attributor;
use baken_feeds::{Event, FeedKind, Options};

/// The filter of IntelMQ's benchmark: `source.asn` matches `^4200000[0-7]\d\d$`.
const KEEP: std::ops::RangeInclusive<u32> = 4_200_000_000..=4_200_000_799;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    Parse,
    Lookup,
    Filter,
    Write,
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    rows: u64,
    events: u64,
    kept: u64,
    bytes: u64,
}

/// As `baken parse` runs: without `raw` (IntelMQ's parser computes it, but its file output
/// drops it), `time.observation` as in IntelMQ's benchmark report.
fn options() -> Options {
    Options {
        observation_time: Some("2026-03-24T06:00:00+00:00".into()),
        ..Options::default()
    }
}

fn open(csv: &Path) -> Result<baken_feeds::Rows, String> {
    baken_feeds::open(FeedKind::Shadowserver, csv, &options()).map_err(|e| e.to_string())
}

/// The parser's initialisation, before any timed pass: the Shadowserver schema is read
/// (once per process; later opens find it read) and the report's header with it. IntelMQ's
/// benchmark times its bots' initialisation apart from its figures too.
fn init(csv: &Path) -> Result<(), String> {
    let t = Instant::now();
    open(csv)?;
    say(format_args!(
        "load_schema: seconds={:.6}",
        t.elapsed().as_secs_f64()
    ));
    Ok(())
}

fn attributor(prefixes: &Path) -> Result<Attributor, String> {
    let table = baken_attribute::routing::load_routing(prefixes).map_err(|e| e.to_string())?;
    if let Some(e) = table.errors.first() {
        return Err(format!(
            "{}: {} bad lines, the first: {e}",
            prefixes.display(),
            table.errors.len()
        ));
    }
    Attributor::new(Vec::new(), table.prefixes, Vec::new()).map_err(|e| e.to_string())
}

/// IntelMQ's `asn_lookup`: `source.asn` and `source.network` from the longest routed
/// prefix containing `source.ip` (`Attributor::routed`); nothing without a route.
fn lookup(event: &mut Event, attributor: &Attributor) {
    if let Some((net, asn)) = event.source_ip().and_then(|ip| attributor.routed(ip)) {
        event.insert_static("source.asn", asn);
        event.insert_static("source.network", baken_model::network_text(&net));
    }
}

/// IntelMQ's filter expert with the benchmark's rule.
fn keep(event: &Event) -> bool {
    event.source_asn().is_some_and(|a| KEEP.contains(&a))
}

/// One pass over the file on the calling thread, doing the stages up to `upto`.
fn pass(upto: Stage, csv: &Path, attributor: &Attributor, out: &Path) -> Result<Counts, String> {
    let mut c = Counts::default();
    let mut writer = match upto {
        Stage::Write => Some(BufWriter::with_capacity(
            256 * 1024,
            File::create(out).map_err(|e| format!("{}: {e}", out.display()))?,
        )),
        _ => None,
    };
    let mut line = Vec::with_capacity(4096);
    let mut rows = open(csv)?;
    // one event, refilled row after row (what `baken parse` does)
    let mut event = Event::new();
    while let Some(row) = rows.next_into(&mut event) {
        c.rows += 1;
        if row.outcome.is_err() {
            continue;
        }
        c.events += 1;
        if upto >= Stage::Lookup {
            lookup(&mut event, attributor);
        }
        if upto >= Stage::Filter && !keep(&event) {
            continue;
        }
        c.kept += 1;
        if let Some(w) = writer.as_mut() {
            line.clear();
            event.write_json_line(&mut line);
            line.push(b'\n');
            c.bytes += line.len() as u64;
            w.write_all(&line)
                .map_err(|e| format!("{}: {e}", out.display()))?;
        }
        std::hint::black_box(&event);
    }
    if let Some(mut w) = writer {
        w.flush().map_err(|e| format!("{}: {e}", out.display()))?;
    }
    Ok(c)
}

/// One pass on `threads` threads, doing the stages up to `upto`: the product's parallel
/// parse (`baken_feeds::par_chunks`, as `baken parse` runs it) with lookup, filter and
/// serialisation on the worker threads, each chunk's JSON lines written in file order by
/// the calling thread.
fn pass_parallel(
    upto: Stage,
    threads: usize,
    csv: &Path,
    attributor: &Attributor,
    out: &Path,
) -> Result<Counts, String> {
    let mut writer = match upto {
        Stage::Write => Some(BufWriter::with_capacity(
            256 * 1024,
            File::create(out).map_err(|e| format!("{}: {e}", out.display()))?,
        )),
        _ => None,
    };
    let mut c = Counts::default();
    let mut failed: Option<String> = None;
    baken_feeds::par_chunks(
        FeedKind::Shadowserver,
        csv,
        &options(),
        threads,
        |rows| {
            let mut k = Counts::default();
            let mut event = Event::new();
            let mut lines = Vec::with_capacity(if upto == Stage::Write { 1 << 21 } else { 0 });
            while let Some(row) = rows.next_into(&mut event) {
                k.rows += 1;
                if row.outcome.is_err() {
                    continue;
                }
                k.events += 1;
                if upto >= Stage::Lookup {
                    lookup(&mut event, attributor);
                }
                if upto >= Stage::Filter && !keep(&event) {
                    continue;
                }
                k.kept += 1;
                if upto == Stage::Write {
                    event.write_json_line(&mut lines);
                    lines.push(b'\n');
                }
                std::hint::black_box(&event);
            }
            k.bytes = lines.len() as u64;
            (k, lines)
        },
        |(k, lines)| {
            c.rows += k.rows;
            c.events += k.events;
            c.kept += k.kept;
            c.bytes += k.bytes;
            if let Some(w) = writer.as_mut()
                && let Err(e) = w.write_all(&lines)
            {
                failed = Some(format!("{}: {e}", out.display()));
                return false;
            }
            true
        },
    )
    .map_err(|e| e.to_string())?;
    if let Some(e) = failed {
        return Err(e);
    }
    if let Some(mut w) = writer {
        w.flush().map_err(|e| format!("{}: {e}", out.display()))?;
    }
    Ok(c)
}

/// Seconds spent in each stage, measured as IntelMQ's benchmark measures its bots: batches
/// of events go through one stage after the other, each stage timed over the whole batch.
#[derive(Debug, Default, Clone, Copy)]
struct StageTimes {
    parse: Duration,
    lookup: Duration,
    filter: Duration,
    write: Duration,
}

/// Events per batch when timing stages separately: small enough for the batch to stay in
/// the processor's caches.
const STAGED_BATCH: usize = 256;

/// One pass in batches of [`STAGED_BATCH`] events, timing each stage separately.
fn pass_staged(
    csv: &Path,
    attributor: &Attributor,
    out: &Path,
) -> Result<(Counts, StageTimes), String> {
    let mut c = Counts::default();
    let mut t = StageTimes::default();
    let mut w = BufWriter::with_capacity(
        256 * 1024,
        File::create(out).map_err(|e| format!("{}: {e}", out.display()))?,
    );
    let mut rows = open(csv)?;
    // the batch's events are refilled from batch to batch
    let mut events: Vec<Event> = (0..STAGED_BATCH).map(|_| Event::new()).collect();
    let mut kept: Vec<bool> = Vec::with_capacity(STAGED_BATCH);
    let mut line = Vec::with_capacity(1024 * 1024);
    loop {
        let start = Instant::now();
        let mut n = 0;
        let mut done = false;
        while n < STAGED_BATCH {
            let Some(row) = rows.next_into(&mut events[n]) else {
                done = true;
                break;
            };
            c.rows += 1;
            if row.outcome.is_ok() {
                n += 1;
            }
        }
        let batch = &mut events[..n];
        c.events += batch.len() as u64;
        let parsed = Instant::now();
        t.parse += parsed - start;
        batch.iter_mut().for_each(|e| lookup(e, attributor));
        let looked_up = Instant::now();
        t.lookup += looked_up - parsed;
        kept.clear();
        kept.extend(batch.iter().map(keep));
        let filtered = Instant::now();
        t.filter += filtered - looked_up;
        line.clear();
        for (event, _) in batch.iter().zip(&kept).filter(|(_, k)| **k) {
            c.kept += 1;
            event.write_json_line(&mut line);
            line.push(b'\n');
        }
        c.bytes += line.len() as u64;
        w.write_all(&line)
            .map_err(|e| format!("{}: {e}", out.display()))?;
        t.write += filtered.elapsed();
        if done {
            break;
        }
    }
    let flushed = Instant::now();
    w.flush().map_err(|e| format!("{}: {e}", out.display()))?;
    t.write += flushed.elapsed();
    // dropping the last batch is part of parsing's cost in a streaming run; negligible here
    Ok((c, t))
}

fn timed(f: impl FnOnce() -> Result<Counts, String>) -> Result<(Counts, Duration), String> {
    let start = Instant::now();
    let c = f()?;
    Ok((c, start.elapsed()))
}

fn best_of(
    repeat: usize,
    mut f: impl FnMut() -> Result<Counts, String>,
) -> Result<(Counts, Duration), String> {
    let mut best: Option<(Counts, Duration)> = None;
    for _ in 0..repeat.max(1) {
        let (c, d) = timed(&mut f)?;
        if best.is_none_or(|(_, b)| d < b) {
            best = Some((c, d));
        }
    }
    Ok(best.expect("at least one run"))
}

fn report(name: &str, c: Counts, d: Duration) {
    let s = d.as_secs_f64();
    say(format_args!(
        "{name}: rows={} events={} kept={} bytes={} seconds={s:.6} rows_per_s={:.0}",
        c.rows,
        c.events,
        c.kept,
        c.bytes,
        c.rows as f64 / s
    ));
}

/// A plain read of the file (the floor any parser stands on).
fn plain_read(csv: &Path) -> Result<Counts, String> {
    let mut r = BufReader::with_capacity(64 * 1024, File::open(csv).map_err(|e| e.to_string())?);
    let mut c = Counts::default();
    loop {
        let buf = r.fill_buf().map_err(|e| e.to_string())?;
        if buf.is_empty() {
            break;
        }
        let n = buf.len();
        c.rows += bytecount(buf) as u64;
        c.bytes += n as u64;
        r.consume(n);
    }
    Ok(c)
}

fn bytecount(buf: &[u8]) -> usize {
    buf.iter().filter(|&&b| b == b'\n').count()
}

fn stages(csv: &Path, prefixes: &Path, out: &Path, repeat: usize) -> Result<(), String> {
    let t = Instant::now();
    let attributor = attributor(prefixes)?;
    say(format_args!(
        "load_prefixes: seconds={:.6}",
        t.elapsed().as_secs_f64()
    ));
    init(csv)?;
    let (c, d) = best_of(repeat, || plain_read(csv))?;
    say(format_args!(
        "read: lines={} bytes={} seconds={:.6} bytes_per_s={:.0}",
        c.rows,
        c.bytes,
        d.as_secs_f64(),
        c.bytes as f64 / d.as_secs_f64()
    ));
    // per stage, the fastest of `repeat` staged passes (by their total)
    let mut best: Option<(Counts, StageTimes)> = None;
    for _ in 0..repeat.max(1) {
        let (c, t) = pass_staged(csv, &attributor, out)?;
        let total = |t: &StageTimes| t.parse + t.lookup + t.filter + t.write;
        if best.as_ref().is_none_or(|(_, b)| total(&t) < total(b)) {
            best = Some((c, t));
        }
    }
    let (c, t) = best.expect("at least one run");
    for (name, n, d) in [
        ("stage_parse", c.rows, t.parse),
        ("stage_lookup", c.events, t.lookup),
        ("stage_filter", c.events, t.filter),
        ("stage_write", c.kept, t.write),
    ] {
        say(format_args!(
            "{name}: events={n} seconds={:.6} events_per_s={:.0}",
            d.as_secs_f64(),
            n as f64 / d.as_secs_f64()
        ));
    }
    for (name, stage) in [
        ("parse", Stage::Parse),
        ("parse+lookup", Stage::Lookup),
        ("parse+lookup+filter", Stage::Filter),
        ("end_to_end_1_thread", Stage::Write),
    ] {
        let (c, d) = best_of(repeat, || pass(stage, csv, &attributor, out))?;
        report(name, c, d);
    }
    for (name, stage) in [
        ("parse+lookup+filter_2_threads", Stage::Filter),
        ("end_to_end_2_threads", Stage::Write),
    ] {
        let (c, d) = best_of(repeat, || pass_parallel(stage, 2, csv, &attributor, out))?;
        report(name, c, d);
    }
    Ok(())
}

fn e2e(csv: &Path, prefixes: &Path, out: &Path, threads: usize) -> Result<(), String> {
    let start = Instant::now();
    let attributor = attributor(prefixes)?;
    init(csv)?;
    let (c, d) = if threads >= 2 {
        timed(|| pass_parallel(Stage::Write, threads, csv, &attributor, out))?
    } else {
        timed(|| pass(Stage::Write, csv, &attributor, out))?
    };
    report(&format!("end_to_end_{threads}_threads"), c, d);
    say(format_args!(
        "total: seconds={:.6}",
        start.elapsed().as_secs_f64()
    ));
    Ok(())
}

/// One single-threaded pass up to one stage, for profilers (`callgrind`, `perf`).
fn one_pass(
    stage: &Path,
    csv: &Path,
    prefixes: &Path,
    out: Option<PathBuf>,
) -> Result<bool, String> {
    let stage = match stage.to_str() {
        Some("parse") => Stage::Parse,
        Some("lookup") => Stage::Lookup,
        Some("filter") => Stage::Filter,
        Some("write") => Stage::Write,
        _ => return Err(USAGE.to_string()),
    };
    let attributor = attributor(prefixes)?;
    init(csv)?;
    let out = out.unwrap_or_else(|| PathBuf::from("/dev/null"));
    let (c, d) = timed(|| pass(stage, csv, &attributor, &out))?;
    report("pass", c, d);
    Ok(true)
}

/// The `(source.ip, source.asn)` pairs of a JSON lines file.
fn pairs(path: &Path) -> Result<Vec<(String, u64)>, String> {
    let f = BufReader::new(File::open(path).map_err(|e| format!("{}: {e}", path.display()))?);
    let mut out = Vec::new();
    for (i, line) in f.lines().enumerate() {
        let line = line.map_err(|e| format!("{}: {e}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(&line)
            .map_err(|e| format!("{}:{}: {e}", path.display(), i + 1))?;
        let ip = v["source.ip"].as_str().unwrap_or_default().to_string();
        let asn = v["source.asn"].as_u64().unwrap_or_default();
        out.push((ip, asn));
    }
    Ok(out)
}

fn check(baken: &Path, intelmq: &Path) -> Result<bool, String> {
    let a = pairs(baken)?;
    let b = pairs(intelmq)?;
    let sa: HashSet<_> = a.iter().cloned().collect();
    let sb: HashSet<_> = b.iter().cloned().collect();
    let same = a.len() == b.len() && sa == sb;
    say(format_args!(
        "check: baken_events={} intelmq_events={} baken_distinct_pairs={} intelmq_distinct_pairs={} only_baken={} only_intelmq={} same={}",
        a.len(),
        b.len(),
        sa.len(),
        sb.len(),
        sa.difference(&sb).count(),
        sb.difference(&sa).count(),
        same
    ));
    Ok(same)
}

fn chart(tsv: &Path, svg: &Path, caption: &str) -> Result<(), String> {
    use plotters::prelude::*;
    let text = std::fs::read_to_string(tsv).map_err(|e| format!("{}: {e}", tsv.display()))?;
    let mut points: Vec<(f64, f64, f64)> = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let f: Vec<f64> = line
            .split('\t')
            .take(3)
            .map(|x| {
                x.trim()
                    .parse::<f64>()
                    .map_err(|e| format!("{}: {line:?}: {e}", tsv.display()))
            })
            .collect::<Result<_, _>>()?;
        if f.len() < 3 {
            return Err(format!(
                "{}: {line:?}: want rows, events/s, peak RSS KiB",
                tsv.display()
            ));
        }
        points.push((f[0], f[1], f[2] / 1024.0));
    }
    if points.is_empty() {
        return Err(format!("{}: no data", tsv.display()));
    }
    let max_rate = points.iter().map(|p| p.1).fold(0.0, f64::max) * 1.2;
    let max_rss = points.iter().map(|p| p.2).fold(0.0, f64::max) * 1.2;
    let min_rows = points.iter().map(|p| p.0).fold(f64::MAX, f64::min) / 2.0;
    let max_rows = points.iter().map(|p| p.0).fold(0.0, f64::max) * 2.0;
    let root = SVGBackend::new(svg, (800, 450)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let mut ch = ChartBuilder::on(&root)
        .caption(caption, ("sans-serif", 18))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .right_y_label_area_size(70)
        .build_cartesian_2d((min_rows..max_rows).log_scale(), 0.0..max_rate)
        .map_err(|e| e.to_string())?
        .set_secondary_coord((min_rows..max_rows).log_scale(), 0.0..max_rss);
    ch.configure_mesh()
        .x_desc("input rows (log scale)")
        .y_desc("events/s")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{:.0}k", y / 1000.0))
        .draw()
        .map_err(|e| e.to_string())?;
    ch.configure_secondary_axes()
        .y_desc("peak RSS (MiB)")
        .draw()
        .map_err(|e| e.to_string())?;
    ch.draw_series(LineSeries::new(
        points.iter().map(|p| (p.0, p.1)),
        BLUE.stroke_width(2),
    ))
    .map_err(|e| e.to_string())?
    .label("events/s")
    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.stroke_width(2)));
    ch.draw_series(
        points
            .iter()
            .map(|p| Circle::new((p.0, p.1), 4, BLUE.filled())),
    )
    .map_err(|e| e.to_string())?;
    ch.draw_secondary_series(LineSeries::new(
        points.iter().map(|p| (p.0, p.2)),
        RED.stroke_width(2),
    ))
    .map_err(|e| e.to_string())?
    .label("peak RSS (MiB)")
    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED.stroke_width(2)));
    ch.draw_secondary_series(
        points
            .iter()
            .map(|p| Circle::new((p.0, p.2), 4, RED.filled())),
    )
    .map_err(|e| e.to_string())?;
    ch.configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())?;
    Ok(())
}

const USAGE: &str = "usage: vs_intelmq stages CSV PREFIXES OUT [REPEAT]
       vs_intelmq pass parse|lookup|filter|write CSV PREFIXES [OUT]
       vs_intelmq e2e CSV PREFIXES OUT [THREADS]
       vs_intelmq check BAKEN_OUT INTELMQ_OUT
       vs_intelmq chart TSV SVG [CAPTION]";

/// Prints a line of the report. A reader that has gone (`| head`) ends the run quietly rather
/// than with a panic, as `println!` would.
fn say(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    if let Err(e) = writeln!(std::io::stdout().lock(), "{line}") {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("vs_intelmq: cannot write the report: {e}");
        std::process::exit(1);
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let p = |i: usize| args.get(i).map(PathBuf::from);
    let n = |i: usize, default: usize| args.get(i).and_then(|v| v.parse().ok()).unwrap_or(default);
    let result = match (args.first().map(String::as_str), p(1), p(2), p(3)) {
        (Some("stages"), Some(csv), Some(pfx), Some(out)) => {
            stages(&csv, &pfx, &out, n(4, 3)).map(|_| true)
        }
        (Some("e2e"), Some(csv), Some(pfx), Some(out)) => {
            e2e(&csv, &pfx, &out, n(4, 2)).map(|_| true)
        }
        (Some("pass"), Some(stage), Some(csv), Some(pfx)) => one_pass(&stage, &csv, &pfx, p(4)),
        (Some("check"), Some(a), Some(b), _) => check(&a, &b),
        (Some("chart"), Some(tsv), Some(svg), _) => {
            let caption = args.get(3).map_or(
                "baken end to end: events/s and peak RSS by input size",
                String::as_str,
            );
            chart(&tsv, &svg, caption).map(|_| true)
        }
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("vs_intelmq: {e}");
            ExitCode::FAILURE
        }
    }
}
