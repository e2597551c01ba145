//! `cargo xtask tidy`: checks that ARCHITECTURE.md's crate table matches the workspace, that every crate depends
//! only on the crates its layer allows, that pure crates stay pure and that every lib.rs says what it is for.

mod tidy;

use anyhow::{Result, bail};

fn main() -> Result<()> {
    let task = std::env::args().nth(1).unwrap_or_default();
    match task.as_str() {
        "tidy" => {
            let problems = tidy::check(&tidy::workspace_root())?;
            if problems.is_empty() {
                println!("tidy: all checks pass");
                Ok(())
            } else {
                for problem in &problems {
                    eprintln!("tidy: {problem}");
                }
                bail!("tidy: {} problem(s)", problems.len())
            }
        }
        other => bail!("unknown task `{other}`; tasks: tidy"),
    }
}
