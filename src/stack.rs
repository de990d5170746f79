//! The program's work runs on a thread with a known, generous stack, and a stack overflow
//! there is an error like any other instead of an abort. Inputs are limited before anything
//! recurses along them (a file's nesting, an expression's), but jq itself recurses as a
//! program asks (`def f: 1 + f; f`, `fromjson` of deep text, a long `setpath`), faster than
//! any time budget: the guard page is the last line.
//!
//! How: a SIGSEGV handler (on the alternate signal stack std gives every thread) tells a
//! fault in the work thread's guard region from any other. For an overflow it writes a byte
//! to a pipe and parks the faulting thread; a waiting thread then ends the run as a crossed
//! budget does: the failure outputs, one error line, the temporary repositories removed,
//! exit 2. Any other fault is left to the default action.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

/// The work thread's stack: virtual until touched, so only a deep input costs memory.
pub const SIZE: usize = 256 << 20;

/// The lowest address of the work thread's stack, and the pipe's write end.
static LOW: AtomicUsize = AtomicUsize::new(0);
static PIPE: AtomicUsize = AtomicUsize::new(usize::MAX);

/// What a fault this far below the stack's lowest address, or this far into it, is taken
/// for: an overflow into the guard page (a large frame can skip past its first pages).
const SLACK: usize = 1 << 20;

extern "C" fn on_segv(_sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // SAFETY: only async-signal-safe calls (write, pause, sigaction) on values read here.
    unsafe {
        let addr = (*info).si_addr() as usize;
        let low = LOW.load(SeqCst);
        let fd = PIPE.load(SeqCst);
        if low != 0 && fd != usize::MAX && addr + SLACK >= low && addr < low + SLACK {
            let byte = 1u8;
            libc::write(fd as libc::c_int, (&byte as *const u8).cast(), 1);
            loop {
                libc::pause();
            }
        }
        // Not ours: the default action, on the same fault again when this returns.
        let mut dfl: libc::sigaction = std::mem::zeroed();
        dfl.sa_sigaction = libc::SIG_DFL;
        libc::sigaction(libc::SIGSEGV, &dfl, std::ptr::null_mut());
    }
}

/// Installs the handler and the thread that ends the run on an overflow. Call once, before
/// the work thread starts.
pub fn install() {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: plain libc calls on values we own.
    unsafe {
        if libc::pipe(fds.as_mut_ptr()) != 0 {
            return;
        }
        let (read, write) = (fds[0], fds[1]);
        let waiting = std::thread::Builder::new()
            .name("overflow".into())
            .spawn(move || wait_for_overflow(read));
        if waiting.is_err() {
            return;
        }
        crate::budget::watched_elsewhere();
        PIPE.store(write as usize, SeqCst);
        let mut act: libc::sigaction = std::mem::zeroed();
        act.sa_sigaction = on_segv as *const () as usize;
        act.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
        libc::sigemptyset(&mut act.sa_mask);
        libc::sigaction(libc::SIGSEGV, &act, std::ptr::null_mut());
    }
}

/// The waiting thread: ends the run on an overflow, and checks the evaluation budgets
/// between (one thread for both, since starting one cost a short run a visible share).
fn wait_for_overflow(read: libc::c_int) {
    let tick = crate::budget::TICK.as_millis() as libc::c_int;
    loop {
        let mut fd = libc::pollfd {
            fd: read,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: poll and read on the pipe's read end, which this thread alone owns.
        let ready = unsafe { libc::poll(&mut fd, 1, tick) };
        if ready == 1 {
            let mut byte = 0u8;
            if unsafe { libc::read(read, (&mut byte as *mut u8).cast(), 1) } == 1 {
                crate::budget::end_early(&format!(
                    "the expression or the file nests deeper than the {} MiB stack allows (a recursion that never ends, or deeply nested data)",
                    SIZE >> 20
                ));
            }
            // Ready without a byte (the pipe closed): never spin on it.
            std::thread::sleep(crate::budget::TICK);
        }
        crate::budget::check();
    }
}

/// Called first on the work thread: records where its stack ends.
pub fn guard_this_thread() {
    // SAFETY: pthread_getattr_np fills an attribute object we own and destroy.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return;
        }
        let mut addr: *mut libc::c_void = std::ptr::null_mut();
        let mut size: libc::size_t = 0;
        if libc::pthread_attr_getstack(&attr, &mut addr, &mut size) == 0 {
            LOW.store(addr as usize, SeqCst);
        }
        libc::pthread_attr_destroy(&mut attr);
    }
}
