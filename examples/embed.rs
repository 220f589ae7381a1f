//! Embedding Persona in a Rust program: build the engine on a lake and query it with
//! DataFusion's own API.
//!
//! ```sh
//! cargo run --release -- generate --out /tmp/lake --customers 5000
//! cargo run --release --example embed -- /tmp/lake
//! ```

use datafusion::common::Result;
use persona::EngineBuilder;

#[tokio::main]
async fn main() -> Result<()> {
    let lake = std::env::args().nth(1).unwrap_or_else(|| "/tmp/lake".to_string());
    let ctx = EngineBuilder::new().lake(lake).memory_limit(1 << 30).build().await?;
    let df = ctx
        .sql(
            "SELECT city_tier, count(*) AS customers, \
                    count(*) FILTER (WHERE NOT is_valid_cn_mobile(phone)) AS invalid_mobiles \
             FROM customers GROUP BY city_tier ORDER BY city_tier",
        )
        .await?;
    df.show().await?;
    Ok(())
}
