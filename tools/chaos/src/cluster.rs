//! Throw-away PostgreSQL servers: a primary, and a standby streaming from
//! it; started, restarted, killed and promoted as an operator (or a crash)
//! would. As root, they run as the `postgres` system user, as
//! `tools/pg-test-cluster` does.

use std::path::{Path, PathBuf};
use std::process::Command;

/// One server: its data directory, socket directory and port.
pub struct Server {
    pub dir: PathBuf,
    pub port: u16,
}

fn bin(name: &str) -> PathBuf {
    let dir = std::env::var_os("PG_BIN").map(PathBuf::from).or_else(|| {
        let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|entry| Some(entry.ok()?.path().join("bin")))
            .collect();
        found.sort();
        found.pop()
    });
    dir.map(|dir| dir.join(name))
        .filter(|path| path.exists())
        .unwrap_or_else(|| PathBuf::from(name))
}

fn is_root() -> bool {
    // The owner of /proc/self is the effective user.
    std::fs::metadata("/proc/self").is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
}

/// Runs a PostgreSQL program as the data's owner; its output on failure.
fn run(program: &str, args: &[&str]) -> Result<(), String> {
    let mut command = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin(program));
        c
    } else {
        Command::new(bin(program))
    };
    let out = command
        .args(args)
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{program} {}: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_or(54_329, |a| a.port())
}

fn temp_dir(label: &str) -> Result<PathBuf, String> {
    let dir = std::env::temp_dir().join(format!(
        "twostep-chaos-{label}-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    if is_root() {
        run_plain("chown", &["postgres:", &dir.to_string_lossy()])?;
    }
    Ok(dir)
}

fn run_plain(program: &str, args: &[&str]) -> Result<(), String> {
    let status = Command::new(program)
        .args(args)
        .stderr(std::process::Stdio::null())
        .status()
        .map_err(|e| e.to_string())?;
    status
        .success()
        .then_some(())
        .ok_or(format!("{program} failed"))
}

impl Server {
    /// A new primary, started, with `settings` (`-c name=value` each).
    pub fn primary(label: &str, settings: &[&str]) -> Result<Server, String> {
        let server = Server {
            dir: temp_dir(label)?,
            port: free_port(),
        };
        run(
            "initdb",
            &[
                "-D",
                &server.data(),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        )?;
        server.configure(settings)?;
        server.start()?;
        Ok(server)
    }

    /// A standby of `primary`, streaming, started.
    pub fn standby(primary: &Server, label: &str) -> Result<Server, String> {
        let server = Server {
            dir: temp_dir(label)?,
            port: free_port(),
        };
        run(
            "pg_basebackup",
            &[
                "-D",
                &server.data(),
                "-h",
                &primary.dir.to_string_lossy(),
                "-p",
                &primary.port.to_string(),
                "-U",
                "postgres",
                "-R",
                "-X",
                "stream",
                "-d",
                "application_name=standby",
            ],
        )?;
        server.start()?;
        Ok(server)
    }

    fn data(&self) -> String {
        self.dir.join("data").to_string_lossy().into_owned()
    }

    fn configure(&self, settings: &[&str]) -> Result<(), String> {
        let conf = Path::new(&self.data()).join("postgresql.auto.conf");
        let mut text = std::fs::read_to_string(&conf).unwrap_or_default();
        for setting in settings {
            text.push_str(setting);
            text.push('\n');
        }
        std::fs::write(&conf, text).map_err(|e| e.to_string())
    }

    fn options(&self) -> String {
        format!(
            "-k {} -p {} -c listen_addresses='' -c max_connections=100",
            self.dir.to_string_lossy(),
            self.port
        )
    }

    pub fn start(&self) -> Result<(), String> {
        self.pg_ctl(&["start"])
    }

    /// `pg_ctl restart -m fast|immediate`.
    pub fn restart(&self, mode: &str) -> Result<(), String> {
        self.pg_ctl(&["-m", mode, "restart"])
    }

    /// `pg_ctl` on this server's data, log and options, waiting for it.
    fn pg_ctl(&self, action: &[&str]) -> Result<(), String> {
        let (data, log, options) = (self.data(), self.dir.join("server.log"), self.options());
        let log = log.to_string_lossy();
        let mut args = vec!["-D", &data, "-l", &log, "-o", &options, "-w"];
        args.extend_from_slice(action);
        run("pg_ctl", &args)
    }

    /// Promotes the standby, and (the runbook's next step) stops waiting
    /// for a synchronous standby it no longer has: its copy of the old
    /// primary's settings names one, and every commit would wait forever.
    pub fn promote(&self) -> Result<(), String> {
        run("pg_ctl", &["-D", &self.data(), "-w", "promote"])?;
        let mut admin = self.admin()?;
        admin
            .batch_execute("ALTER SYSTEM RESET synchronous_standby_names")
            .and_then(|()| admin.batch_execute("SELECT pg_reload_conf()"))
            .map_err(pg)
    }

    /// The postmaster and every process under it, by pid.
    fn processes(&self) -> Vec<i32> {
        let pid_file = Path::new(&self.data()).join("postmaster.pid");
        let Some(postmaster) = std::fs::read_to_string(pid_file)
            .ok()
            .and_then(|t| t.lines().next().and_then(|l| l.trim().parse::<i32>().ok()))
        else {
            return Vec::new();
        };
        let mut pids = vec![postmaster];
        if let Ok(entries) = std::fs::read_dir("/proc") {
            for entry in entries.flatten() {
                let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
                    continue;
                };
                let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
                // "pid (comm) state ppid …": the parent follows the last ')'.
                let parent = stat
                    .rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                    .and_then(|p| p.parse::<i32>().ok());
                if parent == Some(postmaster) {
                    pids.push(pid);
                }
            }
        }
        pids
    }

    /// The machine dies: every process of the server, SIGKILL.
    pub fn kill(&self) {
        for pid in self.processes() {
            let _ = run_plain("kill", &["-KILL", &pid.to_string()]);
        }
    }

    /// Params for a client, as libpq's `key=value`.
    pub fn params(&self) -> String {
        format!(
            "host={} port={} user=postgres dbname=postgres",
            self.dir.to_string_lossy(),
            self.port
        )
    }

    pub fn admin(&self) -> Result<postgres::Client, String> {
        postgres::Client::connect(&self.params(), postgres::NoTls).map_err(pg)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Stops or resumes a process (SIGSTOP / SIGCONT).
pub fn signal(pid: i32, signal: &str) -> Result<(), String> {
    run_plain("kill", &[&format!("-{signal}"), &pid.to_string()])
}

/// A client error with the server's words, if it answered (as the store
/// prints them).
pub fn pg(error: postgres::Error) -> String {
    twostep_sql::SqlStoreError::from(error).to_string()
}

/// PgBouncer in transaction mode in front of a server, as products run it:
/// 16 clients' connections share 6 server connections. A failover tool
/// points it at the new primary (a reload); its clients' connections stay.
/// It retries a failed server login after 1 s (the default, 15 s, is the
/// time to recover after a restart or failover).
pub struct Bouncer {
    dir: PathBuf,
    port: u16,
}

impl Bouncer {
    pub fn start(server: &Server) -> Result<Bouncer, String> {
        let bouncer = Bouncer {
            dir: temp_dir("bouncer")?,
            port: free_port(),
        };
        let users = bouncer.dir.join("users.txt");
        std::fs::write(&users, "\"postgres\" \"\"\n").map_err(|e| e.to_string())?;
        bouncer.point_at(server)?;
        if is_root() {
            run_plain(
                "chown",
                &["-R", "postgres:", &bouncer.dir.to_string_lossy()],
            )?;
        }
        run("pgbouncer", &["-d", &bouncer.ini().to_string_lossy()])?;
        Ok(bouncer)
    }

    fn ini(&self) -> PathBuf {
        self.dir.join("pgbouncer.ini")
    }

    /// Writes the configuration for `server`, and reloads a running
    /// PgBouncer.
    pub fn point_at(&self, server: &Server) -> Result<(), String> {
        let dir = self.dir.to_string_lossy();
        let ini = format!(
            "[databases]\npostgres = host={} port={} dbname=postgres\n\
             [pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {}\nunix_socket_dir =\n\
             auth_type = trust\nauth_file = {dir}/users.txt\npool_mode = transaction\n\
             default_pool_size = 6\nmax_client_conn = 200\nserver_login_retry = 1\n\
             ignore_startup_parameters = extra_float_digits\n\
             logfile = {dir}/pgbouncer.log\npidfile = {dir}/pgbouncer.pid\n",
            server.dir.to_string_lossy(),
            server.port,
            self.port
        );
        std::fs::write(self.ini(), ini).map_err(|e| e.to_string())?;
        match self.pid() {
            Some(pid) => signal(pid, "HUP"),
            None => Ok(()),
        }
    }

    fn pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.dir.join("pgbouncer.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    pub fn params(&self) -> String {
        format!(
            "host=127.0.0.1 port={} user=postgres dbname=postgres",
            self.port
        )
    }
}

impl Drop for Bouncer {
    fn drop(&mut self) {
        if let Some(pid) = self.pid() {
            let _ = signal(pid, "KILL");
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
