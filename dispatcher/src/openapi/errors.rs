//! The error answers: one reusable response per HTTP status the API answers with, each the
//! error envelope `{"error": {"code", "message", "retryable"}}` ([`crate::error::ApiError`]).
//! The `Error` schema itself is the published `schemas/messages/error.schema.json`, inserted by
//! [`super::ApiDoc`], so the document and the message schema cannot drift apart.

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder, Schema};

/// `{"error": Error}`, nothing else.
pub fn envelope() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(
            "Every error a caller sees: {\"error\": {\"code\", \"message\", \"retryable\"}} \
             with a stable code (core/src/error.rs).",
        ))
        .property("error", Ref::from_schema_name("Error"))
        .required("error")
        .additional_properties(Some(
            utoipa::openapi::schema::AdditionalProperties::FreeForm(false),
        ))
        .into()
}

/// A schema reference to the published `Error` (for fields holding an error body).
pub fn error_ref() -> RefOr<Schema> {
    Ref::from_schema_name("Error").into()
}

fn response(description: &str, retry_after: bool) -> RefOr<Response> {
    let content = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("ErrorEnvelope")))
        .build();
    let mut builder = ResponseBuilder::new()
        .description(description)
        .content("application/json", content);
    if retry_after {
        // Set by ApiError for load shedding and quotas (whole seconds, at least 1).
        let seconds = ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(1));
        builder = builder.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(seconds)
                .description(Some("Seconds to wait."))
                .build(),
        );
    }
    builder.build().into()
}

macro_rules! error_responses {
    ($($(#[$doc:meta])* $name:ident ($retry_after:literal) => $description:literal;)+) => {
        $(
            $(#[$doc])*
            pub struct $name;

            impl<'s> utoipa::ToResponse<'s> for $name {
                fn response() -> (&'s str, RefOr<Response>) {
                    (stringify!($name), response($description, $retry_after))
                }
            }
        )+
    };
}

error_responses! {
    /// `crate::extract` (bodies and queries), `X-Tenant-Id`, and every handler's checks.
    E400(false) => "VALIDATION_FAILED: a malformed or invalid request (the message names the \
                    field), or a missing/invalid X-Tenant-Id.";
    /// `crate::auth::authenticate`.
    E401(false) => "UNAUTHENTICATED: a missing or unknown API key.";
    E403(false) => "FORBIDDEN: the key may not act for this tenant (or callerService is not the \
                    key's).";
    E404(false) => "*_NOT_FOUND: INTEGRATION_, ACTION_, CONNECTION_, EXECUTION_, CALLBACK_, \
                    TOOL_ or TRIGGER_NOT_FOUND (another tenant's ids too).";
    E409(false) => "CONNECTION_INACTIVE, CONNECTION_CREDENTIALS_REJECTED, IDEMPOTENCY_CONFLICT or \
                    EXECUTION_NOT_FINISHED.";
    /// The body limit (`DefaultBodyLimit`, `--max-body-bytes`).
    E413(false) => "PAYLOAD_TOO_LARGE: the body exceeds the limit (256 KiB by default).";
    /// `crate::admission`: the tenant's submission rate.
    E429(true) => "TENANT_QUOTA_EXCEEDED: the tenant's submission rate; wait Retry-After seconds.";
    /// The OAuth callback's code exchange, refused by the provider.
    E422(false) => "PROVIDER_REJECTED or PROVIDER_AUTH_FAILED: the provider refused.";
    E500(false) => "INTERNAL: a bug or a missing callback signing secret.";
    /// The OAuth callback's code exchange: the provider down or answering nonsense.
    E502(true) => "PROVIDER_UNAVAILABLE, PROVIDER_BAD_RESPONSE or NETWORK_ERROR.";
    E504(true) => "PROVIDER_TIMEOUT: the provider did not answer in time.";
    /// The store down, or `crate::admission` shedding load.
    E503(true) => "BACKEND_UNAVAILABLE or OVERLOADED (load shedding, with Retry-After).";
}

macro_rules! error_sets {
    ($($(#[$doc:meta])* $set:ident = [$($response:ident),+];)+) => {
        $(
            $(#[$doc])*
            pub struct $set;

            impl utoipa::IntoResponses for $set {
                fn responses() -> std::collections::BTreeMap<String, RefOr<Response>> {
                    [$(status_of::<$response>()),+].into_iter().collect()
                }
            }
        )+
    };
}

/// `E404` → `("404", a reference to components/responses/E404)`.
fn status_of<R: for<'s> utoipa::ToResponse<'s>>() -> (String, RefOr<Response>) {
    let name = R::response().0;
    let status = name.trim_start_matches('E').to_string();
    (status, Ref::from_response_name(name).into())
}

error_sets! {
    /// What every authenticated route can answer: a bad request or tenant, no or the wrong key,
    /// and the store down.
    Common = [E400, E401, E403, E500, E503];
    /// Routes naming an integration, action, connection, execution or tool.
    Lookup = [E400, E401, E403, E404, E500, E503];
    /// Routes taking a body that names something.
    Write = [E400, E401, E403, E404, E413, E500, E503];
    /// Submissions (`/execute`, `/tools/call`): conflicts, body limit and quotas too.
    Submit = [E400, E401, E403, E404, E409, E413, E429, E500, E503];
    /// Redelivering a callback: an execution not finished is a conflict.
    Redeliver = [E400, E401, E403, E404, E409, E500, E503];
    /// `POST /connections/oauth/start`: no app registered is a conflict.
    OAuthStart = [E400, E401, E403, E404, E409, E413, E500, E503];
    /// `GET /oauth/callback` (public): the state's and hmac's failures, a replay, the
    /// provider's answer to the code exchange.
    OAuthCallback = [E400, E404, E409, E422, E500, E502, E503, E504];
    /// `/healthz`.
    Store = [E500, E503];
}
