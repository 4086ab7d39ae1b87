//! Spawning the binaries and waiting for them.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use placement_store::testing::TestDb;
use placement_store::DatabaseUrl;

pub fn bin(name: &str) -> PathBuf {
    match name {
        "placement-api" => PathBuf::from(env!("CARGO_BIN_EXE_placement-api")),
        "placement-manage" => PathBuf::from(env!("CARGO_BIN_EXE_placement-manage")),
        "placement-status" => PathBuf::from(env!("CARGO_BIN_EXE_placement-status")),
        other => panic!("unknown binary {other}"),
    }
}

/// A private directory for one test's files.
pub fn tmpdir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("placement-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Writes a placement.conf for `url` (plus extra lines) into `dir`.
pub fn write_conf(dir: &Path, url: &DatabaseUrl, sync_on_startup: bool, extra: &str) -> PathBuf {
    let path = dir.join("placement.conf");
    std::fs::write(
        &path,
        format!(
            "[DEFAULT]\ndebug = False\n[api]\nauth_strategy = noauth2\n\
             [placement_database]\nconnection = {}\nsync_on_startup = {}\n{extra}\n",
            url.to_url_string(),
            if sync_on_startup { "True" } else { "False" }
        ),
    )
    .unwrap();
    path
}

pub fn conf_for(db: &TestDb, sync_on_startup: bool) -> (PathBuf, PathBuf) {
    let dir = tmpdir();
    let conf = write_conf(&dir, db.url(), sync_on_startup, "");
    (dir, conf)
}

/// Runs a command to completion with a clean environment (no HOME config).
pub fn run(name: &str, args: &[&str], cwd: &Path) -> Output {
    Command::new(bin(name))
        .args(args)
        .current_dir(cwd)
        .env("HOME", cwd)
        .env_remove("OS_PLACEMENT_CONFIG_DIR")
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running placement-api, killed on drop.
pub struct Server {
    child: Child,
    pub base: String,
    log: PathBuf,
}

impl Server {
    /// Starts placement-api and waits until it answers `GET /`.
    pub async fn start(args: &[&str], cwd: &Path) -> Server {
        let port = free_port();
        let bind = format!("127.0.0.1:{port}");
        let log = cwd.join(format!("api-{port}.log"));
        let child = Command::new(bin("placement-api"))
            .args(args)
            .args(["--bind", &bind])
            .current_dir(cwd)
            .env("HOME", cwd)
            .env_remove("OS_PLACEMENT_CONFIG_DIR")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut server = Server {
            child,
            base: format!("http://{bind}"),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("placement-api exited with {status}: {}", server.log());
            }
            if reqwest::get(format!("{}/", server.base)).await.is_ok() {
                return server;
            }
            assert!(
                Instant::now() < deadline,
                "placement-api did not come up: {}",
                server.log()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The process id, to signal it.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Kills the process with SIGKILL, as a crash or the OOM killer would,
    /// and waits for it to be gone.
    pub fn kill_hard(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and returns whether the process exited cleanly.
    pub fn terminate(mut self) -> bool {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
