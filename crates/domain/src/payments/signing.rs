//! How gateways sign what they send, and how we check it: Ekdwar's own adapter protocol, and
//! two real gateways' schemes (PayU, Razorpay) so that a deployment sees how one plugs in.
//! Every comparison of a signature runs in constant time.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256, Sha512};

/// The header that carries a notification's signature in Ekdwar's gateway protocol.
pub const SIGNATURE_HEADER: &str = "Ekdwar-Signature";

/// How far a notification's timestamp may be from our clock.
pub const TOLERANCE_SECONDS: i64 = 300;

/// Why a signed message was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The header is not `t=<unix seconds>,v1=<hex>`.
    #[error("malformed signature header")]
    Malformed,
    /// The timestamp is more than [`TOLERANCE_SECONDS`] away from now (a replay, or a clock
    /// far off).
    #[error("signature timestamp outside the tolerance")]
    Stale,
    /// No signature matches.
    #[error("signature does not match")]
    Mismatch,
}

fn hmac_sha256(secret: &[u8], parts: &[&[u8]]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    for p in parts {
        mac.update(p);
    }
    mac
}

/// Ekdwar's protocol: the header value for `body` sent at `t` (Unix seconds):
/// `t=<t>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>`.
pub fn sign(secret: &[u8], t: i64, body: &[u8]) -> String {
    let ts = t.to_string();
    let mac = hmac_sha256(secret, &[ts.as_bytes(), b".", body]);
    format!("t={t},v1={}", hex(&mac.finalize().into_bytes()))
}

/// Checks an Ekdwar signature header against the raw body at `now` (Unix seconds). Several
/// `v1=` values may be present (while a secret is being rotated); one matching is enough.
pub fn verify(secret: &[u8], header: &str, body: &[u8], now: i64) -> Result<(), SignatureError> {
    let mut t = None;
    let mut sigs = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = Some(v.parse::<i64>().map_err(|_| SignatureError::Malformed)?),
            Some(("v1", v)) => {
                sigs.push(unhex(v).ok_or(SignatureError::Malformed)?);
            }
            _ => {}
        }
    }
    let t = t.ok_or(SignatureError::Malformed)?;
    if sigs.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if (now - t).abs() > TOLERANCE_SECONDS {
        return Err(SignatureError::Stale);
    }
    let ts = t.to_string();
    let mut ok = false;
    for sig in sigs {
        let mac = hmac_sha256(secret, &[ts.as_bytes(), b".", body]);
        // `verify_slice` compares in constant time.
        ok |= mac.verify_slice(&sig).is_ok();
    }
    if ok {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The wall clock in Unix seconds, for the `t=` of a signature between two machines (their
/// agreement on freshness, not the portal's own time, which is the injected clock).
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Compares two texts (hex digests) in constant time for equal lengths.
pub fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn hex(bytes: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(bytes)
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    data_encoding::HEXLOWER_PERMISSIVE.decode(s.as_bytes()).ok()
}

/// PayU's hashes (its "hosted checkout" integration): SHA-512 over `|`-joined fields, lower-case
/// hex.
pub mod payu {
    use super::*;

    /// What a payment request carries (the `udf` fields are the merchant's own).
    #[derive(Debug, Clone, Default)]
    pub struct Request<'a> {
        /// The merchant key.
        pub key: &'a str,
        /// The merchant's transaction id (our attempt id).
        pub txnid: &'a str,
        /// Rupees with two decimals (`1500.00`).
        pub amount: &'a str,
        /// What is bought.
        pub productinfo: &'a str,
        /// The payer's first name.
        pub firstname: &'a str,
        /// The payer's e-mail.
        pub email: &'a str,
        /// udf1 … udf5.
        pub udf: [&'a str; 5],
    }

    fn sha512_hex(s: &str) -> String {
        hex(&Sha512::digest(s.as_bytes()))
    }

    /// `sha512(key|txnid|amount|productinfo|firstname|email|udf1|udf2|udf3|udf4|udf5||||||SALT)`.
    pub fn request_hash(r: &Request<'_>, salt: &str) -> String {
        let [u1, u2, u3, u4, u5] = r.udf;
        sha512_hex(&format!(
            "{}|{}|{}|{}|{}|{}|{u1}|{u2}|{u3}|{u4}|{u5}||||||{salt}",
            r.key, r.txnid, r.amount, r.productinfo, r.firstname, r.email
        ))
    }

    /// The response hash, the request's fields reversed after the status:
    /// `sha512(SALT|status||||||udf5|udf4|udf3|udf2|udf1|email|firstname|productinfo|amount|txnid|key)`.
    pub fn response_hash(r: &Request<'_>, status: &str, salt: &str) -> String {
        let [u1, u2, u3, u4, u5] = r.udf;
        sha512_hex(&format!(
            "{salt}|{status}||||||{u5}|{u4}|{u3}|{u2}|{u1}|{}|{}|{}|{}|{}|{}",
            r.email, r.firstname, r.productinfo, r.amount, r.txnid, r.key
        ))
    }

    /// Checks the hash PayU returned with a response, in constant time.
    pub fn verify_response(r: &Request<'_>, status: &str, salt: &str, hash: &str) -> bool {
        same(&response_hash(r, status, salt), &hash.to_ascii_lowercase())
    }

    /// The hash of a server-to-server API call (`verify_payment`, `cancel_refund_transaction`):
    /// `sha512(key|command|var1|SALT)`.
    pub fn command_hash(key: &str, command: &str, var1: &str, salt: &str) -> String {
        sha512_hex(&format!("{key}|{command}|{var1}|{salt}"))
    }
}

/// Razorpay's signatures: HMAC-SHA256, lower-case hex.
pub mod razorpay {
    use super::*;

    /// The checkout's signature: `HMAC-SHA256(secret, order_id + "|" + payment_id)`.
    pub fn payment_signature(order_id: &str, payment_id: &str, secret: &str) -> String {
        let mac = hmac_sha256(
            secret.as_bytes(),
            &[order_id.as_bytes(), b"|", payment_id.as_bytes()],
        );
        hex(&mac.finalize().into_bytes())
    }

    /// Checks a checkout signature against the order id *we* stored (never the one the browser
    /// sent back), in constant time.
    pub fn verify_payment(order_id: &str, payment_id: &str, secret: &str, signature: &str) -> bool {
        let Some(sig) = unhex(signature) else {
            return false;
        };
        hmac_sha256(
            secret.as_bytes(),
            &[order_id.as_bytes(), b"|", payment_id.as_bytes()],
        )
        .verify_slice(&sig)
        .is_ok()
    }

    /// Checks a webhook's `X-Razorpay-Signature`: `HMAC-SHA256(webhook secret, raw body)`.
    pub fn verify_webhook(body: &[u8], secret: &str, signature: &str) -> bool {
        let Some(sig) = unhex(signature) else {
            return false;
        };
        hmac_sha256(secret.as_bytes(), &[body])
            .verify_slice(&sig)
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ekdwar_signatures_round_trip_and_refuse_tampering() {
        let body = br#"{"event_id":"e1","amount":150000}"#;
        let h = sign(b"secret", 1_700_000_000, body);
        assert!(h.starts_with("t=1700000000,v1="));
        assert_eq!(verify(b"secret", &h, body, 1_700_000_100), Ok(()));
        assert_eq!(
            verify(b"other", &h, body, 1_700_000_100),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(
                b"secret",
                &h,
                br#"{"event_id":"e1","amount":150001}"#,
                1_700_000_100
            ),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"secret", &h, body, 1_700_000_000 + 301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(b"secret", &h, body, 1_700_000_000 - 301),
            Err(SignatureError::Stale)
        );
        for bad in ["", "t=1", "v1=00", "t=x,v1=00", "t=1,v1=zz"] {
            assert_eq!(
                verify(b"secret", bad, body, 1),
                Err(SignatureError::Malformed),
                "{bad}"
            );
        }
        // A rotated secret: the old and the new signature side by side.
        let old = sign(b"old", 1_700_000_000, body);
        let both = format!("{h},{}", &old[old.find("v1").unwrap()..]);
        assert_eq!(verify(b"old", &both, body, 1_700_000_000), Ok(()));
    }

    /// Golden vector, computed independently:
    /// `printf '<t>.<body>' | openssl dgst -sha256 -hmac <secret>`.
    #[test]
    fn ekdwar_signature_golden_vector() {
        assert_eq!(
            sign(b"whsec_test", 1_767_225_600, b"{\"ok\":true}"),
            "t=1767225600,v1=fb465e799758e287e908328d741e57b33f728c2a64fc53e26cc50786a4770bf5"
        );
    }

    fn payu_request() -> payu::Request<'static> {
        payu::Request {
            key: "gtKFFx",
            txnid: "EKA26000001",
            amount: "1500.00",
            productinfo: "Passport fee",
            firstname: "Asha",
            email: "asha@example.in",
            udf: ["EK26482190345617", "", "", "", ""],
        }
    }

    /// Golden vectors computed independently with Python's `hashlib.sha512` over the strings
    /// PayU's integration guide prescribes.
    #[test]
    fn payu_hashes_golden_vectors() {
        let r = payu_request();
        assert_eq!(
            payu::request_hash(&r, "eCwWELxi"),
            "b9b88ac00ecb2a806a8fe394894477780687bc3bbf1733084baabdf67f8dd3b39ab3c6f71b067df75022a58f7c79aa6ee5ff4f26c5a80ac9b4b52ca48cdec4c7"
        );
        let resp = payu::response_hash(&r, "success", "eCwWELxi");
        assert_eq!(
            resp,
            "dab390425bf7786394f0122de02b5515c0ffd8b5c34fb75a05e3fa4d4b3fd435fea9630c0655f98723f35c8e45a04e23095df1796c679f7040c49de772566936"
        );
        assert!(payu::verify_response(
            &r,
            "success",
            "eCwWELxi",
            &resp.to_uppercase()
        ));
        assert!(!payu::verify_response(&r, "failure", "eCwWELxi", &resp));
        assert_eq!(
            payu::command_hash("gtKFFx", "verify_payment", "EKA26000001", "eCwWELxi"),
            "3b9f5814ee9926347e478da0b808ca65c3986f6d02758ff791baed25baeef53bcde112c99fb8b69036ac361b1cc5e5a218aa4dc7d93351865b74fd5d52e12309"
        );
    }

    /// Golden vectors computed independently with Python's `hmac` and `hashlib.sha256`.
    #[test]
    fn razorpay_signatures_golden_vectors() {
        let sig = razorpay::payment_signature("order_EKA26000001", "pay_29QQoUBi66xm2f", "s3cr3t");
        assert_eq!(
            sig,
            "00d0c17bb2fc98804ebcf718fbd16481dbd2d0166064b184e66ca3a7b2d256a2"
        );
        assert!(razorpay::verify_payment(
            "order_EKA26000001",
            "pay_29QQoUBi66xm2f",
            "s3cr3t",
            &sig
        ));
        assert!(!razorpay::verify_payment(
            "order_OTHER",
            "pay_29QQoUBi66xm2f",
            "s3cr3t",
            &sig
        ));
        let body = br#"{"event":"payment.captured","payload":{}}"#;
        assert!(razorpay::verify_webhook(
            body,
            "whsec",
            "0ea4289b01ce4325f4aba755d3c6e51fa0b88c286bebf7e8af6d5a4f3b3d3f7e"
        ));
        assert!(!razorpay::verify_webhook(body, "whsec", "00"));
    }
}
