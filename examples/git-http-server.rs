//! Serves the bare repositories under a directory over smart HTTP (`git http-backend`
//! behind basic auth on 127.0.0.1), with the same server the integration tests use. For
//! benchmarks: `cargo run --example git-http-server -- DIR` prints the port, then serves
//! until killed. Any user name with the password `t0k3n-s3cr3t-value` is accepted.

#[allow(dead_code)]
#[path = "../tests/it/common/git.rs"]
mod git;

fn main() {
    let Some(root) = std::env::args().nth(1) else {
        eprintln!("usage: git-http-server DIR");
        std::process::exit(2);
    };
    let server = git::HttpServer::start(std::path::Path::new(&root));
    println!("{}", server.port);
    loop {
        std::thread::park();
    }
}
