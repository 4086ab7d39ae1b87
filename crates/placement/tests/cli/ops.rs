//! What operators watch the service with, on the real binary: the health
//! probe against a private PostgreSQL that is frozen and stopped, the
//! metrics listener (and its absence), and oslo.log's options — JSON lines,
//! files, levels, and a file reopened after logrotate moved it.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use placement_store::testing::TestDb;
use placement_store::DatabaseUrl;
use serde_json::Value;

use crate::helpers::{free_port, tmpdir, write_conf, Server};

async fn get(server: &Server, path: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("{}{path}", server.base))
        .header("x-auth-token", "admin")
        .header("openstack-api-version", "placement 1.39")
        .send()
        .await
        .unwrap()
}

/// A server on SQLite with `extra` config lines; the directory holds its
/// files.
async fn server_with(extra: &str) -> (Server, PathBuf, TestDb) {
    let db = TestDb::sqlite().await;
    let dir = tmpdir();
    let conf = write_conf(&dir, db.url(), true, extra);
    let server = Server::start(&["--config-file", conf.to_str().unwrap()], &dir).await;
    (server, dir, db)
}

fn kill(signal: &str, pid: u32) {
    let status = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill {signal} {pid}");
}

/// Waits for `check` to hold, up to `within`.
async fn eventually(within: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    check()
}

// ---- health against a private PostgreSQL ---------------------------------

/// A PostgreSQL cluster of our own on a free port, so it can be frozen and
/// stopped without touching the shared server. Stopped on drop.
struct PrivatePostgres {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
}

impl PrivatePostgres {
    /// Initialises and starts a cluster; `None` when no PostgreSQL binaries
    /// are installed.
    fn start(dir: &Path) -> Option<Self> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|b| b.join("initdb").is_file())
            .max()?;
        let data = dir.join("pg");
        std::fs::create_dir_all(&data).unwrap();
        let as_root = Self::as_root();
        if as_root {
            // initdb refuses root: the cluster belongs to `postgres`.
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres", dir.to_str().unwrap()])
                .status()
                .unwrap();
            assert!(status.success());
        }
        let port = free_port();
        let pg = Self { bin, data, port };
        pg.pg(
            as_root,
            "initdb",
            &[
                "-D",
                pg.data.to_str().unwrap(),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        pg.ctl("start");
        Some(pg)
    }

    fn as_root() -> bool {
        Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
    }

    fn pg(&self, as_root: bool, tool: &str, args: &[&str]) {
        let program = self.bin.join(tool);
        let mut command = if as_root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        let out = command.args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{tool} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn ctl(&self, action: &str) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.data.display()
        );
        let log = self.data.join("server.log");
        let mut args = vec![
            "-D",
            self.data.to_str().unwrap(),
            "-o",
            &options,
            "-l",
            log.to_str().unwrap(),
            "-w",
        ];
        if action == "stop" {
            args.extend(["-m", "immediate"]);
        }
        args.push(action);
        self.pg(Self::as_root(), "pg_ctl", &args);
    }

    fn url(&self) -> DatabaseUrl {
        DatabaseUrl::parse(&format!(
            "postgresql://postgres@127.0.0.1:{}/postgres",
            self.port
        ))
        .unwrap()
    }

    /// The postmaster and every process it started: the whole cluster.
    fn processes(&self) -> Vec<u32> {
        let pid_file = std::fs::read_to_string(self.data.join("postmaster.pid")).unwrap();
        let postmaster: u32 = pid_file.lines().next().unwrap().trim().parse().unwrap();
        let mut pids = vec![postmaster];
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            // pid (comm) state ppid …; comm may hold spaces, so split after ')'.
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|p| p.parse::<u32>().ok());
            if ppid == Some(postmaster) {
                pids.push(pid);
            }
        }
        pids
    }

    fn signal_all(&self, signal: &str) {
        for pid in self.processes() {
            let _ = Command::new("kill")
                .args([signal, &pid.to_string()])
                .stderr(std::process::Stdio::null())
                .status();
        }
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        self.signal_all("-CONT");
        let _ = std::panic::catch_unwind(|| self.ctl("stop"));
    }
}

/// One probe: its status, body, and how long it took.
async fn probe(server: &Server) -> (u16, String, Duration) {
    let started = Instant::now();
    let r = reqwest::Client::new()
        .get(format!("{}/healthcheck", server.base))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.text().await.unwrap(), started.elapsed())
}

/// A private database server a test may freeze, thaw, stop and start.
trait PrivateServer {
    fn url(&self) -> DatabaseUrl;
    /// Sends `signal` (`-STOP`, `-CONT`) to every process of the server.
    fn signal(&self, signal: &str);
    fn stop(&self);
    fn start(&self);
}

impl PrivateServer for PrivatePostgres {
    fn url(&self) -> DatabaseUrl {
        PrivatePostgres::url(self)
    }
    fn signal(&self, signal: &str) {
        self.signal_all(signal);
    }
    fn stop(&self) {
        self.ctl("stop");
    }
    fn start(&self) {
        self.ctl("start");
    }
}

/// A MariaDB server of our own on a free port (one process), stopped on
/// drop.
struct PrivateMariadb {
    dir: PathBuf,
    port: u16,
    /// The running server, reaped when stopped.
    child: std::sync::Mutex<Option<std::process::Child>>,
}

impl PrivateMariadb {
    /// Installs and starts a server; `None` when MariaDB is not installed.
    fn start(dir: &Path) -> Option<Self> {
        let server = Path::new("/usr/sbin/mariadbd");
        if !server.is_file() {
            return None;
        }
        let out = Command::new("mariadb-install-db")
            .arg("--no-defaults")
            .arg(format!("--datadir={}", dir.join("data").display()))
            .args([
                "--user=root",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ])
            .output()
            .ok()?;
        assert!(
            out.status.success(),
            "mariadb-install-db: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let db = Self {
            dir: dir.to_path_buf(),
            port: free_port(),
            child: std::sync::Mutex::new(None),
        };
        PrivateServer::start(&db);
        Some(db)
    }

    fn pid(&self) -> Option<u32> {
        self.child
            .lock()
            .unwrap()
            .as_ref()
            .map(std::process::Child::id)
    }

    fn answers(&self) -> bool {
        std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok()
    }
}

impl PrivateServer for PrivateMariadb {
    fn url(&self) -> DatabaseUrl {
        DatabaseUrl::parse(&format!(
            "mysql+pymysql://root@127.0.0.1:{}/mysql",
            self.port
        ))
        .unwrap()
    }

    fn signal(&self, signal: &str) {
        if let Some(pid) = self.pid() {
            let _ = Command::new("kill")
                .args([signal, &pid.to_string()])
                .status();
        }
    }

    fn stop(&self) {
        let Some(mut child) = self.child.lock().unwrap().take() else {
            return;
        };
        let _ = Command::new("kill").arg(child.id().to_string()).status();
        let _ = child.wait();
    }

    fn start(&self) {
        let log = std::fs::File::create(self.dir.join("server.log")).unwrap();
        let child = Command::new("/usr/sbin/mariadbd")
            .arg("--no-defaults")
            .arg(format!("--datadir={}", self.dir.join("data").display()))
            .arg(format!("--port={}", self.port))
            .arg(format!("--socket={}", self.dir.join("sock").display()))
            .args([
                "--bind-address=127.0.0.1",
                "--user=root",
                "--skip-log-bin",
                "--innodb-flush-log-at-trx-commit=0",
            ])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        *self.child.lock().unwrap() = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.answers() {
            assert!(
                Instant::now() < deadline,
                "the private MariaDB did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for PrivateMariadb {
    fn drop(&mut self) {
        self.signal("-CONT");
        self.stop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_fails_within_its_timeout_while_a_private_postgresql_is_frozen_or_stopped() {
    let dir = tmpdir();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let Some(pg) = PrivatePostgres::start(&dir) else {
        eprintln!("skipped: no PostgreSQL binaries under /usr/lib/postgresql");
        return;
    };
    health_through_an_outage(&pg, &dir).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_fails_within_its_timeout_while_a_private_mariadb_is_frozen_or_stopped() {
    let dir = tmpdir();
    let Some(db) = PrivateMariadb::start(&dir) else {
        eprintln!("skipped: no /usr/sbin/mariadbd");
        return;
    };
    health_through_an_outage(&db, &dir).await;
}

/// `placement-api` on `db`: healthy; 503 within the timeout while it is
/// frozen; healthy after it thaws; 503 fast while it is stopped; healthy
/// once it is started again.
async fn health_through_an_outage(db: &dyn PrivateServer, dir: &Path) {
    let conf = write_conf(
        dir,
        &db.url(),
        true,
        "[healthcheck]\ndatabase_timeout = 1\n",
    );
    let server = Server::start(&["--config-file", conf.to_str().unwrap()], dir).await;
    let (status, body, _) = probe(&server).await;
    assert_eq!((status, body.as_str()), (200, "OK"));

    // Frozen: connections stay open but nothing answers. Every probe
    // returns within the timeout (1 s; an answer is reused for 1 s), and a
    // 503 comes within the reuse window plus the timeout (with slack).
    db.signal("-STOP");
    let frozen = Instant::now();
    let mut failed = None;
    while frozen.elapsed() < Duration::from_secs(5) {
        let (status, body, took) = probe(&server).await;
        // The timeout plus slack for a loaded machine; without the
        // timeout a probe would wait for the pool's 30 s.
        assert!(took < Duration::from_millis(2500), "a probe took {took:?}");
        if status == 503 {
            failed = Some((body, frozen.elapsed()));
            break;
        }
    }
    let (body, after) = failed.expect("503 while the database is frozen");
    assert_eq!(body, "DATABASE UNAVAILABLE");
    assert!(
        after < Duration::from_millis(3500),
        "503 only after {after:?}"
    );
    let json = reqwest::Client::new()
        .get(format!("{}/healthcheck", server.base))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), 503);
    assert_eq!(
        json.json::<Value>().await.unwrap(),
        serde_json::json!({"detailed": false, "reasons": ["DATABASE UNAVAILABLE"]})
    );

    // Thawed: healthy again, without a restart.
    db.signal("-CONT");
    assert!(
        wait_for_status(&server, 200, Duration::from_secs(10)).await,
        "healthy again after SIGCONT"
    );

    // Stopped: refused connections fail fast.
    db.stop();
    let stopped = Instant::now();
    assert!(wait_for_status(&server, 503, Duration::from_secs(4)).await);
    assert!(stopped.elapsed() < Duration::from_secs(3));

    // Started again: healthy again.
    db.start();
    assert!(wait_for_status(&server, 200, Duration::from_secs(10)).await);
    drop(server);
}

async fn wait_for_status(server: &Server, status: u16, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if probe(server).await.0 == status {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_disable_file_from_healthcheck_config_drains_the_binary() {
    let file = std::env::temp_dir().join(format!("placement-drain-{}", uuid::Uuid::new_v4()));
    let (server, _dir, _db) = server_with(&format!(
        "[healthcheck]\nbackends = disable_by_file\ndisable_by_file_path = {}\n",
        file.display()
    ))
    .await;
    assert_eq!(probe(&server).await.0, 200);
    std::fs::write(&file, "").unwrap();
    let (status, body, _) = probe(&server).await;
    assert_eq!((status, body.as_str()), (503, "DISABLED BY FILE\nOK"));
    std::fs::remove_file(&file).unwrap();
    assert_eq!(probe(&server).await.0, 200);
}

// ---- metrics ---------------------------------------------------------------

/// The TCP ports `pid` listens on (from /proc: its socket inodes among the
/// listening sockets).
fn listening_ports(pid: u32) -> Vec<u16> {
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .filter_map(|target| {
            let target = target.to_string_lossy().into_owned();
            target
                .strip_prefix("socket:[")
                .and_then(|rest| rest.strip_suffix(']'))
                .map(str::to_owned)
        })
        .collect();
    let mut ports = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // local_address is field 1 (ADDR:PORT in hex), st is field 3
            // (0A = LISTEN), inode is field 9.
            if fields.len() > 9 && fields[3] == "0A" && inodes.iter().any(|i| i == fields[9]) {
                if let Some(port) = fields[1]
                    .rsplit_once(':')
                    .and_then(|(_, p)| u16::from_str_radix(p, 16).ok())
                {
                    ports.push(port);
                }
            }
        }
    }
    ports.sort_unstable();
    ports
}

fn api_port(server: &Server) -> u16 {
    server.base.rsplit_once(':').unwrap().1.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_metrics_bind_there_is_no_metrics_listener() {
    let (server, _dir, _db) = server_with("").await;
    assert_eq!(listening_ports(server.pid()), vec![api_port(&server)]);
    // Nor does the API port serve them.
    assert_eq!(get(&server, "/metrics").await.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_bind_serves_exact_counts_on_a_listener_of_its_own() {
    let port = free_port();
    let (server, _dir, _db) = server_with(&format!("[metrics]\nbind = 127.0.0.1:{port}\n")).await;
    let mut ports = vec![api_port(&server), port];
    ports.sort_unstable();
    assert_eq!(listening_ports(server.pid()), ports);
    for _ in 0..3 {
        assert_eq!(
            get(&server, "/traits?name=startswith:HW_CPU")
                .await
                .status(),
            200
        );
    }
    assert_eq!(get(&server, "/metrics").await.status(), 404);
    let scrape = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap();
    assert_eq!(scrape.status(), 200);
    let text = scrape.text().await.unwrap();
    for series in [
        "placement_http_requests_total{route=\"/traits\",method=\"GET\",microversion=\"1.39\",status=\"200\"} 3",
        "placement_http_request_duration_seconds_count{route=\"/traits\",method=\"GET\",microversion=\"1.39\",status=\"200\"} 3",
        "placement_http_requests_total{route=\"unmatched\",method=\"GET\",microversion=\"1.39\",status=\"404\"} 1",
        "placement_http_requests_in_flight 0",
        "placement_db_pool_max_connections 15",
    ] {
        assert!(text.lines().any(|l| l == series), "{series} in\n{text}");
    }
}

// ---- logging ---------------------------------------------------------------

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The request id the API answered a request with.
async fn request_id(server: &Server, path: &str) -> String {
    get(server, path).await.headers()["x-openstack-request-id"]
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn use_json_writes_json_lines_to_log_file_with_the_request_id() {
    let dir = tmpdir();
    let file = dir.join("placement-api-json.log");
    let (server, _sdir, _db) = server_with(&format!(
        "[DEFAULT]\nlog_file = {}\nuse_json = True\n",
        file.display()
    ))
    .await;
    let id = request_id(&server, "/traits?name=startswith:HW_CPU").await;
    assert!(
        eventually(Duration::from_secs(5), || lines(&file)
            .iter()
            .any(|l| l.contains(&id)))
        .await
    );
    let parsed: Vec<Value> = lines(&file)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let access = parsed
        .iter()
        .find(|v| v["span"]["request_id"] == id.as_str() && v["fields"]["message"] == "request")
        .expect("the access line names the request");
    assert_eq!(access["level"], "INFO");
    assert_eq!(access["fields"]["status"], 200);
    assert_eq!(access["fields"]["method"], "GET");
    assert_eq!(access["fields"]["path"], "/traits?name=startswith:HW_CPU");
    assert_eq!(access["fields"]["microversion"], "1.39");
    // Without use_stderr the file is the only output.
    assert!(!server.log().contains(&id), "{}", server.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_dir_alone_names_the_program_and_use_stderr_adds_stderr() {
    let dir = tmpdir();
    let logs = dir.join("logs");
    let (server, _sdir, _db) = server_with(&format!(
        "[DEFAULT]\nlog_dir = {}\nuse_stderr = True\n",
        logs.display()
    ))
    .await;
    let id = request_id(&server, "/traits").await;
    let file = logs.join("placement-api.log");
    assert!(
        eventually(Duration::from_secs(5), || lines(&file)
            .iter()
            .any(|l| l.contains(&id)))
        .await
    );
    let line = lines(&file).into_iter().find(|l| l.contains(&id)).unwrap();
    // Text lines: the request span names the id, the access fields follow.
    assert!(
        line.contains(&format!("request{{request_id={id} ")),
        "{line}"
    );
    // Fields recorded on the span later appear once per output.
    assert_eq!(line.matches("user_id=admin").count(), 1, "{line}");
    assert!(eventually(Duration::from_secs(5), || server.log().contains(&id)).await);
    let stderr_line = server
        .log()
        .lines()
        .find(|l| l.contains(&id))
        .map(str::to_owned)
        .unwrap_or_default();
    assert_eq!(
        stderr_line.matches("user_id=admin").count(),
        1,
        "{stderr_line}"
    );
    assert!(line.contains("status=200"), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_and_default_log_levels_set_the_levels() {
    // debug = True: debug lines such as "starting request" appear.
    let (server, _dir, _db) = server_with("[DEFAULT]\ndebug = True\n").await;
    let id = request_id(&server, "/traits").await;
    assert!(
        eventually(Duration::from_secs(5), || server
            .log()
            .lines()
            .any(|l| l.contains(&id) && l.contains("starting request")))
        .await,
        "{}",
        server.log()
    );

    // Not by default.
    let (server, _dir, _db) = server_with("").await;
    let id = request_id(&server, "/traits").await;
    assert!(eventually(Duration::from_secs(5), || server.log().contains(&id)).await);
    assert!(!server.log().contains("starting request"));

    // default_log_levels silences one target (the access log), in oslo's
    // dotted spelling, and leaves the others.
    let (server, _dir, _db) = server_with(
        "[DEFAULT]\ndefault_log_levels = sqlalchemy=WARN, placement_http.middleware.request_log=WARN\n",
    )
    .await;
    let id = request_id(&server, "/traits").await;
    // The id is logged nowhere, but the startup lines are there.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!server.log().contains(&id), "{}", server.log());
    assert!(server.log().contains("placement-api listening"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_logging_options_stop_startup_with_the_key_named() {
    let db = TestDb::sqlite().await;
    let dir = tmpdir();
    let conf = write_conf(
        &dir,
        db.url(),
        true,
        "[DEFAULT]\ndefault_log_levels = sqlx=LOUD\n",
    );
    let out = crate::helpers::run(
        "placement-api",
        &["--config-file", conf.to_str().unwrap()],
        &dir,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        crate::helpers::stderr(&out).contains("[DEFAULT] default_log_levels"),
        "{}",
        crate::helpers::stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reopens_the_log_file_after_rotation() {
    let dir = tmpdir();
    let file = dir.join("api.log");
    let rotated = dir.join("api.log.1");
    let (server, _sdir, _db) =
        server_with(&format!("[DEFAULT]\nlog_file = {}\n", file.display())).await;
    let first = request_id(&server, "/traits").await;
    assert!(
        eventually(Duration::from_secs(5), || lines(&file)
            .iter()
            .any(|l| l.contains(&first)))
        .await
    );

    std::fs::rename(&file, &rotated).unwrap();
    kill("-HUP", server.pid());
    assert!(
        eventually(Duration::from_secs(5), || lines(&file)
            .iter()
            .any(|l| l.contains("log file reopened")))
        .await
    );
    let second = request_id(&server, "/traits").await;
    assert!(
        eventually(Duration::from_secs(5), || lines(&file)
            .iter()
            .any(|l| l.contains(&second)))
        .await
    );
    assert!(lines(&rotated).iter().any(|l| l.contains(&first)));
    assert!(!lines(&rotated).iter().any(|l| l.contains(&second)));
    // Still serving: SIGHUP does not stop the process.
    assert_eq!(get(&server, "/traits").await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_log_file_follows_a_rotation_without_a_signal() {
    let dir = tmpdir();
    let file = dir.join("api.log");
    let rotated = dir.join("api.log.1");
    let (server, _sdir, _db) = server_with(&format!(
        "[DEFAULT]\nlog_file = {}\nwatch_log_file = True\n",
        file.display()
    ))
    .await;
    let first = request_id(&server, "/traits").await;
    assert!(
        eventually(Duration::from_secs(5), || lines(&file)
            .iter()
            .any(|l| l.contains(&first)))
        .await
    );
    std::fs::rename(&file, &rotated).unwrap();
    let second = request_id(&server, "/traits").await;
    assert!(
        eventually(Duration::from_secs(5), || lines(&file)
            .iter()
            .any(|l| l.contains(&second)))
        .await
    );
    assert!(!lines(&rotated).iter().any(|l| l.contains(&second)));
}
