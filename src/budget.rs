//! Budgets for evaluating an expression (issue 16). The expression comes from whoever holds
//! a dispatch token; `def f: f; .a = f` or `[range(1e9)]` must not hold a runner until the
//! server's job timeout. jaq cannot be interrupted from outside, so a watchdog thread ends
//! the process: first the hook the command registered (the failure's step outputs), then
//! one line on stderr, then exit 2. It only ever fires while an evaluation runs, which is
//! before anything is written or pushed.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The process's allocator, counting the bytes in use so the watchdog can see them.
pub struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is passed to the system allocator unchanged; only a counter is kept.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_add(new_size, Relaxed);
            LIVE.fetch_sub(layout.size(), Relaxed);
        }
        p
    }
}

/// What one evaluation may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub time: Duration,
    /// Bytes allocated beyond what was in use when the evaluation began.
    pub memory: usize,
    /// The largest file an edit may write (`--max-output-size`); None: [`output_limit`]'s rule.
    pub output: Option<usize>,
}

/// The output budget without `--max-output-size`: ten times the input, at least 1 MiB (so
/// that small files may grow by a block), at most the 32 MiB any command will read back.
pub fn output_limit(input_len: usize) -> usize {
    const MIB: usize = 1024 * 1024;
    input_len.saturating_mul(10).clamp(MIB, 32 * MIB)
}

/// Refuses, before anything is written, an edit of `file` whose result would be `output_len`
/// bytes from `input_len`, past the budget. Only once [`set_limits`] was called, as for the
/// other budgets.
/// `at_least`: `output_len` is a floor, not the size.
pub fn check_output(
    file: &str,
    input_len: usize,
    output_len: usize,
    at_least: bool,
) -> crate::error::Result<()> {
    let Some(limits) = STATE.lock().ok().and_then(|s| s.limits) else {
        return Ok(());
    };
    let (limit, rule) = match limits.output {
        Some(l) => (l, "--max-output-size".to_string()),
        None => (
            output_limit(input_len),
            format!(
                "ten times the input's {}, at least 1 MiB and at most 32 MiB; raise it with --max-output-size",
                show_size(input_len)
            ),
        ),
    };
    if output_len <= limit {
        return Ok(());
    }
    Err(crate::error::Error::Refused {
        file: file.to_string(),
        msg: format!(
            "the result would be {}{}, past its {} output budget ({rule}); nothing was written",
            if at_least { "at least " } else { "" },
            show_size(output_len),
            show_size(limit)
        ),
    })
}

fn show_size(n: usize) -> String {
    const KIB: usize = 1024;
    match n {
        n if n >= KIB * KIB => format!("{:.1} MiB", n as f64 / (KIB * KIB) as f64),
        n if n >= KIB => format!("{:.1} KiB", n as f64 / KIB as f64),
        n => format!("{n} bytes"),
    }
}

pub const DEFAULT_TIME: Duration = Duration::from_secs(10);
pub const DEFAULT_MEMORY: usize = 512 * 1024 * 1024;

struct State {
    limits: Option<Limits>,
    /// When the running evaluation began, and the bytes in use then (or at the session's
    /// first evaluation).
    armed: Option<(Instant, usize)>,
    /// A session's evaluations share one budget: the time they took so far, and the bytes
    /// in use when its first one began (`None` until then).
    session: Option<(Duration, Option<usize>)>,
}

static STATE: Mutex<State> = Mutex::new(State {
    limits: None,
    armed: None,
    session: None,
});
type Hook = Box<dyn Fn(&str) + Send + Sync>;
static HOOK: OnceLock<Hook> = OnceLock::new();
static WATCHDOG: OnceLock<()> = OnceLock::new();
static WATCHED: AtomicBool = AtomicBool::new(false);

/// Sets the limits for the evaluations of this process. Without a call, nothing is budgeted
/// (the library's tests and the fuzz targets decide for themselves).
pub fn set_limits(limits: Limits) {
    if let Ok(mut s) = STATE.lock() {
        s.limits = Some(limits);
    }
}

/// What to do before the process ends on a crossed budget, given the line it will print:
/// the command's failure outputs; in a fuzz target, an abort that saves the input.
pub fn on_exceeded(hook: impl Fn(&str) + Send + Sync + 'static) {
    let _ = HOOK.set(Box::new(hook));
}

/// One budget for every evaluation until the guard is dropped: all documents and files of a
/// command, or of one attempt of a run. Without it, a file of N documents got N times the
/// time and the memory.
pub struct Session(bool);

pub fn session() -> Session {
    let Ok(mut s) = STATE.lock() else {
        return Session(false);
    };
    if s.session.is_some() {
        return Session(false);
    }
    s.session = Some((Duration::ZERO, None));
    Session(true)
}

impl Drop for Session {
    fn drop(&mut self) {
        if self.0 {
            if let Ok(mut s) = STATE.lock() {
                s.session = None;
            }
        }
    }
}

/// Marks an evaluation as running until the guard is dropped.
pub struct Guard(bool);

pub fn evaluating() -> Guard {
    let Ok(mut s) = STATE.lock() else {
        return Guard(false);
    };
    if s.limits.is_none() || s.armed.is_some() {
        return Guard(false);
    }
    let live = LIVE.load(Relaxed);
    let base = match &mut s.session {
        Some((_, base)) => *base.get_or_insert(live),
        None => live,
    };
    s.armed = Some((Instant::now(), base));
    drop(s);
    if !WATCHED.load(Relaxed) {
        WATCHDOG.get_or_init(|| {
            std::thread::spawn(|| loop {
                std::thread::sleep(TICK);
                check();
            });
        });
    }
    Guard(true)
}

impl Drop for Guard {
    fn drop(&mut self) {
        if self.0 {
            if let Ok(mut s) = STATE.lock() {
                if let (Some((start, _)), Some((spent, _))) = (s.armed, &mut s.session) {
                    *spent += start.elapsed();
                }
                s.armed = None;
            }
        }
    }
}

/// How often the budgets are checked while an evaluation runs.
pub const TICK: Duration = Duration::from_millis(10);

/// Says that a thread which already exists (`stack`'s) calls [`check`] every [`TICK`], so
/// an evaluation need not start one: a thread's start was a visible part of a short run.
pub fn watched_elsewhere() {
    WATCHED.store(true, Relaxed);
}

/// Ends the run if the evaluation under way has crossed its time or memory budget.
pub fn check() {
    let crossed = {
        let Ok(s) = STATE.lock() else { return };
        let spent = s.session.map_or(Duration::ZERO, |(spent, _)| spent);
        match (s.limits, s.armed) {
            (Some(l), Some((start, base))) => {
                if spent + start.elapsed() > l.time {
                    Some(format!(
                        "the expression ran past its {} budget (raise it with --max-eval-time)",
                        show_time(l.time)
                    ))
                } else if LIVE.load(Relaxed).saturating_sub(base) > l.memory {
                    Some(format!(
                        "the expression used more than its {} MiB memory budget (raise it with --max-eval-memory)",
                        l.memory / (1024 * 1024)
                    ))
                } else {
                    None
                }
            }
            _ => None,
        }
    };
    if let Some(msg) = crossed {
        end_early(&msg);
    }
}

/// Ends the process mid-run, from a thread beside the work: the command's failure outputs
/// (the hook), one error line, the temporary repositories removed, exit 2.
pub fn end_early(msg: &str) -> ! {
    if let Some(hook) = HOOK.get() {
        hook(msg);
    }
    eprintln!("error: {msg}; nothing was written");
    crate::cleanup::remove_all();
    std::process::exit(i32::from(crate::error::exit::INPUT));
}

fn show_time(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

/// `512MiB`, `1GiB`, `300M`, or bytes.
pub fn parse_size(s: &str) -> Option<usize> {
    let s = s.trim();
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let n: usize = s[..digits].parse().ok()?;
    let unit = match s[digits..].trim() {
        "" | "B" => 1,
        "K" | "KB" | "KiB" => 1 << 10,
        "M" | "MB" | "MiB" => 1 << 20,
        "G" | "GB" | "GiB" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(unit)
}
