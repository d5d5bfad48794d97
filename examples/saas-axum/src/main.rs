//! `saas-axum`: reads its configuration from the environment (`TENANTRY_URL`, `SAAS_PUBLIC_URL`,
//! `SAAS_LISTEN`), binds the port and serves until Ctrl-C.

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = saas_axum::Config::from_env();
    let addr = saas_axum::listen_addr()?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    eprintln!("saas-axum on http://{addr}, trusting tokens issued by {}", config.tenantry_url);
    saas_axum::serve(config, listener, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
