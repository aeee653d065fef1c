//! Runs your own axum app with LegalOps mounted under `/ops`, on embedded defaults
//! (SQLite and documents under ./data): `cargo run -p legalops-examples --example embed_axum`.

use legalops::server::{Config, Platform};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config {
        listen: "127.0.0.1:8081".to_owned(),
        ..Config::default()
    };
    let (platform, origin) = Platform::builder(config).build().await?;
    if let legalops::server::auth::TokenOrigin::Generated(token) = origin {
        eprintln!("admin token (shown once): {token}");
    }
    let app = legalops_examples::embedded_app(&platform);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:8081").await?;
    eprintln!("try: curl http://127.0.0.1:8081/ops/health");
    axum::serve(listener, app)
        .with_graceful_shutdown(legalops::server::serve::shutdown_signal())
        .await?;
    Ok(())
}
