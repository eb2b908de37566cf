//! Password hashing (argon2id, PHC strings that carry their own parameters) and bearer
//! tokens (random, shown once, stored only as SHA-256 hashes).

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Hashes a password with argon2id at `memory_kib` (2 passes, 1 lane).
pub fn hash_password(password: &str, memory_kib: u32) -> String {
    let params = Params::new(memory_kib.max(8), 2, 1, None).expect("valid argon2 parameters");
    let salt = SaltString::generate(&mut OsRng);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashing cannot fail with valid parameters")
        .to_string()
}

/// Checks a password against a stored PHC hash; a malformed hash never verifies.
pub(crate) fn verify_password(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(hash) => Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash of a password nobody has, verified when a username is unknown so that the
/// answer takes as long as for a known user.
pub(crate) fn decoy_hash(memory_kib: u32) -> String {
    hash_password("decoy: no user has this password", memory_kib)
}

/// A new bearer token: `gp_` and 256 random bits, URL-safe.
pub(crate) fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!(
        "gp_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ_by_salt() {
        let a = hash_password("Patrol#2026", 64);
        let b = hash_password("Patrol#2026", 64);
        assert_ne!(a, b);
        assert!(verify_password("Patrol#2026", &a));
        assert!(!verify_password("patrol#2026", &a));
        assert!(!verify_password("Patrol#2026", "not a hash"));
    }

    #[test]
    fn tokens_are_random_and_hash_stably() {
        let t = new_token();
        assert!(t.starts_with("gp_") && t.len() == 46);
        assert_ne!(t, new_token());
        assert_eq!(token_hash(&t), token_hash(&t));
        assert_eq!(token_hash(&t).len(), 64);
    }
}
