//! Real separate hosts for cluster tests: network namespaces joined to this
//! one by veth pairs, each running its own sshd (Debian's openssh-server,
//! which `.ci/run` installs) on a private address.
//!
//! A lab has one client key, one host key and an ssh config naming them
//! (`ssh -F`), so upshift's `ssh` reaches each host as root without a
//! prompt and with the host key checked. Everything (namespaces, their
//! processes, the files) is removed when the lab is dropped. Needs root.

use crate::wait_until;
use sample_server::cluster::NodeSpec;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// The sshd binary the lab runs.
const SSHD: &str = "/usr/sbin/sshd";

/// Hosts in network namespaces, reachable over ssh.
#[derive(Debug)]
pub struct SshLab {
    // Dropped first: the hosts' processes go before their files.
    hosts: Vec<NetHost>,
    dir: tempfile::TempDir,
}

/// One host: a namespace, its address, its sshd.
#[derive(Debug)]
pub struct NetHost {
    /// The namespace's name.
    pub ns: String,
    /// Its private address, where its sshd and servers listen.
    pub ip: String,
    config: PathBuf,
}

impl SshLab {
    /// `n` hosts, each with sshd answering.
    pub fn new(n: usize) -> SshLab {
        assert!(
            Path::new(SSHD).exists(),
            "{SSHD} is missing: install openssh-server (`.ci/run` does)"
        );
        let dir = tempfile::Builder::new()
            .prefix("upshift-lab-")
            .tempdir()
            .expect("lab dir");
        let d = dir.path();
        keygen(&d.join("host_key"));
        keygen(&d.join("client_key"));
        std::fs::copy(d.join("client_key.pub"), d.join("authorized_keys"))
            .expect("authorized_keys");
        std::fs::create_dir_all("/run/sshd").expect("/run/sshd");
        let host_key = std::fs::read_to_string(d.join("host_key.pub")).expect("host key");
        let host_key: Vec<&str> = host_key.split_whitespace().take(2).collect();
        let mut known_hosts = String::new();
        let lab = next_lab_id();
        let mut hosts = Vec::new();
        for i in 0..n {
            let host = NetHost::create(d, lab, i);
            known_hosts.push_str(&format!("{} {}\n", host.ip, host_key.join(" ")));
            hosts.push(host);
        }
        std::fs::write(d.join("known_hosts"), known_hosts).expect("known_hosts");
        std::fs::write(
            d.join("ssh_config"),
            format!(
                "Host *\n  User root\n  IdentityFile {0}/client_key\n  IdentitiesOnly yes\n  UserKnownHostsFile {0}/known_hosts\n  StrictHostKeyChecking yes\n  LogLevel ERROR\n",
                d.display()
            ),
        )
        .expect("ssh_config");
        let lab = SshLab { hosts, dir };
        for host in &lab.hosts {
            host.start_sshd();
        }
        lab
    }

    /// The ssh config file that reaches every host (`ssh -F`).
    pub fn ssh_config(&self) -> PathBuf {
        self.dir.path().join("ssh_config")
    }

    /// The hosts, in order.
    pub fn hosts(&self) -> &[NetHost] {
        &self.hosts
    }

    /// One sample-server node on each host, reached over ssh.
    pub fn node_specs(&self) -> Vec<NodeSpec> {
        self.hosts
            .iter()
            .map(|h| NodeSpec {
                host: h.url(),
                ip: h.ip.clone(),
                unhealthy_on: None,
            })
            .collect()
    }
}

impl NetHost {
    fn create(dir: &Path, lab: u32, i: usize) -> NetHost {
        let ns = format!("ush{lab}n{i}");
        let veth = format!("ush{lab}v{i}");
        let (a, b) = (100 + lab / 250 % 100, lab % 250);
        let subnet = format!("10.{a}.{b}");
        let (outside, inside) = (
            format!("{subnet}.{}", 4 * i + 1),
            format!("{subnet}.{}", 4 * i + 2),
        );
        let _ = Command::new("ip")
            .args(["netns", "del", &ns])
            .stderr(std::process::Stdio::null())
            .status();
        for args in [
            vec!["netns", "add", &ns],
            vec![
                "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", &ns,
            ],
            vec!["addr", "add", &format!("{outside}/30"), "dev", &veth],
            vec!["link", "set", &veth, "up"],
            vec![
                "-n",
                &ns,
                "addr",
                "add",
                &format!("{inside}/30"),
                "dev",
                "eth0",
            ],
            vec!["-n", &ns, "link", "set", "eth0", "up"],
            vec!["-n", &ns, "link", "set", "lo", "up"],
        ] {
            run("ip", &args);
        }
        let config = dir.join(format!("sshd_config-{i}"));
        std::fs::write(
            &config,
            format!(
                "ListenAddress {inside}\nPort 22\nHostKey {0}/host_key\nAuthorizedKeysFile {0}/authorized_keys\nPermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nPidFile {0}/sshd-{i}.pid\nMaxStartups 100\nMaxSessions 100\n",
                dir.display()
            ),
        )
        .expect("sshd_config");
        NetHost {
            ns,
            ip: inside,
            config,
        }
    }

    /// `ssh://root@<ip>`.
    pub fn url(&self) -> String {
        format!("ssh://root@{}", self.ip)
    }

    /// Starts its sshd and waits until it accepts connections.
    pub fn start_sshd(&self) {
        run(
            "ip",
            &[
                "netns",
                "exec",
                &self.ns,
                SSHD,
                "-f",
                &self.config.display().to_string(),
            ],
        );
        let addr: SocketAddr = format!("{}:22", self.ip).parse().expect("address");
        wait_until(&format!("sshd on {addr}"), Duration::from_secs(10), || {
            TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
        });
    }

    /// Kills every sshd of the host, the connections it serves included:
    /// the host is unreachable until [`NetHost::start_sshd`].
    pub fn kill_sshd(&self) {
        for pid in self.pids() {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            if comm.trim() == "sshd" {
                let _ = Command::new("kill").args(["-KILL", &pid]).status();
            }
        }
        let addr: SocketAddr = format!("{}:22", self.ip).parse().expect("address");
        wait_until(
            &format!("sshd on {addr} gone"),
            Duration::from_secs(10),
            || TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err(),
        );
    }

    /// Every process in the namespace.
    fn pids(&self) -> Vec<String> {
        let out = Command::new("ip")
            .args(["netns", "pids", &self.ns])
            .output()
            .expect("ip netns pids");
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(str::to_string)
            .collect()
    }
}

impl Drop for NetHost {
    fn drop(&mut self) {
        for pid in self.pids() {
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
        }
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).status();
    }
}

/// A number for a new lab, unique on this machine for a while: its
/// namespaces, interfaces and subnet are named after it.
fn next_lab_id() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    (std::process::id() % 1000) * 20 + NEXT.fetch_add(1, Ordering::Relaxed) % 20
}

fn keygen(path: &Path) {
    run(
        "ssh-keygen",
        &[
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-f",
            &path.display().to_string(),
        ],
    );
}

fn run(program: &str, args: &[&str]) {
    let out = Command::new(program).args(args).output().expect(program);
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
