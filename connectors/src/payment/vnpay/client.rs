//! VNPay for one call: typed config, two signatures — the payment URL's `vnp_SecureHash`
//! (the kit's HMAC-SHA512 over the sorted, form-encoded query, appended last) and the merchant
//! API's (HMAC-SHA512 over `|`-joined fields, a body field) — and VNPay's protocol:
//! `vnp_ResponseCode` "00" is success.

use integrations_core::connector::CallContext;
use integrations_core::{Error, ErrorKind, Result};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::super::Environment;
use crate::kit::auth::canonical;
use crate::kit::auth::{HmacRequest, HmacSpec};
use crate::kit::config::{self, Secret};
use crate::kit::sign::{constant_time_eq, hmac, pipe_joined, Encoding, HmacAlgorithm};
use crate::kit::{
    Auth, AuthSpec, Envelope, Match, Outgoing, Protocol, ProviderClient, Request, ResultCode,
    SignaturePlace,
};

/// Sandbox: the payment page and the merchant API share the host.
pub const SANDBOX_URL: &str = "https://sandbox.vnpayment.vn";
/// Production hosts (UNCONFIRMED in providers.md): the pay page and the API differ.
pub const PRODUCTION_PAY_URL: &str = "https://pay.vnpay.vn";
pub const PRODUCTION_API_URL: &str = "https://merchant.vnpay.vn";

const PROVIDER: &str = "VNPay";

/// `hmac`: the payment URL's `vnp_SecureHash`, hex HMAC-SHA512 with the hashSecret over the
/// sorted, form-encoded query, appended last. The merchant API signs `|`-joined body fields
/// with the same secret ([`checksum`]).
pub(crate) const AUTH: AuthSpec = AuthSpec::Hmac(HmacSpec::Request(HmacRequest {
    key_field: "hashSecret",
    algorithm: HmacAlgorithm::Sha512,
    encoding: Encoding::Hex,
    canonical: canonical::sorted_query,
    place: SignaturePlace::Query("vnp_SecureHash"),
}));
const PAY_PATH_SANDBOX: &str = "/paymentv2/vpcpay.html";
const PAY_PATH_PRODUCTION: &str = "/vpcpay.html";
const API_PATH: &str = "/merchant_webapi/api/transaction";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct VnpayConfig {
    tmn_code: String,
    hash_secret: Secret,
    #[serde(default)]
    environment: Environment,
}

/// The merchant API's checksum: hex HMAC-SHA512 over the `|`-joined fields.
pub fn checksum(secret: &str, fields: &[&str]) -> String {
    Encoding::Hex.encode(&hmac(
        HmacAlgorithm::Sha512,
        secret.as_bytes(),
        pipe_joined(fields).as_bytes(),
    ))
}

pub(crate) struct VnpayApi {
    /// Builds payment URLs (never sends).
    pay: ProviderClient,
    pay_path: &'static str,
    api: ProviderClient,
    config: VnpayConfig,
    pub(crate) environment: &'static str,
}

impl VnpayApi {
    pub(crate) fn new(
        http: &reqwest::Client,
        base_url_override: Option<&str>,
        ctx: &CallContext<'_>,
        auth: Auth,
    ) -> Result<Self> {
        let config: VnpayConfig = config::load(PROVIDER, ctx)?;
        let (pay_base, api_base, pay_path) = match (base_url_override, config.environment) {
            (Some(b), _) => (b, b, PAY_PATH_SANDBOX),
            (None, Environment::Sandbox) => (SANDBOX_URL, SANDBOX_URL, PAY_PATH_SANDBOX),
            (None, Environment::Production) => {
                (PRODUCTION_PAY_URL, PRODUCTION_API_URL, PAY_PATH_PRODUCTION)
            }
        };
        // The kit signs payment URLs; the merchant API's checksum is a body field.
        let pay = ProviderClient::new(http, pay_base, &VNPAY, auth, ctx.timeout);
        // The merchant API's checksum is a body field, computed while building the body.
        let api = ProviderClient::new(http, api_base, &VNPAY, Auth::None, ctx.timeout);
        Ok(Self {
            pay,
            pay_path,
            api,
            environment: config.environment.name(),
            config,
        })
    }

    pub(crate) fn tmn_code(&self) -> &str {
        &self.config.tmn_code
    }

    pub(crate) fn pay_request(&self) -> Request {
        Request::get(self.pay_path)
    }

    /// The payment URL, signed as it will be opened.
    pub(crate) fn pay_url(&self, request: Request) -> Result<String> {
        let out: Outgoing = self.pay.prepare(request)?;
        Ok(format!("{}{}", self.pay.base_url(), out.target()))
    }

    /// POST to the merchant API with `vnp_SecureHash` over `fields`; the answer's own hash is
    /// checked over `answer_fields`.
    pub(crate) async fn call(
        &self,
        mut body: Map<String, Value>,
        fields: &[&str],
        answer_fields: &[&str],
    ) -> Result<Map<String, Value>> {
        let values: Vec<String> = fields.iter().map(|k| text(&body, k)).collect();
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        body.insert(
            "vnp_SecureHash".into(),
            Value::String(checksum(self.config.hash_secret.expose(), &refs)),
        );
        let data = self
            .api
            .call(Request::post(API_PATH).json(Value::Object(body)))
            .await?;
        let Value::Object(answer) = data else {
            return Err(Error::new(
                ErrorKind::ProviderBadResponse,
                "VNPay answered with a non-object",
            )
            .with_retryable(true));
        };
        if !answer_verified(self.config.hash_secret.expose(), answer_fields, &answer) {
            // The answer's field order is UNCONFIRMED (providers.md §4): a mismatch may be our
            // order, not tampering (the call went over TLS to VNPay), so it is logged, not
            // fatal. Nothing of the answer is logged.
            tracing::warn!(
                provider = PROVIDER,
                "VNPay answer checksum did not match the expected field order"
            );
        }
        Ok(answer)
    }
}

/// Whether `answer`'s `vnp_SecureHash` is the checksum of `fields`.
pub(crate) fn answer_verified(secret: &str, fields: &[&str], answer: &Map<String, Value>) -> bool {
    let values: Vec<String> = fields.iter().map(|k| text(answer, k)).collect();
    let refs: Vec<&str> = values.iter().map(String::as_str).collect();
    let want = checksum(secret, &refs);
    let got = text(answer, "vnp_SecureHash").to_ascii_lowercase();
    constant_time_eq(want.as_bytes(), got.as_bytes())
}

pub(crate) fn text(m: &Map<String, Value>, k: &str) -> String {
    match m.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

pub(crate) struct VnpayProtocol;

pub(crate) static VNPAY: VnpayProtocol = VnpayProtocol;

/// vnp_ResponseCode of the merchant API (providers.md §4, VNPay's published table).
const VNPAY_CODES: &[ResultCode] = &[
    ResultCode::on(Match::Code("02"), ErrorKind::ProviderAuthFailed),
    ResultCode::on(Match::Code("97"), ErrorKind::ProviderAuthFailed),
    ResultCode::on(Match::Code("91"), ErrorKind::ProviderNotFound),
    ResultCode::on(Match::Code("99"), ErrorKind::ProviderUnavailable),
    ResultCode::on(Match::Any, ErrorKind::ProviderRejected),
];

impl Protocol for VnpayProtocol {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn envelope(&self, _status: StatusCode, body: Value) -> Option<Envelope> {
        let code = body.get("vnp_ResponseCode")?.as_str()?.to_string();
        let message = body
            .get("vnp_Message")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        Some(Envelope {
            success: code == "00",
            code,
            message,
            tag: None,
            data: body,
        })
    }

    fn result_codes(&self) -> &'static [ResultCode] {
        VNPAY_CODES
    }

    fn envelope_shape(&self) -> &'static str {
        "a vnp_ResponseCode"
    }
}
