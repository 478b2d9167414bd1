//! TLS listeners against a real broker with PLAINTEXT, SSL and SASL_SSL listeners on free ports, and
//! certificates made at test time (rcgen): a CA, the broker's certificate (SANs 127.0.0.1 and localhost),
//! client certificates, and an unrelated CA. Covers the real clients (Java, librdkafka, franz-go) over SSL
//! and SASL_SSL, untrusted certificates refused, client-certificate authentication and its principal,
//! certificate reload without restart, garbage on the TLS port, startup refusals, the CLI and `shardlog
//! bench` over TLS, and kernel TLS where the kernel offers it.

use crate::common;

use common::{
    driver_properties, free_port, run_driver, sasl_driver_args, shardlog_cli, temp_dir, Broker,
};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const USERS: &str = "alice:alice-secret";
const RECORDS: &str = "20000";
/// The subject of `Pki::alice` as Kafka prints principals (RFC 2253, last RDN first).
const ALICE_PRINCIPAL: &str = "User:CN=alice,OU=eng,O=acme";

/// A CA and what it signs, as PEM text.
struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Ca { cert, key }
    }

    /// (certificate PEM, private key PEM) for a leaf with `subject` entries, `sans` and `usage`.
    fn issue(
        &self,
        subject: &[(DnType, &str)],
        sans: &[&str],
        usage: ExtendedKeyUsagePurpose,
    ) -> (String, String) {
        let sans: Vec<String> = sans.iter().map(|s| s.to_string()).collect();
        let mut params = CertificateParams::new(sans).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        for (kind, value) in subject {
            params.distinguished_name.push(kind.clone(), *value);
        }
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    fn pem(&self) -> String {
        self.cert.pem()
    }

    /// A broker keystore (key, then chain) for 127.0.0.1 and localhost.
    fn broker_keystore(&self) -> String {
        let (cert, key) = self.issue(
            &[(DnType::CommonName, "localhost")],
            &["127.0.0.1", "localhost"],
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        format!("{key}{cert}")
    }
}

/// The test's certificate files.
struct Pki {
    dir: PathBuf,
}

impl Pki {
    /// ca.pem, keystore.pem (the broker's, signed by ca), other-ca.pem (unrelated), alice.{pem,key}
    /// (client certificate from ca), mallory.{pem,key} (client certificate from the other CA).
    fn create(name: &str) -> Pki {
        let dir = temp_dir(&format!("{name}-pki"));
        let ca = Ca::new("shardlog test CA");
        let other = Ca::new("some other CA");
        let write = |file: &str, text: &str| std::fs::write(dir.join(file), text).unwrap();
        write("ca.pem", &ca.pem());
        write("keystore.pem", &ca.broker_keystore());
        write("other-ca.pem", &other.pem());
        let client = ExtendedKeyUsagePurpose::ClientAuth;
        let alice = [
            (DnType::OrganizationName, "acme"),
            (DnType::OrganizationalUnitName, "eng"),
            (DnType::CommonName, "alice"),
        ];
        let (cert, key) = ca.issue(&alice, &[], client.clone());
        write("alice.pem", &cert);
        write("alice.key", &key);
        write("alice-keystore.pem", &format!("{key}{cert}"));
        let (cert, key) = other.issue(&[(DnType::CommonName, "mallory")], &[], client);
        write("mallory.pem", &cert);
        write("mallory.key", &key);
        Pki { dir }
    }

    fn path(&self, file: &str) -> String {
        self.dir.join(file).display().to_string()
    }
}

struct TlsBroker {
    broker: Broker,
    ssl_port: u16,
    sasl_ssl_port: u16,
}

impl TlsBroker {
    /// PLAINTEXT (the harness's port), SSL and SASL_SSL listeners with `pki`'s keystore; `extra` flags.
    fn start(name: &str, pki: &Pki, extra: &[&str]) -> TlsBroker {
        let (plain, ssl, sasl_ssl) = (free_port(), free_port(), free_port());
        let listeners = format!(
            "PLAINTEXT://127.0.0.1:{plain},SSL://127.0.0.1:{ssl},SASL_SSL://127.0.0.1:{sasl_ssl}"
        );
        let keystore = pki.path("keystore.pem");
        let mut args = vec![
            "--listeners",
            &listeners,
            "--ssl-keystore-location",
            &keystore,
            "--sasl-bootstrap-users",
            USERS,
            // "connection opened" lines carry the TLS path and the principal.
            "--log-level",
            "info,shardlog::net=debug",
        ];
        args.extend_from_slice(extra);
        TlsBroker {
            broker: Broker::start_on(&temp_dir(name), plain, &args, &[]),
            ssl_port: ssl,
            sasl_ssl_port: sasl_ssl,
        }
    }

    fn ssl_addr(&self) -> String {
        format!("127.0.0.1:{}", self.ssl_port)
    }

    fn sasl_ssl_addr(&self) -> String {
        format!("127.0.0.1:{}", self.sasl_ssl_port)
    }

    fn metric(&self, name_and_labels: &str) -> u64 {
        let (_, body) = self.broker.admin_get("/metrics");
        body.lines()
            .filter(|l| l.starts_with(name_and_labels))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    }
}

/// Driver arguments that make `client` trust only `ca` (and present `cert`/`key` when given), on an
/// SSL listener; `sasl` adds a SASL_SSL login.
fn tls_args(
    client: &str,
    pki: &Pki,
    ca: &str,
    cert: Option<(&str, &str)>,
    sasl: Option<(&str, &str)>,
) -> Vec<String> {
    let ca = pki.path(ca);
    let mut args = match sasl {
        Some((user, password)) => {
            sasl_driver_args(client, "SASL_SSL", "SCRAM-SHA-512", user, password)
        }
        None if client == "go" => vec![],
        None => driver_properties(vec!["security.protocol=SSL".into()]),
    };
    let props = match client {
        "java" => {
            let mut p = vec![
                "ssl.truststore.type=PEM".to_string(),
                format!("ssl.truststore.location={ca}"),
            ];
            if let Some((keystore, _)) = cert {
                p.push("ssl.keystore.type=PEM".into());
                p.push(format!("ssl.keystore.location={}", pki.path(keystore)));
            }
            p
        }
        "python" => {
            let mut p = vec![format!("ssl.ca.location={ca}")];
            if let Some((pem, key)) = cert {
                p.push(format!("ssl.certificate.location={}", pki.path(pem)));
                p.push(format!("ssl.key.location={}", pki.path(key)));
            }
            p
        }
        "go" => {
            args.extend(["-tls-ca".to_string(), ca]);
            if let Some((pem, key)) = cert {
                args.extend([
                    "-tls-cert".into(),
                    pki.path(pem),
                    "-tls-key".into(),
                    pki.path(key),
                ]);
            }
            return args;
        }
        other => panic!("unknown client {other}"),
    };
    args.extend(driver_properties(props));
    args
}

/// A client's certificate files as `tls_args` wants them: Java reads one PEM keystore (key and chain).
fn alice_cert(client: &str) -> (&'static str, &'static str) {
    match client {
        "java" => ("alice-keystore.pem", ""),
        _ => ("alice.pem", "alice.key"),
    }
}

/// SSL and SASL_SSL round trips; a client trusting only another CA is refused at the handshake; a wrong
/// password over SASL_SSL is refused with the SASL error; the broker keeps serving throughout.
fn client_over_tls(client: &str, untrusted_error: &[&str], auth_error: &[&str]) {
    let pki = Pki::create(&format!("tls-{client}"));
    let mut b = TlsBroker::start(&format!("tls-{client}"), &pki, &[]);
    let log = b.broker.log_path().display().to_string();

    let args = tls_args(client, &pki, "ca.pem", None, None);
    let (ok, out) = run_driver(
        client,
        &b.ssl_addr(),
        &format!("{client}-ssl"),
        RECORDS,
        &args,
    );
    assert!(
        ok,
        "{client} over SSL failed:\n{out}\n(broker log: {})",
        log
    );

    let args = tls_args(
        client,
        &pki,
        "ca.pem",
        None,
        Some(("alice", "alice-secret")),
    );
    let topic = format!("{client}-sasl-ssl");
    let (ok, out) = run_driver(client, &b.sasl_ssl_addr(), &topic, RECORDS, &args);
    assert!(
        ok,
        "{client} over SASL_SSL failed:\n{out}\n(broker log: {})",
        log
    );

    let args = tls_args(client, &pki, "other-ca.pem", None, None);
    let topic = format!("{client}-untrusted");
    let (ok, out) = run_driver(client, &b.ssl_addr(), &topic, "10", &args);
    assert!(!ok, "{client} trusting another CA connected:\n{out}");
    assert!(
        untrusted_error.iter().any(|e| out.contains(e)),
        "{client}: the certificate error did not surface:\n{out}"
    );

    let args = tls_args(client, &pki, "ca.pem", None, Some(("alice", "wrong")));
    let topic = format!("{client}-wrong-password");
    let (ok, out) = run_driver(client, &b.sasl_ssl_addr(), &topic, "10", &args);
    assert!(!ok, "{client} with a wrong password connected:\n{out}");
    assert!(
        auth_error.iter().any(|e| out.contains(e)),
        "{client}: the SASL error did not surface:\n{out}"
    );

    // The broker lives on, and says which path TLS took.
    assert!(b.broker.is_running());
    let args = tls_args(client, &pki, "ca.pem", None, None);
    let (ok, out) = run_driver(
        client,
        &b.ssl_addr(),
        &format!("{client}-after"),
        "10",
        &args,
    );
    assert!(ok, "{client} over SSL after the refusals failed:\n{out}");
    let text = b.broker.log_text();
    assert!(
        text.contains("listener=SSL tls=userspace") || text.contains("listener=SSL tls=ktls"),
        "no connection line says the TLS path (see {})",
        log
    );
    assert!(b.metric("shardlog_tls_handshake_failures_total") >= 1);
}

#[test]
fn java_client_over_ssl_and_sasl_ssl() {
    client_over_tls(
        "java",
        &["SSLHandshakeException"],
        &["SaslAuthenticationException"],
    );
}

#[test]
fn librdkafka_over_ssl_and_sasl_ssl() {
    client_over_tls(
        "python",
        &["certificate verify failed", "SSL handshake failed"],
        &["SASL authentication error", "Authentication failed"],
    );
}

#[test]
fn franz_go_over_ssl_and_sasl_ssl() {
    client_over_tls(
        "go",
        &[
            "x509: certificate signed by unknown authority",
            "certificate",
        ],
        &["SASL_AUTHENTICATION_FAILED", "SaslAuthenticate"],
    );
}

/// `topic list` against `addr` with TLS options `tls`.
fn cli_topic_list(addr: &str, tls: &[&str]) -> Output {
    let mut args = vec!["topic", "list", "--brokers", addr];
    args.extend_from_slice(tls);
    shardlog_cli(&args, "")
}

#[test]
fn the_cli_and_bench_work_over_tls() {
    let pki = Pki::create("tls-cli");
    let b = TlsBroker::start("tls-cli", &pki, &[]);
    let ca = pki.path("ca.pem");
    let sasl = [
        "--sasl-mechanism",
        "SCRAM-SHA-512",
        "--sasl-username",
        "alice",
        "--sasl-password",
        "alice-secret",
    ];
    for (addr, login, topic) in [
        (b.ssl_addr(), &[][..], "cli-ssl"),
        (b.sasl_ssl_addr(), &sasl[..], "cli-sasl-ssl"),
    ] {
        let run = |args: &[&str], stdin: &str| {
            let mut all = args.to_vec();
            all.extend(["--brokers", &addr, "--tls-ca-file", &ca]);
            all.extend_from_slice(login);
            let out = shardlog_cli(&all, stdin);
            assert!(out.status.success(), "{all:?}: {out:?}");
            String::from_utf8(out.stdout).unwrap()
        };
        common::cli_round_trip(topic, run);
    }
    // An untrusted broker certificate: exit 3 (cannot connect) with the reason.
    let untrusted = cli_topic_list(&b.ssl_addr(), &["--tls-ca-file", &pki.path("other-ca.pem")]);
    assert_eq!(untrusted.status.code(), Some(3), "{untrusted:?}");
    let stderr = String::from_utf8_lossy(&untrusted.stderr);
    assert!(stderr.contains("UnknownIssuer"), "{stderr}");

    // The load generator drives a TLS listener.
    let json = temp_dir("tls-bench").join("result.json");
    let bench = shardlog_cli(
        &[
            "bench",
            "--bootstrap",
            &b.ssl_addr(),
            "--tls-ca-file",
            &ca,
            "--topic",
            "bench-tls",
            "--partitions",
            "2",
            "--duration-s",
            "1",
            "--warmup-s",
            "0",
            "--json",
            json.to_str().unwrap(),
        ],
        "",
    );
    assert!(bench.status.success(), "{bench:?}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let acked = report["produce"]["records_acked"].as_u64().unwrap();
    assert!(acked > 0, "{report}");
    assert_eq!(
        report["consume"]["records"].as_u64(),
        Some(acked),
        "{report}"
    );
    assert_eq!(
        report["settings"]["tls_ca_file"].as_str(),
        Some(ca.as_str())
    );
}

#[test]
fn client_certificates_are_required_and_name_the_principal() {
    let pki = Pki::create("tls-client-auth");
    let truststore = pki.path("ca.pem");
    let b = TlsBroker::start(
        "tls-client-auth",
        &pki,
        &[
            "--ssl-client-auth",
            "required",
            "--ssl-truststore-location",
            &truststore,
        ],
    );
    let ca = pki.path("ca.pem");
    // No certificate, or one from another CA: refused (exit 3), and the broker logs why.
    let none = cli_topic_list(&b.ssl_addr(), &["--tls-ca-file", &ca]);
    assert_eq!(none.status.code(), Some(3), "{none:?}");
    let (mallory, mallory_key) = (pki.path("mallory.pem"), pki.path("mallory.key"));
    let foreign = cli_topic_list(
        &b.ssl_addr(),
        &[
            "--tls-ca-file",
            &ca,
            "--tls-cert-file",
            &mallory,
            "--tls-key-file",
            &mallory_key,
        ],
    );
    assert_eq!(foreign.status.code(), Some(3), "{foreign:?}");
    // A certificate from the truststore's CA: in, as its subject.
    let (alice, alice_key) = (pki.path("alice.pem"), pki.path("alice.key"));
    let ok = cli_topic_list(
        &b.ssl_addr(),
        &[
            "--tls-ca-file",
            &ca,
            "--tls-cert-file",
            &alice,
            "--tls-key-file",
            &alice_key,
        ],
    );
    assert!(ok.status.success(), "{ok:?}");
    let log = b.broker.log_text();
    assert!(
        log.contains(&format!(
            "listener=SSL tls=userspace principal={ALICE_PRINCIPAL}"
        )) || log.contains(&format!(
            "listener=SSL tls=ktls principal={ALICE_PRINCIPAL}"
        )),
        "alice's principal is not in the log (see {})",
        b.broker.log_path().display()
    );
    assert!(
        log.contains("certificate"),
        "the refused handshakes left no log line"
    );
    // On SASL_SSL the SASL login decides the principal, even with a client certificate.
    let sasl = cli_topic_list(
        &b.sasl_ssl_addr(),
        &[
            "--tls-ca-file",
            &ca,
            "--tls-cert-file",
            &alice,
            "--tls-key-file",
            &alice_key,
            "--sasl-mechanism",
            "PLAIN",
            "--sasl-username",
            "alice",
            "--sasl-password",
            "alice-secret",
        ],
    );
    assert!(sasl.status.success(), "{sasl:?}");
    assert!(
        b.broker
            .log_text()
            .contains("listener=SASL_SSL tls=userspace principal=(SASL login pending)")
            || b.broker.log_text().contains("listener=SASL_SSL tls=ktls")
    );
    // Real clients with a client certificate.
    for client in ["python", "go", "java"] {
        let args = tls_args(client, &pki, "ca.pem", Some(alice_cert(client)), None);
        let topic = format!("{client}-client-cert");
        let (ok, out) = run_driver(client, &b.ssl_addr(), &topic, "100", &args);
        assert!(ok, "{client} with a client certificate failed:\n{out}");
        let args = tls_args(client, &pki, "ca.pem", None, None);
        let topic = format!("{client}-no-client-cert");
        let (ok, out) = run_driver(client, &b.ssl_addr(), &topic, "10", &args);
        assert!(
            !ok,
            "{client} without a client certificate connected:\n{out}"
        );
    }
}

/// Replaces `path` atomically (write aside, rename), as certificate tooling does.
fn replace_file(path: &Path, text: &str) {
    let aside = path.with_extension("new");
    std::fs::write(&aside, text).unwrap();
    std::fs::rename(&aside, path).unwrap();
}

/// Retries `check` for up to 15 s (the broker looks at the files at most once a second).
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !check() {
        assert!(Instant::now() < deadline, "{what}: not within 15 s");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn certificates_reload_without_restart() {
    let pki = Pki::create("tls-reload");
    let b = TlsBroker::start("tls-reload", &pki, &[]);
    let keystore = pki.dir.join("keystore.pem");
    let old_ca = pki.path("ca.pem");
    let new = Ca::new("the next CA");
    std::fs::write(pki.dir.join("new-ca.pem"), new.pem()).unwrap();
    let new_ca = pki.path("new-ca.pem");
    assert_eq!(
        cli_topic_list(&b.ssl_addr(), &["--tls-ca-file", &new_ca])
            .status
            .code(),
        Some(3)
    );
    // A broken keystore is reported (the files are looked at when connections arrive) and the old
    // certificate stays in use.
    replace_file(&keystore, "-----BEGIN CERTIFICATE-----\nnot base64\n");
    eventually("the bad keystore reported", || {
        let old = cli_topic_list(&b.ssl_addr(), &["--tls-ca-file", &old_ca]);
        assert!(old.status.success(), "{old:?}");
        b.broker
            .log_text()
            .contains("keeping the previous certificates")
    });
    // A keystore from the new CA: new connections get it, no restart.
    replace_file(&keystore, &new.broker_keystore());
    eventually("the new certificate served", || {
        cli_topic_list(&b.ssl_addr(), &["--tls-ca-file", &new_ca])
            .status
            .success()
    });
    eventually("the old certificate retired", || {
        cli_topic_list(&b.ssl_addr(), &["--tls-ca-file", &old_ca])
            .status
            .code()
            == Some(3)
    });
    assert!(b.broker.log_text().contains("TLS certificates reloaded"));
}

/// Sends `bytes` to the TLS port and reads until the broker closes; true if it did within 15 s.
fn closes_after(addr: &str, bytes: &[u8]) -> bool {
    closes_after_on(TcpStream::connect(addr).unwrap(), bytes)
}

fn closes_after_on(mut s: TcpStream, bytes: &[u8]) -> bool {
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    s.write_all(bytes).unwrap();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue, // an alert, then the close
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

/// A socket to `addr` whose TLS handshake (trusting `ca`) is complete.
fn handshaken(addr: &str, ca: &str) -> TcpStream {
    let args = shardlog::client::tls::TlsArgs {
        tls_ca_file: Some(PathBuf::from(ca)),
        ..Default::default()
    };
    let config = args.config().unwrap().unwrap();
    let name = rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let mut tls = rustls::ClientConnection::new(config, name).unwrap();
    let mut s = TcpStream::connect(addr).unwrap();
    while tls.is_handshaking() || tls.wants_write() {
        tls.complete_io(&mut s).unwrap();
    }
    s
}

#[test]
fn garbage_on_the_tls_port_closes_the_connection() {
    let pki = Pki::create("tls-garbage");
    let mut b = TlsBroker::start("tls-garbage", &pki, &[]);
    // A plaintext Kafka ApiVersions request, an HTTP request, a TLS header announcing 64 KiB, noise.
    let api_versions = [
        0, 0, 0, 15, 0, 18, 0, 0, 0, 0, 0, 1, 0, 5, b'r', b'e', b'a', b'd', b'y',
    ];
    let noise: Vec<u8> = (0..5000u32).map(|i| (i * 7919 % 251) as u8).collect();
    for bytes in [
        &api_versions[..],
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        &[0x16, 0x03, 0x01, 0xff, 0xff],
        &noise,
    ] {
        for addr in [b.ssl_addr(), b.sasl_ssl_addr()] {
            assert!(closes_after(&addr, bytes), "{addr} kept {bytes:?} open");
        }
    }
    // After a completed handshake, bytes that are no record of the session close it too.
    let s = handshaken(&b.ssl_addr(), &pki.path("ca.pem"));
    assert!(
        closes_after_on(s, &noise[..300]),
        "post-handshake garbage kept open"
    );
    // Half a record header, then silence: the handshake time limit (10 s) closes it.
    assert!(
        closes_after(&b.ssl_addr(), &[0x16, 0x03]),
        "a stalled handshake was kept open"
    );
    assert!(b.broker.is_running());
    let ok = cli_topic_list(&b.ssl_addr(), &["--tls-ca-file", &pki.path("ca.pem")]);
    assert!(ok.status.success(), "{ok:?}");
    assert!(b.metric("shardlog_tls_handshake_failures_total") >= 9);
    let log = b.broker.log_text();
    assert!(log.contains("TLS handshake failed; closing connection"));
    assert!(
        log.contains("no TLS handshake within 10s"),
        "the timeout is not logged"
    );
}

/// `shardlog serve` with `args` must exit at startup with `message` on stderr.
fn refused_at_startup(args: &[&str], message: &str) {
    let dir = temp_dir("tls-refused");
    let out = Command::new(env!("CARGO_BIN_EXE_shardlog"))
        .arg("serve")
        .arg("--data-dir")
        .arg(&dir)
        .args(["--admin-listen", &format!("127.0.0.1:{}", free_port())])
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("run shardlog");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} started");
    assert!(stderr.contains(message), "{args:?}: {stderr}");
}

#[test]
fn tls_listeners_without_a_usable_keystore_are_refused_at_startup() {
    let pki = Pki::create("tls-refused");
    let ssl = format!("SSL://127.0.0.1:{}", free_port());
    let sasl_ssl = format!("EXTERNAL://127.0.0.1:{}", free_port());
    refused_at_startup(&["--listeners", &ssl], "no keystore");
    refused_at_startup(
        &[
            "--listeners",
            &sasl_ssl,
            "--listener-security-protocol-map",
            "EXTERNAL:SASL_SSL",
        ],
        "no keystore",
    );
    let keystore = pki.path("keystore.pem");
    for (extra, message) in [
        (["--ssl-keystore-type", "JKS"], "only PEM"),
        (
            ["--ssl-key-password", "secret"],
            "cannot decrypt private keys",
        ),
        (
            ["--ssl-client-auth", "required"],
            "needs ssl.truststore.location",
        ),
    ] {
        let mut args = vec!["--listeners", &ssl, "--ssl-keystore-location", &keystore];
        args.extend(extra);
        refused_at_startup(&args, message);
    }
    // A key file holding only a certificate, and an encrypted key.
    let only_cert = pki.path("alice.pem");
    refused_at_startup(
        &["--listeners", &ssl, "--ssl-keystore-location", &only_cert],
        "holds no private key",
    );
    let encrypted = pki.dir.join("encrypted.pem");
    let cert = std::fs::read_to_string(pki.dir.join("alice.pem")).unwrap();
    let key = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n";
    std::fs::write(&encrypted, format!("{key}{cert}")).unwrap();
    refused_at_startup(
        &[
            "--listeners",
            &ssl,
            "--ssl-keystore-location",
            encrypted.to_str().unwrap(),
        ],
        "encrypted private key",
    );
}

#[test]
fn ktls_takes_over_where_the_kernel_offers_it() {
    if let Err(why) = shardlog::net::tls::ktls::kernel_support() {
        println!("skipped: kernel offers no kTLS ({why})");
        return;
    }
    let pki = Pki::create("tls-ktls");
    let b = TlsBroker::start("tls-ktls", &pki, &[]);
    // Enough records that fetches send segment bytes (sendfile through the kernel's TLS).
    let args = tls_args("go", &pki, "ca.pem", None, None);
    let (ok, out) = run_driver("go", &b.ssl_addr(), "ktls", RECORDS, &args);
    assert!(ok, "franz-go over kTLS failed:\n{out}");
    let ca = pki.path("ca.pem");
    let consumed = shardlog_cli(
        &[
            "consume",
            "ktls",
            "--from-beginning",
            "--count",
            RECORDS,
            "--brokers",
            &b.ssl_addr(),
            "--tls-ca-file",
            &ca,
        ],
        "",
    );
    assert!(consumed.status.success(), "{consumed:?}");
    assert_eq!(
        String::from_utf8_lossy(&consumed.stdout).lines().count(),
        RECORDS.parse::<usize>().unwrap()
    );
    assert!(
        b.metric("shardlog_tls_connections_total{shard=\"0\",path=\"ktls\"}")
            + b.metric("shardlog_tls_connections_total{shard=\"1\",path=\"ktls\"}")
            > 0,
        "no connection went to kTLS (see {})",
        b.broker.log_path().display()
    );
    assert!(b.broker.log_text().contains("tls=ktls"));
}
