//! Command-line errors: what the user sees when the server cannot start.

mod common;

use assert_cmd::Command;
use predicates::prelude::*;

#[test]
fn missing_config_file_exits_2_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.conf");
    Command::new(env!("CARGO_BIN_EXE_server"))
        .args([
            "--config",
            missing.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .timeout(std::time::Duration::from_secs(10))
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("cannot read the config file"))
        .stderr(predicate::str::contains("nope.conf"))
        .stderr(predicate::str::contains("No such file"))
        .stderr(predicate::str::contains("hint: "));
}

#[test]
fn default_config_is_ws_conf_in_the_current_folder() {
    let dir = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_server"))
        .current_dir(dir.path())
        .args(["--listen", "127.0.0.1:0"])
        .timeout(std::time::Duration::from_secs(10))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("`ws.conf`"));
}

#[test]
fn taken_port_exits_1_and_says_so() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let conf = common::Conf::new(&common::www(), 10, "GET HEAD");
    Command::new(env!("CARGO_BIN_EXE_server"))
        .args([
            "--config",
            conf.path().to_str().unwrap(),
            "--listen",
            &taken.local_addr().unwrap().to_string(),
        ])
        .timeout(std::time::Duration::from_secs(10))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("cannot listen on"));
}

#[test]
fn zero_max_connections_is_rejected() {
    Command::new(env!("CARGO_BIN_EXE_server"))
        .args(["--max-connections", "0"])
        .timeout(std::time::Duration::from_secs(10))
        .assert()
        .failure()
        .stderr(predicate::str::contains("--max-connections"));
}

#[test]
fn help_lists_the_flags() {
    Command::new(env!("CARGO_BIN_EXE_server"))
        .arg("--help")
        .assert()
        .success()
        .stdout(
            predicate::str::contains("--config")
                .and(predicate::str::contains("--listen"))
                .and(predicate::str::contains("--max-connections")),
        );
}
