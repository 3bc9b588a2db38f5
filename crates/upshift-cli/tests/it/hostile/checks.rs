//! Checks as an attacker or a careless operator meets them: a check that
//! already fails before the upgrade, deadlines that must hold whatever the
//! server does (refuse connections, or accept and never answer).

use crate::support::edit_instance_file;
use crate::support::healthy_on;
use std::net::TcpListener;
use std::time::{Duration, Instant};
use testkit::Sample;

/// Every kind of check runs in preflight: one that already fails on the
/// running version refuses the run (exit 2) before the window opens.
#[test]
fn preflight_refuses_a_check_of_any_kind_failing_on_the_running_version() {
    let sample = Sample::started();
    let before = sample.snapshot();
    let original = std::fs::read_to_string(&sample.fx.instance_file).unwrap();
    let base = &sample.fx.base_url;
    let broken = [
        ("equals = 200", "equals = 201".to_string()),
        (
            "pointer = \"/Version\"",
            "pointer = \"/IsInMaintenanceMode\"".to_string(),
        ),
        (
            "[[checks]]",
            format!("[[checks]]\nkind = \"command\"\nname = \"marker\"\nrun = [\"test\", \"-e\", \"no-such-marker\"]\nwithin = \"1s\"\n\n[[checks]]\nkind = \"http\"\nname = \"api\"\nurl = \"{base}/api\"\n\n[[checks]]"),
        ),
    ];
    for (from, to) in broken {
        edit_instance_file(&sample, from, &to);
        let out = sample.run(&["upgrade", "--yes"], 2);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("not healthy before the upgrade"),
            "{stderr}"
        );
        healthy_on(&sample, "2026.1.0", &before);
        std::fs::write(&sample.fx.instance_file, &original).unwrap();
    }
}

/// `upshift check` against a server that is down fails fast: connection
/// refused is an answer, and the checks run side by side.
#[test]
fn check_against_a_down_server_fails_fast() {
    let sample = Sample::new(&Default::default());
    let began = Instant::now();
    let out = sample.run(&["check"], 1);
    let took = began.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("refused"), "{stdout}");
    assert!(
        took < Duration::from_secs(5),
        "check took {took:?} against a down server (checks retry for 10 s each)"
    );
}

/// A check's `within` is a deadline: a server that accepts and never
/// answers does not stretch it by the per-request `http_timeout` (30 s).
#[test]
fn a_hanging_server_does_not_stretch_a_checks_deadline() {
    let sample = Sample::new(&Default::default());
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    let text = std::fs::read_to_string(&sample.fx.instance_file).unwrap();
    let checks = text.find("[[checks]]").unwrap();
    let only_hanging = format!(
        "{}[[checks]]\nkind = \"http\"\nname = \"silent\"\nurl = \"{silent_url}/api/health\"\nwithin = \"2s\"\n",
        &text[..checks]
    );
    std::fs::write(&sample.fx.instance_file, only_hanging).unwrap();
    let began = Instant::now();
    let out = sample.run(&["check"], 1);
    let took = began.elapsed();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("silent"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        took < Duration::from_secs(5),
        "a 2 s check took {took:?}: the request timeout was added on top"
    );
}

/// `start_timeout` is a deadline: a ready probe that hangs does not add
/// the per-request `http_timeout` (30 s) on top.
#[test]
fn a_hanging_ready_probe_does_not_stretch_start_timeout() {
    let sample = Sample::new(&Default::default());
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    edit_instance_file(&sample, "start_timeout = \"20s\"", "start_timeout = \"2s\"");
    edit_instance_file(
        &sample,
        &format!("ready = {{ url = \"{}/api\" }}", sample.fx.base_url),
        &format!("ready = {{ url = \"{silent_url}/api\" }}"),
    );
    let inst = sample.instance();
    let current = inst.current_version().unwrap();
    let began = Instant::now();
    let err = inst.nodes[0].start(&current).unwrap_err();
    let took = began.elapsed();
    assert!(
        err.chain().contains("did not become ready"),
        "{}",
        err.chain()
    );
    assert!(
        took < Duration::from_secs(5),
        "a 2 s start_timeout took {took:?}: the probe's timeout was added on top"
    );
}
