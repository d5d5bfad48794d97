//! The CPU of the 2FA code step's cryptography against a password check, on one core, in a
//! release build (`cargo run --release -p tenantry-auth --example totp_cost`; BENCHMARKS.md):
//! opening the sealed seed (AES-256-GCM) and checking a code over the ±1-step window (three
//! HMAC-SHA1 codes, compared in constant time), next to one Argon2id verification with the
//! default parameters (19 MiB, 2 passes).

use std::time::Instant;

use tenantry_auth::sealed::Keyring;
use tenantry_auth::totp::TotpSecret;
use tenantry_auth::{MasterKey, PasswordHasher, PasswordParams, PasswordVerdict};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let keyring = Keyring::new(MasterKey::generate());
    let user = uuid_bytes();
    let secret = TotpSecret::generate();
    let sealed = keyring.seal(secret.expose(), &user);
    let now = 1_800_000_000_i64;
    let code = secret.code_at_step(now / 30);
    let n = 20_000;
    let start = Instant::now();
    let mut ok = 0;
    for _ in 0..n {
        let opened = TotpSecret::from_bytes(keyring.open(&sealed, &user).expect("opens")).expect("160 bits");
        ok += usize::from(opened.verify(&code, now).is_some());
    }
    let per_code = start.elapsed().as_secs_f64() / f64::from(n);
    assert_eq!(ok, n as usize);

    let hasher = PasswordHasher::new(PasswordParams::default()).expect("hasher");
    let hash = hasher.hash("correct horse battery staple".into()).await.expect("hash");
    let m = 20;
    let start = Instant::now();
    for _ in 0..m {
        let v = hasher.verify("correct horse battery staple".into(), Some(hash.clone())).await.expect("verify");
        assert!(matches!(v, PasswordVerdict::Match | PasswordVerdict::MatchRehashed(_)));
    }
    let per_password = start.elapsed().as_secs_f64() / f64::from(m);
    println!("code step crypto (unseal + ±1 window): {:.1} µs per code", per_code * 1e6);
    println!("Argon2id verification (19 MiB, t=2):   {:.1} ms per password", per_password * 1e3);
    println!("ratio: one password check costs {:.0} code checks", per_password / per_code);
}

fn uuid_bytes() -> [u8; 16] {
    *b"0197a5c2-1a2b-7c"
}
