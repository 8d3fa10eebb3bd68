//! GnuPG as the independent oracle of the signature tests: keys are made and documents
//! signed by `gpg` in a temporary `GNUPGHOME`, and `gpg --verify` says what it thinks of
//! every signature the sync judges.

use std::path::Path;
use std::process::{Command, Output};

/// A temporary GnuPG home; its agent is stopped when dropped.
pub struct Gpg {
    home: tempfile::TempDir,
}

impl Gpg {
    /// A fresh, empty keyring (in /tmp: the agent's socket path must stay short).
    pub fn new() -> Self {
        let home = tempfile::Builder::new()
            .prefix("gpg")
            .tempdir_in("/tmp")
            .unwrap();
        Gpg { home }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("gpg")
            .env("GNUPGHOME", self.home.path())
            .args(["--batch", "--yes", "--no-tty", "--quiet"])
            .args(args)
            .output()
            .expect("gpg runs (scripts/test-deps.sh installs GnuPG)")
    }

    fn ok(&self, args: &[&str]) -> Vec<u8> {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// Makes a signing key (`ed25519`, `rsa2048`, …) for `uid` and returns its
    /// fingerprint.
    pub fn generate(&self, uid: &str, algorithm: &str) -> String {
        self.ok(&[
            "--passphrase",
            "",
            "--quick-gen-key",
            uid,
            algorithm,
            "sign",
            "never",
        ]);
        let listing = String::from_utf8(self.ok(&["--with-colons", "--list-keys", uid])).unwrap();
        listing
            .lines()
            .find(|l| l.starts_with("fpr:"))
            .and_then(|l| l.split(':').nth(9))
            .expect("gpg lists the key's fingerprint")
            .to_string()
    }

    /// Makes a key for `uid` as if it were `time` (`20200101T000000`), with `usage`
    /// (`sign`, `cert`) and expiring after `expire` (`1y`, `never`); returns its fingerprint.
    pub fn generate_at(
        &self,
        uid: &str,
        algorithm: &str,
        usage: &str,
        expire: &str,
        time: &str,
    ) -> String {
        self.ok(&[
            "--faked-system-time",
            time,
            "--passphrase",
            "",
            "--quick-gen-key",
            uid,
            algorithm,
            usage,
            expire,
        ]);
        self.fingerprints(uid)[0].clone()
    }

    /// Adds a subkey to the key as if it were `time`; returns the subkey's fingerprint.
    pub fn add_subkey_at(
        &self,
        fingerprint: &str,
        algorithm: &str,
        usage: &str,
        expire: &str,
        time: &str,
    ) -> String {
        self.ok(&[
            "--faked-system-time",
            time,
            "--passphrase",
            "",
            "--quick-add-key",
            fingerprint,
            algorithm,
            usage,
            expire,
        ]);
        self.fingerprints(fingerprint)
            .last()
            .expect("gpg lists the subkey")
            .clone()
    }

    /// The fingerprints of a key, primary first, then its subkeys.
    fn fingerprints(&self, who: &str) -> Vec<String> {
        let listing = String::from_utf8(self.ok(&["--with-colons", "--list-keys", who])).unwrap();
        listing
            .lines()
            .filter(|l| l.starts_with("fpr:"))
            .filter_map(|l| l.split(':').nth(9))
            .map(str::to_string)
            .collect()
    }

    /// Signs `file` as [`Gpg::sign`] does, as if it were `time`.
    pub fn sign_at(&self, fingerprint: &str, file: &Path, asc: &Path, time: &str) {
        self.ok(&[
            "--faked-system-time",
            time,
            "--local-user",
            fingerprint,
            "--armor",
            "--output",
            asc.to_str().unwrap(),
            "--detach-sign",
            file.to_str().unwrap(),
        ]);
    }

    /// What `gpg --verify` says of `asc` (its status lines).
    pub fn verify_status(&self, file: &Path, asc: &Path) -> String {
        let out = self.run(&[
            "--status-fd",
            "1",
            "--verify",
            asc.to_str().unwrap(),
            file.to_str().unwrap(),
        ]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The secret key, armored, without a passphrase.
    pub fn export_secret(&self, fingerprint: &str) -> Vec<u8> {
        self.ok(&[
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
            "--armor",
            "--export-secret-keys",
            fingerprint,
        ])
    }

    /// The public key, armored.
    pub fn export(&self, fingerprint: &str) -> Vec<u8> {
        self.ok(&["--armor", "--export", fingerprint])
    }

    /// Signs `file` with the key, armored and detached, into `asc`.
    pub fn sign(&self, fingerprint: &str, file: &Path, asc: &Path) {
        self.ok(&[
            "--local-user",
            fingerprint,
            "--armor",
            "--output",
            asc.to_str().unwrap(),
            "--detach-sign",
            file.to_str().unwrap(),
        ]);
    }

    /// Whether GnuPG holds `asc` a good signature of `file` by a key of this keyring.
    pub fn verifies(&self, file: &Path, asc: &Path) -> bool {
        self.run(&["--verify", asc.to_str().unwrap(), file.to_str().unwrap()])
            .status
            .success()
    }
}

impl Drop for Gpg {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", self.home.path())
            .args(["--kill", "gpg-agent"])
            .output();
    }
}
