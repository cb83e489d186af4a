//! PayU's hosted checkout as a [`PaymentGateway`]: how a real gateway plugs into the port. The
//! browser step is a form posted to PayU with a SHA-512 request hash; PayU's answers (the
//! browser's return, the server-to-server webhook) carry the reversed hash, checked in constant
//! time; `verify_payment` is the status query and `cancel_refund_transaction` the refund. PayU
//! says a pending result must be treated as not paid until `verify_payment` says otherwise,
//! which is what the portal's sweep does. The hashes are checked against golden vectors
//! (`ekdwar_domain::payments::signing`); the calls follow PayU's published API and are not run
//! against PayU in the tests.

use ekdwar_domain::payments::Money;
use ekdwar_domain::payments::signing::payu::{self as hash, Request};
use serde::Deserialize;

use super::gateway::{
    CreateRequest, Created, GatewayError, GatewayStatus, NextStep, Notice, NoticeError,
    PaymentGateway, RefundDone, Reported,
};
use crate::core::PortFuture;

/// PayU, as configured.
pub struct Payu {
    pub name: String,
    /// Where the browser's form goes (`https://secure.payu.in`).
    pub checkout_url: String,
    /// The API (`https://info.payu.in/merchant/postservice.php?form=2`).
    pub api_url: String,
    pub key: String,
    pub salt: String,
    pub http: reqwest::Client,
}

/// The fields of PayU's hosted checkout form for a request.
pub fn checkout_fields(key: &str, salt: &str, req: &CreateRequest) -> Vec<(String, String)> {
    let amount = req.amount.to_decimal();
    let email = req.payer_email.clone().unwrap_or_default();
    let r = Request {
        key,
        txnid: &req.attempt,
        amount: &amount,
        productinfo: &req.description,
        firstname: &req.payer_name,
        email: &email,
        udf: ["", "", "", "", ""],
    };
    let hash = hash::request_hash(&r, salt);
    let pg = match req.channel {
        ekdwar_domain::payments::PayChannel::NetBanking => "NB",
        ekdwar_domain::payments::PayChannel::Upi => "UPI",
        _ => "CC",
    };
    [
        ("key", key),
        ("txnid", req.attempt.as_str()),
        ("amount", amount.as_str()),
        ("productinfo", req.description.as_str()),
        ("firstname", req.payer_name.as_str()),
        ("email", email.as_str()),
        ("surl", req.return_url.as_str()),
        ("furl", req.return_url.as_str()),
        ("pg", pg),
        ("hash", hash.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn status_of(s: &str) -> GatewayStatus {
    match s {
        "success" | "captured" => GatewayStatus::Succeeded,
        "pending" | "in progress" => GatewayStatus::Pending,
        "failure" | "failed" | "bounced" | "dropped" => GatewayStatus::Failed,
        "userCancelled" | "cancelled" => GatewayStatus::Cancelled,
        _ => GatewayStatus::Pending,
    }
}

/// Reads a PayU response or webhook (form fields), checking its reversed hash with `salt`.
pub fn read_response(key: &str, salt: &str, body: &[u8]) -> Result<Notice, NoticeError> {
    let fields: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(body).into_owned().collect();
    let get = |k: &str| fields.get(k).map(String::as_str).unwrap_or("");
    let udf = [
        get("udf1"),
        get("udf2"),
        get("udf3"),
        get("udf4"),
        get("udf5"),
    ];
    let r = Request {
        key,
        txnid: get("txnid"),
        amount: get("amount"),
        productinfo: get("productinfo"),
        firstname: get("firstname"),
        email: get("email"),
        udf,
    };
    if get("key") != key || get("hash").is_empty() {
        return Err(NoticeError::Malformed);
    }
    if !hash::verify_response(&r, get("status"), salt, get("hash")) {
        return Err(NoticeError::Signature(
            ekdwar_domain::payments::signing::SignatureError::Mismatch,
        ));
    }
    let amount = Money::parse_decimal(get("amount"), ekdwar_domain::payments::Currency::INR)
        .map_err(|_| NoticeError::Malformed)?;
    let mihpayid = get("mihpayid");
    Ok(Notice {
        event_id: format!("{mihpayid}:{}", get("status")),
        payment: Reported {
            // PayU names a payment by our transaction id (its own id comes with the answer).
            id: get("txnid").to_string(),
            attempt: get("txnid").to_string(),
            status: status_of(get("status")),
            amount: amount.minor(),
            currency: "INR".into(),
        },
    })
}

#[derive(Deserialize)]
struct VerifyAnswer {
    #[serde(default)]
    transaction_details: std::collections::HashMap<String, VerifyDetail>,
}

#[derive(Deserialize)]
struct VerifyDetail {
    status: String,
    #[serde(default)]
    amt: Option<String>,
    #[serde(default)]
    mihpayid: Option<String>,
}

/// Reads `verify_payment`'s answer about `txnid`.
pub fn read_verify(txnid: &str, body: &str) -> Result<(Reported, Option<String>), String> {
    let a: VerifyAnswer = serde_json::from_str(body).map_err(|e| e.to_string())?;
    let d = a
        .transaction_details
        .get(txnid)
        .ok_or_else(|| format!("no transaction {txnid} in the answer"))?;
    let amount = d
        .amt
        .as_deref()
        .map(|a| Money::parse_decimal(a, ekdwar_domain::payments::Currency::INR))
        .transpose()
        .map_err(|_| "unreadable amount".to_string())?
        .map_or(0, |m| m.minor());
    Ok((
        Reported {
            id: txnid.to_string(),
            attempt: txnid.to_string(),
            status: status_of(&d.status),
            amount,
            currency: "INR".into(),
        },
        d.mihpayid.clone(),
    ))
}

impl Payu {
    async fn command(&self, command: &str, vars: &[&str]) -> Result<String, GatewayError> {
        let var1 = vars.first().copied().unwrap_or("");
        let hash = hash::command_hash(&self.key, command, var1, &self.salt);
        let mut form = vec![
            ("key".to_string(), self.key.clone()),
            ("command".to_string(), command.to_string()),
            ("hash".to_string(), hash),
        ];
        for (i, v) in vars.iter().enumerate() {
            form.push((format!("var{}", i + 1), v.to_string()));
        }
        let resp = self
            .http
            .post(&self.api_url)
            .form(&form)
            .send()
            .await
            .map_err(|e| GatewayError::Unavailable(e.to_string()))?;
        if !resp.status().is_success() {
            return Err(GatewayError::Unavailable(format!("HTTP {}", resp.status())));
        }
        resp.text()
            .await
            .map_err(|e| GatewayError::Unavailable(e.to_string()))
    }
}

impl PaymentGateway for Payu {
    fn name(&self) -> &str {
        &self.name
    }

    fn create<'a>(
        &'a self,
        req: &'a CreateRequest,
    ) -> PortFuture<'a, Result<Created, GatewayError>> {
        Box::pin(async move {
            Ok(Created {
                id: req.attempt.clone(),
                next: NextStep::PostForm {
                    url: format!("{}/_payment", self.checkout_url),
                    fields: checkout_fields(&self.key, &self.salt, req),
                },
            })
        })
    }

    fn status<'a>(
        &'a self,
        gateway_id: &'a str,
        _attempt: &'a str,
    ) -> PortFuture<'a, Result<Reported, GatewayError>> {
        Box::pin(async move {
            let body = self.command("verify_payment", &[gateway_id]).await?;
            read_verify(gateway_id, &body)
                .map(|(r, _)| r)
                .map_err(GatewayError::Unavailable)
        })
    }

    fn refund<'a>(
        &'a self,
        gateway_id: &'a str,
        amount: Money,
        key: &'a str,
    ) -> PortFuture<'a, Result<RefundDone, GatewayError>> {
        Box::pin(async move {
            // A refund names PayU's own payment id, which `verify_payment` tells.
            let body = self.command("verify_payment", &[gateway_id]).await?;
            let (_, mihpayid) =
                read_verify(gateway_id, &body).map_err(GatewayError::Unavailable)?;
            let mihpayid = mihpayid.ok_or_else(|| GatewayError::Refused("no PayU id".into()))?;
            let answer = self
                .command(
                    "cancel_refund_transaction",
                    &[&mihpayid, key, &amount.to_decimal()],
                )
                .await?;
            #[derive(Deserialize)]
            struct RefundAnswer {
                status: serde_json::Value,
                #[serde(default)]
                request_id: Option<String>,
                #[serde(default)]
                msg: Option<String>,
            }
            let a: RefundAnswer = serde_json::from_str(&answer)
                .map_err(|e| GatewayError::Unavailable(e.to_string()))?;
            if a.status == serde_json::json!(1) {
                Ok(RefundDone {
                    id: a.request_id.unwrap_or_default(),
                    // PayU queues refunds; it confirms them later.
                    succeeded: true,
                })
            } else {
                Err(GatewayError::Refused(a.msg.unwrap_or_default()))
            }
        })
    }

    fn read_notice(
        &self,
        _signature: Option<&str>,
        body: &[u8],
        _now: i64,
    ) -> Result<Notice, NoticeError> {
        read_response(&self.key, &self.salt, body)
    }

    fn signature_header(&self) -> Option<&'static str> {
        None
    }

    fn page_origins(&self) -> Vec<String> {
        url::Url::parse(&self.checkout_url)
            .map(|u| vec![u.origin().ascii_serialization()])
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ekdwar_domain::payments::{Currency, PayChannel};

    fn request() -> CreateRequest {
        CreateRequest {
            attempt: "EKA26000001".into(),
            amount: Money::new(150000, Currency::INR).unwrap(),
            description: "Passport fee".into(),
            channel: PayChannel::Card,
            language: "en".into(),
            payer_name: "Asha".into(),
            payer_email: Some("asha@example.in".into()),
            return_url: "https://portal.example.in/payments/return/EKA26000001".into(),
            notify_url: "https://portal.example.in/api/payments/notify/payu".into(),
        }
    }

    /// The checkout form carries the hash of the golden vector (udf1 empty here, so its own
    /// value, computed with Python's hashlib over PayU's documented string).
    #[test]
    fn the_checkout_form_is_signed() {
        let fields = checkout_fields("gtKFFx", "eCwWELxi", &request());
        let get = |k: &str| fields.iter().find(|f| f.0 == k).unwrap().1.clone();
        assert_eq!(get("amount"), "1500.00");
        assert_eq!(get("txnid"), "EKA26000001");
        assert_eq!(
            get("hash"),
            "e8abdeb703144f95d3757f3c55b12dd92aa4c9e3f093e6980d24ee26ec7eea9b37d327d7603e8f7626fc81aeb4389471abd89ee10137cd257b90885441141632"
        );
    }

    #[test]
    fn responses_are_believed_only_with_the_right_hash() {
        let r = Request {
            key: "gtKFFx",
            txnid: "EKA26000001",
            amount: "1500.00",
            productinfo: "Passport fee",
            firstname: "Asha",
            email: "asha@example.in",
            udf: ["", "", "", "", ""],
        };
        let good = hash::response_hash(&r, "success", "eCwWELxi");
        let body = |status: &str, amount: &str, h: &str| {
            format!(
                "key=gtKFFx&txnid=EKA26000001&amount={amount}&productinfo=Passport+fee&firstname=Asha&email=asha%40example.in&status={status}&mihpayid=403993715521&hash={h}"
            )
        };
        let n = read_response(
            "gtKFFx",
            "eCwWELxi",
            body("success", "1500.00", &good).as_bytes(),
        )
        .unwrap();
        assert_eq!(n.payment.status, GatewayStatus::Succeeded);
        assert_eq!(n.payment.amount, 150000);
        assert_eq!(n.payment.attempt, "EKA26000001");
        // Another status or amount under the same hash is refused.
        assert!(
            read_response(
                "gtKFFx",
                "eCwWELxi",
                body("failure", "1500.00", &good).as_bytes()
            )
            .is_err()
        );
        assert!(
            read_response(
                "gtKFFx",
                "eCwWELxi",
                body("success", "1.00", &good).as_bytes()
            )
            .is_err()
        );
        assert!(
            read_response(
                "other",
                "eCwWELxi",
                body("success", "1500.00", &good).as_bytes()
            )
            .is_err()
        );
    }

    #[test]
    fn verify_payment_answers_are_read() {
        let body = r#"{"status":1,"msg":"1 out of 1 Transactions Fetched Successfully","transaction_details":{"EKA26000001":{"mihpayid":"403993715521","status":"success","amt":"1500.00"}}}"#;
        let (r, id) = read_verify("EKA26000001", body).unwrap();
        assert_eq!(r.status, GatewayStatus::Succeeded);
        assert_eq!(r.amount, 150000);
        assert_eq!(id.as_deref(), Some("403993715521"));
        let pending = body.replace("\"success\"", "\"pending\"");
        assert_eq!(
            read_verify("EKA26000001", &pending).unwrap().0.status,
            GatewayStatus::Pending
        );
        assert!(read_verify("OTHER", body).is_err());
    }
}
