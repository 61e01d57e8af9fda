//! The command line as an operator uses it (CONTRACT section 1): the real binary, started and stopped.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A running `tollgate` process, killed when dropped.
struct Server {
    child: Child,
    lines: Vec<String>,
    address: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tollgate(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tollgate"));
    command
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("TOLLGATE_ADDR")
        .env("RUST_LOG", "warn");
    command
}

/// Starts `serve` and reads its standard output up to the line that tells where it listens, and `extra` lines more.
fn serve(args: &[&str], extra: usize) -> Server {
    let mut child = tollgate(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start tollgate");
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    let mut address = None;
    let mut line = String::new();
    while reader.read_line(&mut line).expect("read stdout") > 0 {
        let text = line.trim_end().to_owned();
        line.clear();
        if let Some(rest) = text.strip_prefix("listening on http://") {
            address = Some(rest.to_owned());
        }
        lines.push(text);
        if address.is_some() && lines.len() > extra {
            break;
        }
    }
    let address = address.unwrap_or_else(|| panic!("no address printed: {lines:?}"));
    Server { child, lines, address }
}

#[test]
fn migrate_then_serve_on_a_free_port() {
    let dir = tempdir();
    let url = format!("sqlite://{}/nested/tollgate.db", dir.display());
    let status = tollgate(&["migrate", "--database-url", &url]).status().unwrap();
    assert!(status.success());
    assert!(
        dir.join("nested/tollgate.db").exists(),
        "the database is created with its folder"
    );

    let server = serve(&["serve", "--addr", "127.0.0.1:0", "--database-url", &url], 0);
    assert!(!server.address.ends_with(":0"));
    let health = http_get(&server.address, "/healthz");
    assert!(health.starts_with("HTTP/1.1 200") && health.ends_with("ok"), "{health}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn demo_loads_once_and_prints_its_logins() {
    let dir = tempdir();
    let url = format!("sqlite://{}/tollgate.db", dir.display());
    let args = ["serve", "--demo", "--addr", "127.0.0.1:0", "--database-url", &url];
    let first = serve(&args, 8);
    let printed = first.lines.join("\n");
    assert!(
        printed.contains("customer@demo.example") && printed.contains("seller@demo.example"),
        "{printed}"
    );
    let purchase_urls: Vec<String> = first
        .lines
        .iter()
        .filter(|l| l.contains("/purchase/"))
        .cloned()
        .collect();
    assert_eq!(purchase_urls.len(), 2, "{printed}");
    let mailbox = http_get(&first.address, "/dev/mailbox");
    assert!(mailbox.starts_with("HTTP/1.1 200"), "{mailbox}");
    drop(first);

    // A restart on the same database finds the demo loaded and adds nothing.
    let second = serve(&args, 8);
    let again: Vec<String> = second
        .lines
        .iter()
        .filter(|l| l.contains("/purchase/"))
        .cloned()
        .collect();
    let codes = |urls: &[String]| {
        urls.iter()
            .map(|u| u.rsplit('/').next().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(codes(&again), codes(&purchase_urls));
    drop(second);

    // Without --demo there is no mailbox page.
    let plain = serve(&["serve", "--addr", "127.0.0.1:0", "--database-url", &url], 0);
    assert!(http_get(&plain.address, "/dev/mailbox").starts_with("HTTP/1.1 404"));
    drop(plain);
    std::fs::remove_dir_all(dir).ok();
}

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tollgate-cli-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A plain HTTP/1.1 GET, so this test needs no async runtime.
fn http_get(address: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nhost: {address}\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}
