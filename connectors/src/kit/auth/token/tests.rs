//! Login-then-token against a tiny provider on the shared raw TCP server: it issues numbered
//! tokens to the right password, accepts only tokens it has not revoked, and counts logins.
//! Fleet renewal runs through real [`Renewer`]s over shared in-memory stores, one per
//! "process".

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use integrations_core::connector::Renewal;
use reqwest::StatusCode;
use serde_json::json;

use super::*;
use crate::kit::{Envelope, KeyPlace, Match, Protocol, Request, ResultCode};
use crate::testing::stores::Stores;
use crate::testing::tcp::{serve, Received};
use crate::testing::{credentials, ctx};

const PASSWORD: &str = "pw-SECRET-3141";

struct Demo;

impl Protocol for Demo {
    fn provider(&self) -> &'static str {
        "Demo"
    }

    fn envelope(&self, _status: StatusCode, mut body: Value) -> Option<Envelope> {
        Some(Envelope {
            success: body.get("ok")?.as_bool()?,
            code: body["code"].as_str().unwrap_or("0").to_string(),
            message: body["msg"].as_str().unwrap_or_default().to_string(),
            tag: None,
            data: body.get_mut("data").map(Value::take).unwrap_or(Value::Null),
        })
    }

    fn result_codes(&self) -> &'static [ResultCode] {
        DEMO_CODES
    }
}

const DEMO_CODES: &[ResultCode] = &[
    ResultCode::on(Match::Code("401"), ErrorKind::ProviderAuthFailed),
    ResultCode::on(Match::Any, ErrorKind::ProviderRejected),
];

static DEMO: Demo = Demo;

static LOGIN: TokenLogin = TokenLogin {
    grant: Grant::Login,
    protocol: &DEMO,
    steps: &[LoginStep {
        request: |input| {
            let body = json!({"user": input.field("user")?, "password": input.field("password")?});
            Ok(Request::post("/login").json(body))
        },
        token: "/token",
        expires: Some(Expiry::InSeconds("/expiresIn")),
        keep: &[],
    }],
    place: KeyPlace::Bearer,
    secret_field: "token",
    rejected: rejected_as_auth_failure,
};

/// The provider's state.
#[derive(Default)]
struct Provider {
    logins: AtomicU32,
    rejections: AtomicU32,
    valid: Mutex<HashSet<String>>,
    /// The login's `expiresIn`, when it states one.
    expires_in: Mutex<Option<i64>>,
    /// Reject every token, fresh ones included.
    reject_all: AtomicBool,
}

impl Provider {
    fn answer(&self, r: &Received) -> (u16, String) {
        let body: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
        let reply = if r.target() == "/login" {
            if body["password"] != PASSWORD {
                json!({"ok": false, "code": "7", "msg": format!("wrong password {}", body["password"])})
            } else {
                let n = self.logins.fetch_add(1, Ordering::SeqCst) + 1;
                let token = format!("tok-{n}");
                self.valid
                    .lock()
                    .expect("lock")
                    .insert(format!("Bearer {token}"));
                let mut data = json!({"token": token});
                if let Some(s) = *self.expires_in.lock().expect("lock") {
                    data["expiresIn"] = json!(s);
                }
                json!({"ok": true, "data": data})
            }
        } else {
            let auth = r.header("authorization").unwrap_or_default();
            let known = self.valid.lock().expect("lock").contains(auth);
            if known && !self.reject_all.load(Ordering::SeqCst) {
                json!({"ok": true, "data": {"auth": auth}})
            } else {
                self.rejections.fetch_add(1, Ordering::SeqCst);
                json!({"ok": false, "code": "401", "msg": "token rejected"})
            }
        };
        (200, reply.to_string())
    }

    fn revoke_all(&self) {
        self.valid.lock().expect("lock").clear();
    }

    fn logins(&self) -> u32 {
        self.logins.load(Ordering::SeqCst)
    }
}

async fn provider() -> (Arc<Provider>, SocketAddr) {
    let p = Arc::new(Provider::default());
    let handler = p.clone();
    let (addr, _seen) = serve(Arc::new(move |r| handler.answer(r))).await;
    (p, addr)
}

/// One provider call with whatever auth the kit hands over.
async fn call(
    auth: &TokenAuth,
    http: &reqwest::Client,
    base: &str,
    ctx: &CallContext<'_>,
) -> Result<Value> {
    let target = LoginTarget {
        http,
        base_url: base,
    };
    auth.run(target, ctx, true, |a, budget| async move {
        ProviderClient::new(http, base, &DEMO, a, budget)
            .call(Request::get("/thing"))
            .await
    })
    .await
}

fn config() -> Value {
    json!({"user": "shop-1"})
}

/// The kit runs only strategies the catalog names, so these tests borrow Viettel Post's
/// integration id (authType token_exchange).
const ID: &str = "shipping-viettelpost";

#[tokio::test]
async fn the_token_is_obtained_once_cached_and_sent() {
    let (p, addr) = provider().await;
    let (http, base) = (reqwest::Client::new(), format!("http://{addr}"));
    let auth = TokenAuth::new(ID, &LOGIN);
    let (config, creds) = (config(), credentials(&[("password", PASSWORD)]));
    let ctx = ctx("e1", &config, &creds);
    for _ in 0..3 {
        let data = call(&auth, &http, &base, &ctx).await.expect("call");
        assert_eq!(data["auth"], "Bearer tok-1");
    }
    assert_eq!(p.logins(), 1);
}

#[tokio::test]
async fn a_rejected_token_is_renewed_and_the_call_run_once_more() {
    let (p, addr) = provider().await;
    let (http, base) = (reqwest::Client::new(), format!("http://{addr}"));
    let auth = TokenAuth::new(ID, &LOGIN);
    let (config, creds) = (config(), credentials(&[("password", PASSWORD)]));
    let ctx = ctx("e1", &config, &creds);
    call(&auth, &http, &base, &ctx).await.expect("first");
    p.revoke_all();
    let data = call(&auth, &http, &base, &ctx).await.expect("renewed");
    assert_eq!(data["auth"], "Bearer tok-2");
    assert_eq!((p.logins(), p.rejections.load(Ordering::SeqCst)), (2, 1));

    // A provider refusing even a fresh token: one renewal, one more run, then its error.
    p.reject_all.store(true, Ordering::SeqCst);
    let e = call(&auth, &http, &base, &ctx).await.expect_err("refused");
    assert_eq!(e.kind, ErrorKind::ProviderAuthFailed);
    assert_eq!((p.logins(), p.rejections.load(Ordering::SeqCst)), (3, 3));
}

#[tokio::test]
async fn an_expired_token_is_renewed_before_calling() {
    let (p, addr) = provider().await;
    let (http, base) = (reqwest::Client::new(), format!("http://{addr}"));
    let auth = TokenAuth::new(ID, &LOGIN);
    let (config, creds) = (config(), credentials(&[("password", PASSWORD)]));
    let ctx = ctx("e1", &config, &creds);
    // Inside the renewal margin: spent as soon as it is issued.
    *p.expires_in.lock().expect("lock") = Some(5);
    call(&auth, &http, &base, &ctx).await.expect("first");
    call(&auth, &http, &base, &ctx).await.expect("second");
    assert_eq!((p.logins(), p.rejections.load(Ordering::SeqCst)), (2, 0));
    *p.expires_in.lock().expect("lock") = Some(3600);
    call(&auth, &http, &base, &ctx).await.expect("third");
    call(&auth, &http, &base, &ctx).await.expect("fourth");
    assert_eq!((p.logins(), p.rejections.load(Ordering::SeqCst)), (3, 0));
}

#[tokio::test]
async fn a_refused_login_is_an_auth_failure_without_the_credentials() {
    let (_p, addr) = provider().await;
    let (http, base) = (reqwest::Client::new(), format!("http://{addr}"));
    let auth = TokenAuth::new(ID, &LOGIN);
    let (config, creds) = (config(), credentials(&[("password", "wrong-PW-2718")]));
    let ctx = ctx("e1", &config, &creds);
    let e = call(&auth, &http, &base, &ctx).await.expect_err("refused");
    assert_eq!(
        (e.kind, e.retryable),
        (ErrorKind::ProviderAuthFailed, false)
    );
    assert!(e.message.contains("refused the login"), "{e}");
    assert!(!e.message.contains("wrong-PW-2718"), "{e}");
    let e = auth
        .verify(
            LoginTarget {
                http: &http,
                base_url: &base,
            },
            &ctx,
        )
        .await
        .expect_err("refused");
    assert_eq!(e.kind, ErrorKind::ProviderAuthFailed);
}

/// Two "processes" (each its own TokenAuth and Renewer over the shared stores), 20 calls each
/// at once, all holding a token the provider refuses: one login in all, written back once,
/// with its expiry.
#[tokio::test]
async fn across_processes_one_caller_renews_and_writes_back() {
    let (p, addr) = provider().await;
    *p.expires_in.lock().expect("lock") = Some(3600);
    let base = format!("http://{addr}");
    let stores = Stores::new();
    const SECRET: &str = "/integrations/t/c";
    let stale = credentials(&[("password", PASSWORD), ("token", "tok-old")]);
    stores.set_secret(SECRET, stale.clone());
    let config = Arc::new(config());
    let stale = Arc::new(stale);
    let mut tasks = Vec::new();
    for owner in ["worker-a", "worker-b"] {
        let auth = Arc::new(TokenAuth::new(ID, &LOGIN));
        let renewer = Arc::new(stores.renewer(owner));
        for i in 0..20 {
            let (auth, renewer, base) = (auth.clone(), renewer.clone(), base.clone());
            let (config, stale) = (config.clone(), stale.clone());
            tasks.push(tokio::spawn(async move {
                let exec = format!("{owner}-{i}");
                let mut ctx = ctx(&exec, &config, &stale);
                ctx.renewal = Some(Renewal {
                    secret_name: SECRET,
                    renewer: &renewer,
                });
                call(&auth, &reqwest::Client::new(), &base, &ctx).await
            }));
        }
    }
    for t in tasks {
        let data = t.await.expect("task").expect("renewed and succeeded");
        assert_eq!(data["auth"], "Bearer tok-1");
    }
    assert_eq!((p.logins(), stores.writes()), (1, 1));
    let stored = stores.secret(SECRET).expect("secret");
    assert_eq!(stored.get("token"), Some("tok-1"));
    assert_eq!(stored.get("password"), Some(PASSWORD));
    let expires: i64 = stored
        .get("tokenExpiresAt")
        .and_then(|t| t.parse().ok())
        .expect("the expiry is kept");
    assert!(expires > Utc::now().timestamp_millis());
}
