//! Runs a throwaway PostgreSQL cluster for as long as its standard input stays open, so `cargo xtask
//! test` can run the server's suite against PostgreSQL: prints `LATCHKEY_TEST_POSTGRES=<url>` once the
//! server accepts connections, and stops and deletes the cluster when stdin closes (or the parent dies).

use std::io::Read;

fn main() -> anyhow::Result<()> {
    let pg = latchkey_tests::postgres::Postgres::start()?;
    println!("LATCHKEY_TEST_POSTGRES={}", pg.base_url());
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    drop(pg);
    Ok(())
}
