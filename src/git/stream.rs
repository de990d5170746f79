//! A TCP stream for libgit2 with `TCP_NODELAY`.
//!
//! libgit2 writes an HTTP request's headers and body with two `send` calls and never sets
//! `TCP_NODELAY`, so the body waits for the server's delayed ACK: about 40 ms per POST,
//! measured with strace here (a push makes two or three). curl, and so the git CLI, set
//! `TCP_NODELAY`. libgit2 lets a program register the "standard" stream it opens sockets
//! with, and its TLS stream wraps that one, so registering this stream fixes both HTTP and
//! HTTPS. Timeouts are applied as libgit2's own socket stream applies them.
//!
//! The structs mirror `git2/sys/stream.h` of libgit2 1.9 (`GIT_STREAM_VERSION` 1).

use std::ffi::{c_char, c_int, c_uint, c_void, CStr, CString};
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;
use std::time::Duration;

#[repr(C)]
struct GitStream {
    version: c_int,
    /// `encrypted : 1, proxy_support : 1`, both 0.
    flags: c_uint,
    timeout: c_int,
    connect_timeout: c_int,
    connect: Option<unsafe extern "C" fn(*mut GitStream) -> c_int>,
    certificate: Option<unsafe extern "C" fn(*mut *mut c_void, *mut GitStream) -> c_int>,
    set_proxy: Option<unsafe extern "C" fn(*mut GitStream, *const c_void) -> c_int>,
    read: Option<unsafe extern "C" fn(*mut GitStream, *mut c_void, usize) -> isize>,
    write: Option<unsafe extern "C" fn(*mut GitStream, *const c_char, usize, c_int) -> isize>,
    close: Option<unsafe extern "C" fn(*mut GitStream) -> c_int>,
    free: Option<unsafe extern "C" fn(*mut GitStream)>,
}

#[repr(C)]
struct Registration {
    version: c_int,
    init: Option<unsafe extern "C" fn(*mut *mut GitStream, *const c_char, *const c_char) -> c_int>,
    wrap: Option<unsafe extern "C" fn(*mut *mut GitStream, *mut GitStream, *const c_char) -> c_int>,
}

/// `parent` first, so a `*mut GitStream` from libgit2 is a `*mut Stream`.
#[repr(C)]
struct Stream {
    parent: GitStream,
    host: String,
    port: String,
    socket: Option<TcpStream>,
}

extern "C" {
    fn git_stream_register(kind: c_int, registration: *mut Registration) -> c_int;
    fn git_error_set_str(class: c_int, message: *const c_char) -> c_int;
}

const GIT_STREAM_STANDARD: c_int = 1;
const GIT_ERROR_NET: c_int = 12;
const GIT_TIMEOUT: isize = -37;

/// The timeout in milliseconds for connecting and for each read and write (0: none).
static TIMEOUT_MS: AtomicU64 = AtomicU64::new(0);

/// The only host and port a socket may be opened to: the remote's. libgit2 follows a
/// redirect to another port of the same host, and sends the extraheader (and, when asked,
/// the token) wherever it is sent; refusing the connection keeps both with their origin.
static ORIGIN: std::sync::Mutex<Option<(String, String)>> = std::sync::Mutex::new(None);

/// Pins every later connection to `host`:`port`.
pub fn pin_origin(host: &str, port: u16) {
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    if let Ok(mut o) = ORIGIN.lock() {
        *o = Some((host, port.to_string()));
    }
}

/// `None` when `host`:`port` is the pinned origin (or nothing is pinned); else why not.
fn off_origin(host: &str, port: &str) -> Option<String> {
    let pinned = ORIGIN.lock().ok()?.clone()?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case(&pinned.0) && port == pinned.1 {
        return None;
    }
    Some(format!(
        "the server redirected to {}:{port}, not the repository's {}:{}; credentials go only to the repository's own address: give the address it redirects to",
        crate::report::escape(host),
        pinned.0,
        pinned.1
    ))
}

fn set_error(msg: &str) {
    let msg = CString::new(msg.replace('\0', " ")).unwrap_or_default();
    // SAFETY: `msg` is a NUL-terminated C string that lives until the end of this function,
    // past the call; libgit2 copies the text into its thread's error buffer (util/errors.c,
    // `git_error_set_str`) and keeps no pointer to it. The class is libgit2's own constant.
    unsafe {
        git_error_set_str(GIT_ERROR_NET, msg.as_ptr());
    }
}

fn timeout() -> Option<Duration> {
    match TIMEOUT_MS.load(Ordering::Relaxed) {
        0 => None,
        ms => Some(Duration::from_millis(ms)),
    }
}

unsafe extern "C" fn connect(s: *mut GitStream) -> c_int {
    // SAFETY: libgit2 passes back the pointer `init` gave it, which is a live `Box<Stream>`
    // until `free`. `Stream` is `repr(C)` with the `GitStream` first, so the cast gives the
    // whole allocation. libgit2 uses a stream from one thread and one call at a time, so this
    // is the only reference to it.
    let s = &mut *(s as *mut Stream);
    if let Some(why) = off_origin(&s.host, &s.port) {
        set_error(&why);
        return -1;
    }
    let addrs = match (s.host.as_str(), s.port.parse::<u16>().unwrap_or(0)).to_socket_addrs() {
        Ok(a) => a.collect::<Vec<_>>(),
        Err(e) => {
            set_error(&format!("failed to resolve address for {}: {e}", s.host));
            return -1;
        }
    };
    let mut last = None;
    for addr in addrs {
        let conn = match timeout() {
            Some(t) => TcpStream::connect_timeout(&addr, t),
            None => TcpStream::connect(addr),
        };
        match conn {
            Ok(sock) => {
                let _ = sock.set_nodelay(true);
                let _ = sock.set_read_timeout(timeout());
                let _ = sock.set_write_timeout(timeout());
                s.socket = Some(sock);
                return 0;
            }
            Err(e) => last = Some(e),
        }
    }
    match last {
        Some(e) if e.kind() == ErrorKind::TimedOut => {
            set_error(&format!("failed to connect to {}: timed out", s.host))
        }
        Some(e) => set_error(&format!("failed to connect to {}: {e}", s.host)),
        None => set_error(&format!("failed to resolve address for {}", s.host)),
    }
    -1
}

fn io_error(e: &std::io::Error) -> isize {
    if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) {
        set_error("timed out");
        GIT_TIMEOUT
    } else {
        set_error(&e.to_string());
        -1
    }
}

unsafe extern "C" fn read(s: *mut GitStream, buf: *mut c_void, len: usize) -> isize {
    // SAFETY: as in `connect`: the pointer is `init`'s live `Box<Stream>`, used by one call at
    // a time.
    let s = &mut *(s as *mut Stream);
    let Some(sock) = s.socket.as_mut() else {
        set_error("read on a closed stream");
        return -1;
    };
    // SAFETY: `git_stream_read` hands over a buffer of `len` writable bytes that it owns
    // for the duration of the call and does not touch meanwhile.
    let buf = std::slice::from_raw_parts_mut(buf as *mut u8, len);
    loop {
        match sock.read(buf) {
            Ok(n) => return n as isize,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return io_error(&e),
        }
    }
}

unsafe extern "C" fn write(
    s: *mut GitStream,
    buf: *const c_char,
    len: usize,
    _flags: c_int,
) -> isize {
    // SAFETY: as in `connect`: the pointer is `init`'s live `Box<Stream>`, used by one call at
    // a time.
    let s = &mut *(s as *mut Stream);
    let Some(sock) = s.socket.as_mut() else {
        set_error("write on a closed stream");
        return -1;
    };
    // SAFETY: `git_stream_write` hands over `len` readable bytes that stay valid and
    // unchanged for the duration of the call.
    let buf = std::slice::from_raw_parts(buf as *const u8, len);
    loop {
        match sock.write(buf) {
            Ok(n) => return n as isize,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return io_error(&e),
        }
    }
}

unsafe extern "C" fn close(s: *mut GitStream) -> c_int {
    // SAFETY: as in `connect`: the pointer is `init`'s live `Box<Stream>`, used by one call at
    // a time. Closing only drops the socket; the allocation stays until `free`.
    let s = &mut *(s as *mut Stream);
    if let Some(sock) = s.socket.take() {
        let _ = sock.shutdown(Shutdown::Both);
    }
    0
}

unsafe extern "C" fn free(s: *mut GitStream) {
    // SAFETY: the pointer came from `Box::into_raw` of a `Box<Stream>` in `init` (the cast
    // undoes the one made there). libgit2 calls `free` once per stream and never uses the
    // stream after it, so the box is rebuilt and dropped exactly once.
    drop(Box::from_raw(s as *mut Stream));
}

unsafe extern "C" fn init(
    out: *mut *mut GitStream,
    host: *const c_char,
    port: *const c_char,
) -> c_int {
    let text = |p: *const c_char| {
        if p.is_null() {
            String::new()
        } else {
            // SAFETY: a non-null `host` or `port` from libgit2 is a NUL-terminated string
            // that is valid for the duration of `init`; it is copied into a `String` here.
            CStr::from_ptr(p).to_string_lossy().into_owned()
        }
    };
    let ms = c_int::try_from(TIMEOUT_MS.load(Ordering::Relaxed)).unwrap_or(c_int::MAX);
    let stream = Box::new(Stream {
        parent: GitStream {
            version: 1,
            flags: 0,
            timeout: ms,
            connect_timeout: ms,
            connect: Some(connect),
            certificate: None,
            set_proxy: None,
            read: Some(read),
            write: Some(write),
            close: Some(close),
            free: Some(free),
        },
        host: text(host),
        port: text(port),
        socket: None,
    });
    // SAFETY: `out` is libgit2's out-parameter, a valid place for one pointer. The box is
    // handed over to libgit2, which gives it back to `free`.
    *out = Box::into_raw(stream) as *mut GitStream;
    0
}

/// Makes libgit2 open its sockets with this stream. Call after libgit2 is initialised (any
/// git2 call does that); the timeout applies to connecting and to each read and write.
pub fn register(timeout: Duration) -> Result<(), String> {
    TIMEOUT_MS.store(
        u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
        Ordering::Relaxed,
    );
    static ONCE: Once = Once::new();
    let mut result = Ok(());
    ONCE.call_once(|| {
        let mut reg = Registration {
            version: 1,
            init: Some(init),
            wrap: None,
        };
        // SAFETY: `reg` matches `git_stream_registration` of libgit2 1.9 (version 1), and its
        // callbacks have the signatures `sys/stream.h` declares. libgit2 copies the
        // registration (streams/registry.c, `git_stream_register`) and keeps no pointer to
        // `reg`, which lives on this stack. Callers register after libgit2 is initialised (see
        // `register`'s doc), and `Once` makes this the only registration.
        if unsafe { git_stream_register(GIT_STREAM_STANDARD, &mut reg) } != 0 {
            result = Err("cannot register the socket stream with libgit2".to_string());
        }
    });
    result
}
