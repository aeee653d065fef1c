//! An HTTP receiver started inside a test on 127.0.0.1:0: it records every request and
//! answers with a default status, or with a scripted one (500, 429 + Retry-After, 400) for
//! the next N requests.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Recorded {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("the body is JSON")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

#[derive(Debug, Clone)]
struct Reply {
    status: u16,
    retry_after: Option<String>,
    body: String,
}

#[derive(Default)]
struct State {
    requests: Mutex<Vec<Recorded>>,
    script: Mutex<VecDeque<Reply>>,
}

/// What the receiver answers when nothing is scripted.
#[derive(Debug, Clone, Copy)]
pub enum Accept {
    /// 200 with an empty body (a generic webhook).
    Ok,
    /// 200 `ok` (Slack).
    SlackOk,
    /// 202 with PagerDuty's success body, echoing the dedup key.
    PagerDuty,
}

pub struct Receiver {
    pub base: String,
    state: Arc<State>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Receiver {
    /// Starts a receiver on the current runtime (so paused time covers it too).
    pub async fn start(accept: Accept) -> Self {
        let state = Arc::new(State::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let base = format!("http://{}", listener.local_addr().expect("local addr"));
        let shared = state.clone();
        let app = Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let state = shared.clone();
                async move { answer(&state, accept, method, uri, headers, body) }
            },
        );
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("receiver serves");
        });
        Self { base, state }
    }

    /// The next `n` requests get `status` (with `Retry-After` and `body` if given).
    pub fn fail_next(&self, n: usize, status: u16, retry_after: Option<&str>, body: &str) {
        let mut script = lock(&self.state.script);
        for _ in 0..n {
            script.push_back(Reply {
                status,
                retry_after: retry_after.map(str::to_owned),
                body: body.to_owned(),
            });
        }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.state.requests).clone()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

fn answer(
    state: &State,
    accept: Accept,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let dedup = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| {
            v.get("dedup_key")
                .and_then(|k| k.as_str())
                .map(str::to_owned)
        });
    lock(&state.requests).push(Recorded {
        method,
        path: uri.path().to_owned(),
        headers,
        body,
    });
    if let Some(reply) = lock(&state.script).pop_front() {
        let status = StatusCode::from_u16(reply.status).expect("a valid status");
        let mut resp = (status, reply.body).into_response();
        if let Some(ra) = reply.retry_after {
            resp.headers_mut()
                .insert("retry-after", ra.parse().expect("header value"));
        }
        return resp;
    }
    match accept {
        Accept::Ok => StatusCode::OK.into_response(),
        Accept::SlackOk => (StatusCode::OK, "ok").into_response(),
        Accept::PagerDuty => (
            StatusCode::ACCEPTED,
            axum::Json(serde_json::json!({
                "status": "success",
                "message": "Event processed",
                "dedup_key": dedup,
            })),
        )
            .into_response(),
    }
}
